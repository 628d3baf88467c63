import Foundation

/// An identity that should exist (`expected_identities:`, `--expect.identity`): an exact SPIFFE
/// ID, or a glob with a minimum number of matching identities.
public struct ExpectedIdentity: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case x509, jwt
    }

    /// The `source` label value of an expectation that names no source: it is met by any source.
    /// `*` cannot be a source name, so it never collides with one.
    public static let anySource = "*"

    /// `nil`: any source may hold it.
    public var source: String?
    public var pattern: SPIFFEIDPattern
    public var kind: Kind
    /// For `jwt`: the audience set (sorted, comma-joined, as the `audience` label); `nil` = any.
    public var audience: String?
    /// For globs: how many distinct identities must match (default 1).
    public var minCount: Int

    public init(source: String? = nil, pattern: SPIFFEIDPattern, kind: Kind = .x509, audience: String? = nil, minCount: Int = 1) {
        self.source = source
        self.pattern = pattern
        self.kind = kind
        self.audience = audience
        self.minCount = minCount
    }

    /// The `source` label.
    public var sourceLabel: String { source ?? Self.anySource }

    /// Checks the combination: an audience only for JWT, a minimum count only for globs.
    public func validate() throws(ExpectedIdentityError) {
        if audience != nil && kind != .jwt { throw ExpectedIdentityError("audience is only for kind jwt") }
        if pattern.isExact && minCount != 1 {
            throw ExpectedIdentityError("min_count is only for globs (\"\(pattern)\" is one SPIFFE ID)")
        }
        if minCount < 1 { throw ExpectedIdentityError("min_count must be at least 1 (got \(minCount))") }
    }

    /// Series key: two expectations with the same source and ID or pattern would be one series.
    public var seriesKey: String { "\(sourceLabel) \(pattern.text)" }

    /// `--expect.identity` text: `[SOURCE=]SPIFFE_ID[,kind=x509|jwt][,audience=A[+B...]][,min_count=N]`.
    /// SPIFFE IDs hold neither `=` nor `,`, so the parts cannot be confused.
    public init(parsing text: String) throws(ExpectedIdentityError) {
        var parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let head = parts.removeFirst()
        var source: String?
        var id = head
        if !head.hasPrefix("spiffe://"), let equals = head.firstIndex(of: "=") {
            source = String(head[..<equals])
            id = String(head[head.index(after: equals)...])
            guard let name = source, SourceName.isValid(name) else {
                throw ExpectedIdentityError("source names use letters, digits, '_', '-' and '.' only (got \"\(source ?? "")\")")
            }
        }
        let pattern: SPIFFEIDPattern
        do { pattern = try SPIFFEIDPattern(parsing: id) } catch { throw ExpectedIdentityError(error.description) }
        var kind = Kind.x509
        var audience: String?
        var minCount = 1
        for part in parts {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, !pair[1].isEmpty else {
                throw ExpectedIdentityError("expected kind=, audience= or min_count=, got \"\(part)\"")
            }
            switch pair[0] {
            case "kind":
                guard let parsed = Kind(rawValue: pair[1]) else {
                    throw ExpectedIdentityError("kind must be x509 or jwt (got \"\(pair[1])\")")
                }
                kind = parsed
            // Several audiences of one set are joined with `+` here: `,` separates the options.
            case "audience": audience = try Self.audienceLabel(pair[1].split(separator: "+").map(String.init))
            case "min_count":
                guard let n = Int(pair[1]) else { throw ExpectedIdentityError("min_count must be a whole number (got \"\(pair[1])\")") }
                minCount = n
            default: throw ExpectedIdentityError("unknown option \"\(pair[0])\" (kind, audience, min_count)")
            }
        }
        self.init(source: source, pattern: pattern, kind: kind, audience: audience, minCount: minCount)
        try validate()
    }

    /// The audience label of a set: sorted, without repeats, comma-joined (as the exporter's JWT families).
    public static func audienceLabel(_ audiences: [String]) throws(ExpectedIdentityError) -> String {
        let set = Set(audiences.map { $0.trimmingCharacters(in: .whitespaces) })
        guard !set.isEmpty, !set.contains("") else { throw ExpectedIdentityError("an audience must not be empty") }
        return set.sorted().joined(separator: ",")
    }
}

