import Foundation

extension HeldIdentity {
    /// Every SVID the snapshots hold, judged at `now` (what `/metrics` and `/status` evaluate).
    public static func all(in snapshots: [SourceSnapshot], now: Date) -> [HeldIdentity] {
        var held: [HeldIdentity] = []
        for snapshot in snapshots {
            for report in snapshot.svids {
                let problems = report.problems(at: now)
                held.append(
                    HeldIdentity(
                        source: snapshot.source, spiffeID: report.spiffeID, kind: .x509, valid: problems.isEmpty,
                        expired: problems.contains(.expired), expiresAt: report.leaf?.notAfter))
            }
            for report in snapshot.jwtSVIDs {
                let problems = report.problems(at: now)
                held.append(
                    HeldIdentity(
                        source: snapshot.source, spiffeID: report.spiffeID, kind: .jwt, audience: report.audience,
                        valid: problems.isEmpty, expired: problems.contains(.expired), expiresAt: report.expiresAt))
            }
        }
        return held
    }

    /// An identity row of the one-shot `check`.
    public init?(_ row: CheckIdentity) {
        guard let kind = ExpectedIdentity.Kind(rawValue: row.kind) else { return nil }
        self.init(
            source: row.source, spiffeID: row.spiffeID, kind: kind, audience: row.audience, valid: row.problems.isEmpty,
            expired: row.problems.contains(SVIDProblem.expired.rawValue), expiresAt: row.expiresAt)
    }
}

extension ExpectedIdentityTracker {
    /// Failure reasons that mean "PermissionDenied: no identity for you" (`not_authorized`).
    public static let refusalReasons: Set<String> = [
        ConnectionFailureReason.noIdentity.rawValue, ConnectionFailureReason.notAuthorizedDelegate.rawValue,
    ]

    /// Sources whose last failure, not yet cleared by a delivery, was a refusal.
    public static func refusedSources(_ sources: [SourceHealth]) -> Set<String> {
        Set(sources.filter { $0.lastFailureReason.map(refusalReasons.contains) ?? false }.map(\.source))
    }

    /// The one-shot view (`check`): nothing was seen before, so an absent ID is `never_seen`
    /// (or `not_authorized` when its source refused).
    public static func check(
        _ expectations: [ExpectedIdentity], rows: [CheckIdentity], failures: [CheckSourceFailure], now: Date
    ) -> [CheckIdentity] {
        var tracker = ExpectedIdentityTracker(expectations: expectations, startedAt: now)
        let refused = Set(failures.filter { refusalReasons.contains($0.reason) }.map(\.source))
        return tracker.evaluate(held: rows.compactMap(HeldIdentity.init), refused: refused, now: now)
            .map(CheckEvaluator.expected)
    }
}

extension CheckEvaluator {
    /// The row of one expectation (`check`, `/status`): critical while it is missing.
    public static func expected(_ status: ExpectedIdentityStatus) -> CheckIdentity {
        let summary: String
        if status.isGlob {
            summary = "\(status.matched ?? 0) matching, at least \(status.minCount ?? 1) expected"
        } else if status.present {
            summary = "present"
        } else {
            // A one-shot check has seen nothing before: no duration to tell.
            let missing = status.missingSeconds ?? 0
            let since = missing >= 1 ? " for \(CheckFormatter.duration(missing))" : ""
            summary = "missing\(since): \(status.problem?.rawValue ?? "")"
        }
        return CheckIdentity(
            source: status.source, kind: "expected " + status.kind, spiffeID: status.spiffeID, audience: status.audience,
            expiresAt: nil, expiresInSeconds: nil, lifetimeUsedPercent: nil,
            problems: status.problem.map { [$0.rawValue] } ?? [],
            bundleCAExpiresAt: nil, status: status.present ? .ok : .critical, summary: summary)
    }
}
