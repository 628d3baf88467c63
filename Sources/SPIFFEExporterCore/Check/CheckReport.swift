import Foundation

/// Monitoring-plugin exit codes: 0 OK, 1 warning, 2 critical, 3 cannot check.
public enum CheckStatus: Int, Comparable, Sendable, Codable, CaseIterable {
    case ok = 0
    case warning = 1
    case critical = 2
    case unknown = 3

    public var label: String {
        switch self {
        case .ok: "OK"
        case .warning: "WARNING"
        case .critical: "CRITICAL"
        case .unknown: "UNKNOWN"
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    // Encoded by name ("OK", "WARNING", ...) so the JSON reads like the table.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(label)
    }

    public init(from decoder: any Decoder) throws {
        let label = try decoder.singleValueContainer().decode(String.self)
        guard let status = Self.allCases.first(where: { $0.label == label }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown status \(label)"))
        }
        self = status
    }
}

public struct CheckThresholds: Sendable, Hashable {
    /// Warn when less than this is left…
    public var warning: TimeInterval
    /// …critical below this…
    public var critical: TimeInterval
    /// …but a default threshold never fires before the SVID is past its renewal deadline: a
    /// healthy 1 h SVID always has less than 24 h left, so it is capped at
    /// `lifetime × (1 − deadlineFraction)`.
    public var deadlineFraction: Double
    /// A threshold given explicitly (`check --warn/--crit`) applies as written, as in every
    /// monitoring plugin: `--warn 2h` on an SVID with 59 minutes left is a warning.
    public var warningIsAbsolute: Bool
    public var criticalIsAbsolute: Bool

    public init(
        warning: TimeInterval = 24 * 3600, critical: TimeInterval = 3600, deadlineFraction: Double = 0.75,
        warningIsAbsolute: Bool = false, criticalIsAbsolute: Bool = false
    ) {
        self.warning = warning
        self.critical = critical
        self.deadlineFraction = deadlineFraction
        self.warningIsAbsolute = warningIsAbsolute
        self.criticalIsAbsolute = criticalIsAbsolute
    }

    func effectiveWarning(lifetime: TimeInterval?) -> TimeInterval {
        warningIsAbsolute ? warning : capped(warning, lifetime: lifetime)
    }

    func effectiveCritical(lifetime: TimeInterval?) -> TimeInterval {
        criticalIsAbsolute ? critical : capped(critical, lifetime: lifetime)
    }

    private func capped(_ threshold: TimeInterval, lifetime: TimeInterval?) -> TimeInterval {
        guard let lifetime, lifetime > 0 else { return threshold }
        return min(threshold, lifetime * (1 - deadlineFraction))
    }
}

/// One identity in the `check` output. Never holds keys or tokens.
public struct CheckIdentity: Sendable, Codable, Hashable {
    public init(
        source: String, kind: String, spiffeID: String, audience: String?, expiresAt: Date?, expiresInSeconds: Double?,
        lifetimeUsedPercent: Double?, problems: [String], bundleCAExpiresAt: Date?, status: CheckStatus, summary: String
    ) {
        self.source = source
        self.kind = kind
        self.spiffeID = spiffeID
        self.audience = audience
        self.expiresAt = expiresAt
        self.expiresInSeconds = expiresInSeconds
        self.lifetimeUsedPercent = lifetimeUsedPercent
        self.problems = problems
        self.bundleCAExpiresAt = bundleCAExpiresAt
        self.status = status
        self.summary = summary
    }