public struct ExpectedIdentityError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Why an expected identity is not present (`spiffe_expected_identity_problem{reason}`).
public enum ExpectedIdentityProblem: String, CaseIterable, Sendable, Hashable, Codable {
    /// No SVID of the ID has been seen since the exporter started.
    case neverSeen = "never_seen"
    /// It was held, and the source's latest list no longer has it.
    case withdrawn
    /// It is held, but past its NotAfter (an agent that cannot renew keeps serving it).
    case expired
    /// The source answered PermissionDenied: no identity for the caller, or not an authorized delegate.
    case notAuthorized = "not_authorized"
    /// It is held but fails another check (see `spiffe_x509_svid_problem` / `spiffe_jwt_svid_problem`).
    case invalid
}

/// One SVID as the expectations see it: who holds it and whether it is good at `now`.
public struct HeldIdentity: Sendable, Hashable {
    public var source: String
    public var spiffeID: String
    public var kind: ExpectedIdentity.Kind
    /// The audience label, for JWT-SVIDs.
    public var audience: String?
    /// Every check passes at the evaluation time.
    public var valid: Bool
    public var expired: Bool
    /// NotAfter / `exp`, when known: an expired SVID went missing then.
    public var expiresAt: Date?

    public init(
        source: String, spiffeID: String, kind: ExpectedIdentity.Kind, audience: String? = nil, valid: Bool,
        expired: Bool = false, expiresAt: Date? = nil
    ) {
        self.source = source
        self.spiffeID = spiffeID
        self.kind = kind
        self.audience = audience
        self.valid = valid
        self.expired = expired
        self.expiresAt = expiresAt
    }

    public func meets(_ expectation: ExpectedIdentity) -> Bool {
        kind == expectation.kind && (expectation.source == nil || expectation.source == source)
            && (expectation.audience == nil || expectation.audience == audience) && expectation.pattern.matches(spiffeID)
    }
}

/// What the exporter says about one expectation at one instant.
public struct ExpectedIdentityStatus: Sendable, Hashable, Codable {
    public var source: String
    /// The SPIFFE ID, or the glob.
    public var spiffeID: String
    public var kind: String
    public var audience: String?
    public var isGlob: Bool
    /// Exact IDs: a valid SVID is held. Globs: at least `minCount` identities match.
    public var present: Bool
    /// Exact IDs: seconds absent (0 while present; since start if never seen).
    public var missingSeconds: Double?
    public var problem: ExpectedIdentityProblem?
    /// Globs: distinct SPIFFE IDs with a valid SVID that match.
    public var matched: Int?
    public var minCount: Int?
}

/// Tracks every expectation against what the sources hold: a pure state machine fed with each
/// source's new lists (``observe(source:kind:audience:held:now:)``, to date withdrawals exactly) and
/// evaluated at scrape time with what is held then. It never reads a clock.
public struct ExpectedIdentityTracker: Sendable {
    struct State: Sendable {
        /// Holders (source, kind, audience) whose latest list has the ID.
        var holders: Set<String> = []
        /// Ever held (valid or not), for `withdrawn` against `never_seen`.
        var seen = false
        /// Ever valid at an evaluation.
        var everPresent = false
        /// Last arrival of a valid SVID of it.
        var presentAt: Date?
        var withdrawnAt: Date?
        /// Start of the current absence.
        var missingSince: Date?
    }

    public private(set) var expectations: [ExpectedIdentity]
    public let startedAt: Date
    private var states: [Int: State] = [:]

    /// `startedAt`: when the expectations were configured; "missing since start" counts from it.
    public init(expectations: [ExpectedIdentity] = [], startedAt: Date) {
        self.expectations = expectations
        self.startedAt = startedAt
    }

