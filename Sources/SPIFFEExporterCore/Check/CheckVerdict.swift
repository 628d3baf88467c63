import Foundation

/// The headline of `check` and `/status`, and why: the worst of the identities, the sources and
/// the sources that could not be checked. One rule for both, so the exit code and the page agree.
public struct CheckVerdict: Sendable, Codable, Hashable {
    public var status: CheckStatus
    /// One line per thing that lowers the status, worst first; empty when everything is OK.
    public var reasons: [String]

    /// Most identity lines a headline lists before "… and N more".
    static let listedIdentities = 10

    /// CRITICAL when an identity is critical; else UNKNOWN when a source could not be checked or
    /// nothing is held; else at least WARNING when a source is down, never synced or failing (its
    /// identities are stale or missing, whatever they say), else the worst identity.
    public static func of(identities: [CheckIdentity], failures: [CheckSourceFailure], sources: [SourceHealth]) -> CheckVerdict {
        var status = identities.map(\.status).max() ?? .ok
        var reasons: [String] = []
        let flagged = identities.filter { $0.status != .ok }.sorted(by: CheckIdentity.moreUrgent)
        for identity in flagged.prefix(listedIdentities) {
            reasons.append("\(identity.status.label): \(identity.kind) \(identity.spiffeID) (source \(identity.source)): \(identity.summary)")
        }
        if flagged.count > listedIdentities { reasons.append("… and \(flagged.count - listedIdentities) more identities not OK") }
        for failure in failures {
            reasons.append("\(CheckStatus.unknown.label): source \(failure.source) (\(failure.target)) could not be checked: \(failure.reason)")
        }
        var unhealthySources = false
        for source in sources {
            guard let problem = problem(of: source) else { continue }
            unhealthySources = true
            reasons.append("\(CheckStatus.warning.label): \(problem)")
        }
        if identities.isEmpty && failures.isEmpty { reasons.append("\(CheckStatus.unknown.label): no identity to check") }
        if status < .critical {
            if !failures.isEmpty || identities.isEmpty { status = .unknown }
            if unhealthySources { status = max(status, .warning) }
        }
        return CheckVerdict(status: status, reasons: reasons)
    }

    /// What is wrong with a source, as a headline line; `nil` when it is healthy.
    public static func problem(of source: SourceHealth) -> String? {
        let name = "source \(source.source) (\(source.kind.rawValue))"
        let reason = source.lastFailureReason.map { ": \($0)" } ?? ""
        if source.up == false {
            return source.synced
                ? "\(name) down since \(RFC3339.string(from: source.since))\(reason)"
                : "\(name) never synced\(reason)"
        }
        if !source.synced { return "\(name) never synced\(reason)" }
        if let failure = source.lastFailureReason { return "\(name) failing: \(failure)" }
        return nil
    }
}

extension CheckIdentity {
    /// Urgency order for `/status`: CRITICAL, WARNING, UNKNOWN, OK; then the sooner expiry (none
    /// last), then source and SPIFFE ID so the order is stable between refreshes.
    public static func moreUrgent(_ a: CheckIdentity, _ b: CheckIdentity) -> Bool {
        func rank(_ status: CheckStatus) -> Int {
            switch status {
            case .critical: 0
            case .warning: 1
            case .unknown: 2
            case .ok: 3
            }
        }
        if rank(a.status) != rank(b.status) { return rank(a.status) < rank(b.status) }
        switch (a.expiresInSeconds, b.expiresInSeconds) {
        case let (x?, y?) where x != y: return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default: break
        }
        return (a.source, a.spiffeID, a.kind, a.audience ?? "") < (b.source, b.spiffeID, b.kind, b.audience ?? "")
    }
}

extension CheckEvaluator {
    /// An identity whose source is down: still listed with its last known expiry (the countdown
    /// on-call needs during an outage), at least a warning, and saying since when.
    public static func withSource(_ identity: CheckIdentity, _ health: SourceHealth?) -> CheckIdentity {
        guard let health, health.up == false else { return identity }
        var identity = identity
        identity.sourceDownSince = health.since
        identity.status = max(identity.status, .warning)
        let down = "source down since \(RFC3339.string(from: health.since))" + (health.lastFailureReason.map { " (\($0))" } ?? "")
        identity.summary = down + "; last known: " + identity.summary
        return identity
    }
}