    public var source: String
    public var kind: String
    public var spiffeID: String
    public var audience: String?
    public var expiresAt: Date?
    public var expiresInSeconds: Double?
    public var lifetimeUsedPercent: Double?
    public var problems: [String]
    /// Soonest expiry among the still-valid CAs of the identity's trust domain bundle.
    public var bundleCAExpiresAt: Date?
    public var status: CheckStatus
    public var summary: String
    /// When the exporter tracks renewals (`/status`): the current generation's renewal deadline,
    /// and whether it passed unreplaced. Absent from `check`, which sees one generation only.
    public var renewalDeadline: Date?
    public var renewalOverdue: Bool?
    /// The soonest NotAfter of an intermediate CA in the identity's chain (outage budget).
    public var intermediateExpiresAt: Date?
    /// NotBefore (X.509) or `iat` (JWT): where the lifetime bar on `/status` starts.
    public var issuedAt: Date?
    /// Set on `/status` when the identity's source is down: what is shown is the last known state.
    public var sourceDownSince: Date?
}

/// A source that could not be checked, with the reason and what to do about it.
public struct CheckSourceFailure: Error, Sendable, Codable, Hashable {
    public var source: String
    public var target: String
    public var reason: String
    public var detail: String
    public var hint: String

    public init(source: String, target: String, reason: String, detail: String, hint: String) {
        self.source = source
        self.target = target
        self.reason = reason
        self.detail = detail
        self.hint = hint
    }
}

public struct CheckReport: Sendable, Codable {
    public var checkedAt: Date
    public var identities: [CheckIdentity]
    public var failures: [CheckSourceFailure]
    /// What sets the node's outage budget among the X.509 identities checked (``OutageBudget``).
    public var outageBudget: OutageBudget.Limit?
    /// The headline and its reasons (``CheckVerdict``), from the identities, the failures and the
    /// sources' health (which `/status` has and one-shot `check` reports as failures).
    public var verdict: CheckVerdict

    public init(checkedAt: Date, identities: [CheckIdentity], failures: [CheckSourceFailure], sources: [SourceHealth] = []) {
        self.checkedAt = checkedAt
        self.identities = identities
        self.failures = failures
        outageBudget = OutageBudget.node(identities: identities)
        verdict = CheckVerdict.of(identities: identities, failures: failures, sources: sources)
    }

    public var status: CheckStatus { verdict.status }
}

public enum CheckEvaluator {
    /// `identity` with its renewal state: an SVID past its renewal deadline without a replacement
    /// is overdue (a stalled rotation), at least a warning however much time it has left.
    public static func withRenewal(_ identity: CheckIdentity, _ renewal: RenewalTracker.Status?) -> CheckIdentity {
        guard let renewal, let deadline = renewal.deadline else { return identity }
        var identity = identity
        identity.renewalDeadline = deadline
        identity.renewalOverdue = renewal.overdue
        if renewal.overdue == true {
            identity.status = max(identity.status, .warning)
            let overdue = "renewal overdue: not replaced by its deadline \(RFC3339.string(from: deadline))"
            identity.summary = identity.summary == "ok" ? overdue : overdue + "; " + identity.summary
        }
        return identity
    }

    public static func x509(
        _ report: X509SVIDReport, source: String, bundle: TrustBundle?, thresholds: CheckThresholds, now: Date
    ) -> CheckIdentity {
        let problems = report.problems(at: now).map(\.rawValue)
        let lifetime = report.leaf?.lifetime
        let remaining = report.leaf.map { $0.notAfter.timeIntervalSince(now) }
        let used = report.leaf.flatMap { leaf -> Double? in
            guard leaf.lifetime > 0 else { return nil }
            return min(100, max(0, now.timeIntervalSince(leaf.notBefore) / leaf.lifetime * 100))
        }
        var (status, summary) = classify(
            problems: problems, remaining: remaining, lifetime: lifetime, thresholds: thresholds)
        // The chain stops verifying at an intermediate's NotAfter even while the leaf looks fine.
        if status < .critical, let leaf = report.leaf, let intermediateExpiry = report.earliestIntermediateExpiry,
            intermediateExpiry < leaf.notAfter
        {
            let left = intermediateExpiry.timeIntervalSince(now)
            let critical = left < thresholds.effectiveCritical(lifetime: lifetime)
            status = max(status, critical ? .critical : .warning)
            summary = "intermediate CA expires in \(CheckFormatter.duration(left)), before the leaf"
        }
        var identity = CheckIdentity(
            source: source, kind: "x509", spiffeID: report.spiffeID, audience: nil, expiresAt: report.leaf?.notAfter,
            expiresInSeconds: remaining, lifetimeUsedPercent: used, problems: problems,
            bundleCAExpiresAt: bundle?.summary(at: now).earliestValidExpiry, status: status, summary: summary)
        identity.intermediateExpiresAt = report.earliestIntermediateExpiry
        identity.issuedAt = report.leaf?.notBefore
        return identity
    }