    /// The same tracker with new expectations (a reload): those kept keep their history.
    public mutating func reconfigure(_ next: [ExpectedIdentity], now: Date) {
        var kept: [Int: State] = [:]
        for (index, expectation) in next.enumerated() {
            if let old = expectations.firstIndex(of: expectation), let state = states[old] { kept[index] = state }
        }
        let fresh = Set(next).subtracting(expectations)
        expectations = next
        states = kept
        // New expectations count their absence from now, not from the process start.
        for (index, expectation) in next.enumerated() where fresh.contains(expectation) && expectation.pattern.isExact {
            states[index] = State(missingSince: now)
        }
    }

    /// A holder's full new list (its X.509-SVIDs, or its JWT-SVIDs for one audience set): each
    /// SPIFFE ID held, and whether its SVID passed every check when it arrived.
    public mutating func observe(
        source: String, kind: ExpectedIdentity.Kind, audience: String? = nil, held: [String: Bool], now: Date
    ) {
        let holder = "\(kind.rawValue) \(audience ?? "") \(source)"
        for (index, expectation) in expectations.enumerated() where expectation.pattern.isExact {
            guard expectation.kind == kind, expectation.source == nil || expectation.source == source,
                expectation.audience == nil || expectation.audience == audience
            else { continue }
            var state = states[index] ?? State()
            let had = !state.holders.isEmpty
            if let valid = held[expectation.pattern.text] {
                state.holders.insert(holder)
                state.seen = true
                state.withdrawnAt = nil
                if valid {
                    state.everPresent = true
                    state.presentAt = now
                }
            } else {
                state.holders.remove(holder)
                if had && state.holders.isEmpty { state.withdrawnAt = now }
            }
            states[index] = state
        }
    }

    /// Every expectation at `now`. `refused`: sources whose last answer was PermissionDenied.
    public mutating func evaluate(held: [HeldIdentity], refused: Set<String>, now: Date) -> [ExpectedIdentityStatus] {
        var result: [ExpectedIdentityStatus] = []
        for (index, expectation) in expectations.enumerated() {
            let matching = held.filter { $0.meets(expectation) }
            let base = ExpectedIdentityStatus(
                source: expectation.sourceLabel, spiffeID: expectation.pattern.text, kind: expectation.kind.rawValue,
                audience: expectation.audience, isGlob: !expectation.pattern.isExact, present: false)
            if !expectation.pattern.isExact {
                var status = base
                let count = Set(matching.filter(\.valid).map(\.spiffeID)).count
                status.matched = count
                status.minCount = expectation.minCount
                status.present = count >= expectation.minCount
                result.append(status)
                continue
            }
            var state = states[index] ?? State()
            var status = base
            if matching.contains(where: \.valid) {
                state.seen = true
                state.everPresent = true
                state.missingSince = nil
                status.present = true
                status.missingSeconds = 0
            } else {
                if !matching.isEmpty { state.seen = true }
                let expired = matching.first { $0.expired }
                let problem: ExpectedIdentityProblem
                if expired != nil {
                    problem = .expired
                } else if !matching.isEmpty {
                    problem = .invalid
                } else if expectation.source.map(refused.contains) ?? !refused.isEmpty {
                    problem = .notAuthorized
                } else if state.seen {
                    problem = .withdrawn
                } else {
                    problem = .neverSeen
                }
                // It came (valid) and went between two evaluations: a new absence began.
                let restarted = state.missingSince.map { since in state.presentAt.map { $0 > since } ?? false } ?? false
                if state.missingSince == nil || restarted {
                    if let notAfter = expired?.expiresAt {
                        state.missingSince = max(notAfter, startedAt)
                    } else if !state.everPresent {
                        state.missingSince = startedAt
                    } else {
                        state.missingSince = state.withdrawnAt ?? now
                    }
                }
                status.problem = problem
                status.missingSeconds = max(0, now.timeIntervalSince(state.missingSince ?? now))
            }
            states[index] = state
            result.append(status)
        }
        return result
    }
}