    public static func jwt(_ report: JWTSVIDReport, source: String, thresholds: CheckThresholds, now: Date) -> CheckIdentity {
        let problems = report.problems(at: now).map(\.rawValue)
        let remaining = report.expiresAt.map { $0.timeIntervalSince(now) }
        let lifetime = report.expiresAt.flatMap { exp in report.issuedAt.map { exp.timeIntervalSince($0) } }
        let used = lifetime.flatMap { lifetime -> Double? in
            guard lifetime > 0, let iat = report.issuedAt else { return nil }
            return min(100, max(0, now.timeIntervalSince(iat) / lifetime * 100))
        }
        let (status, summary) = classify(problems: problems, remaining: remaining, lifetime: lifetime, thresholds: thresholds)
        var identity = CheckIdentity(
            source: source, kind: "jwt", spiffeID: report.spiffeID, audience: report.audience, expiresAt: report.expiresAt,
            expiresInSeconds: remaining, lifetimeUsedPercent: used, problems: problems, bundleCAExpiresAt: nil,
            status: status, summary: summary)
        identity.issuedAt = report.issuedAt
        return identity
    }

    public static func classify(problems: [String], remaining: TimeInterval?, lifetime: TimeInterval?, thresholds: CheckThresholds)
        -> (CheckStatus, String)
    {
        if !problems.isEmpty { return (.critical, "invalid: " + problems.joined(separator: ", ")) }
        guard let remaining else { return (.critical, "no expiry") }
        if remaining < thresholds.effectiveCritical(lifetime: lifetime) {
            return (.critical, "expires in \(CheckFormatter.duration(remaining))")
        }
        if remaining < thresholds.effectiveWarning(lifetime: lifetime) {
            return (.warning, "expires in \(CheckFormatter.duration(remaining))")
        }
        return (.ok, "ok")
    }

    /// What to try next for each connection failure reason.
    public static func hint(for reason: ConnectionFailureReason, target: String) -> String {
        switch reason {
        case .socketNotFound:
            "No socket at \(target). Is the SPIRE agent running (`spire-agent healthcheck`)? Is the path right (SPIFFE_ENDPOINT_SOCKET, the agent's socket_path, the hostPath mount)?"
        case .permissionDenied:
            "The socket exists but this user may not connect: check the socket's and its directories' permissions, or run as the user the socket is meant for."
        case .connectionRefused:
            "Nothing listens on \(target): the agent died and left a stale socket, or is restarting. Check the agent's logs and `spire-agent healthcheck`."
        case .timeout:
            "The agent accepted the call but sent nothing in time: it may still be attesting or minting SVIDs, or be overloaded. Retry with a longer --timeout and check the agent's logs."
        case .noIdentity:
            "PermissionDenied: the agent has no identity for this process. Is there a registration entry whose selectors match it (`spire-server entry show`)? Was the workload attested?"
        case .notAuthorizedDelegate:
            "PermissionDenied on the admin socket: add this exporter's SPIFFE ID to the agent's authorized_delegates."
        case .unavailable:
            "The agent answered Unavailable: it is starting, shutting down, failing workload attestation or rate limiting. Retry; check the agent's logs."
        case .invalidArgument:
            "The agent rejected the request (InvalidArgument): the security header is missing or a request field is invalid — a client bug; report it."
        case .streamClosed:
            "The stream ended after delivering data: the agent restarted or dropped the connection."
        case .malformedResponse:
            "The agent sent data that does not decode as a Workload API message: check that the socket really is a SPIFFE Workload API endpoint."
        case .other:
            "Unexpected failure; rerun with --log.level debug."
        }
    }
}
