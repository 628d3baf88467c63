import Foundation

/// How one SVID generation ended (`spiffe_x509_svid_renewals_total{outcome}`).
public enum RenewalOutcome: String, CaseIterable, Sendable, Hashable {
    /// A new SVID was observed before the renewal deadline.
    case onTime = "on_time"
    /// A new SVID was observed after the deadline but before the old one expired.
    case late
    /// The SVID expired with no replacement observed.
    case missed
}

/// One SVID generation as observed: what identifies it and its validity window.
public struct SVIDGeneration: Sendable, Hashable {
    public var fingerprint: String
    public var notBefore: Date
    public var notAfter: Date

    public init(fingerprint: String, notBefore: Date, notAfter: Date) {
        self.fingerprint = fingerprint
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    public var lifetime: TimeInterval { notAfter.timeIntervalSince(notBefore) }
}

/// Renewal tracking for every identity of every source: a pure state machine fed with what the
/// collectors observe and with the time; it never reads a clock.
///
/// Rules: the first observation of an identity is a baseline (an exporter restart never counts a
/// renewal); each generation ends in exactly one outcome; an identity that disappears is not a
/// failure and is forgotten after `disappearanceGrace`; time never runs backwards for the tracker
/// (a clock stepping back is treated as no time passing).
public struct RenewalTracker: Sendable {
    /// One stream of generations: a source's X.509-SVIDs (`audience` nil), or the JWT-SVIDs a
    /// source fetches for one audience set (each set is minted and renewed on its own).
    public struct Scope: Hashable, Sendable {
        public var source: String
        public var audience: String?

        public init(source: String, audience: String? = nil) {
            self.source = source
            self.audience = audience
        }
    }

    public struct Key: Hashable, Sendable, Comparable {
        public var source: String
        public var identity: String
        /// The JWT audience label; `nil` for an X.509-SVID.
        public var audience: String?

        public init(source: String, identity: String, audience: String? = nil) {
            self.source = source
            self.identity = identity
            self.audience = audience
        }

        public var scope: Scope { Scope(source: source, audience: audience) }

        public static func < (a: Key, b: Key) -> Bool {
            // X.509 (no audience) first, then JWT audience sets in order.
            (a.source, a.audience == nil ? 0 : 1, a.audience ?? "", a.identity) < (b.source, b.audience == nil ? 0 : 1, b.audience ?? "", b.identity)
        }
    }

    public struct Configuration: Sendable, Hashable {
        /// Deadline = notBefore + lifetime × this (SPIRE renews at ~0.5; 0.75 leaves grace).
        public var deadlineFraction: Double
        /// How long a vanished identity's renewal series are kept before being dropped.
        public var disappearanceGrace: TimeInterval

        public init(deadlineFraction: Double = 0.75, disappearanceGrace: TimeInterval = 600) {
            self.deadlineFraction = deadlineFraction
            self.disappearanceGrace = disappearanceGrace
        }
    }

    /// What a scrape shows for one tracked identity.
    public struct Status: Sendable, Hashable {
        public var key: Key
        public var outcomes: [RenewalOutcome: Int]
        /// Renewal deadline of the current generation; `nil` while the identity is absent.
        public var deadline: Date?
        /// Past the deadline with no replacement; `nil` while the identity is absent.
        public var overdue: Bool?

        public init(key: Key, outcomes: [RenewalOutcome: Int], deadline: Date?, overdue: Bool?) {
            self.key = key
            self.outcomes = outcomes
            self.deadline = deadline
            self.overdue = overdue
        }
    }

    public enum Event: Sendable, Hashable {
        case renewal(Key, RenewalOutcome)
        /// The current generation passed its renewal deadline unreplaced (once per generation).
        case overdue(Key, deadline: Date)
        case forgotten(Key)
    }

    struct IdentityState: Sendable {
        var generation: SVIDGeneration
        /// The current generation's outcome was already counted (it expired unreplaced).
        var resolved = false
        /// The current generation's passing its deadline was already reported.
        var overdueReported = false
        var missingSince: Date?
        var outcomes: [RenewalOutcome: Int] = [.onTime: 0, .late: 0, .missed: 0]
    }

    public var configuration: Configuration
    private var identities: [Key: IdentityState] = [:]
    /// Keys in order, kept between scrapes; cleared wherever an identity is added or removed.
    private var sortedKeys: [Key]?
    private var lastNow: Date = .distantPast

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func deadline(of generation: SVIDGeneration) -> Date {
        generation.notBefore.addingTimeInterval(generation.lifetime * configuration.deadlineFraction)
    }

    private mutating func advance(_ now: Date) -> Date {
        lastNow = max(lastNow, now)
        return lastNow
    }

    /// Applies the full current list of one source (messages and directory scans are full state):
    /// identities present are observed, identities absent start their grace period.
    @discardableResult
    public mutating func observe(source: String, present: [String: SVIDGeneration], now: Date) -> [Event] {
        observe(Scope(source: source), present: present, now: now)
    }

    /// ``observe(source:present:now:)`` for any scope: identities of other scopes are untouched.
    @discardableResult
    public mutating func observe(_ scope: Scope, present: [String: SVIDGeneration], now: Date) -> [Event] {
        let now = advance(now)
        var events: [Event] = []
        for (identity, generation) in present {
            let key = Key(source: scope.source, identity: identity, audience: scope.audience)
            guard var state = identities[key] else {
                identities[key] = IdentityState(generation: generation)
                sortedKeys = nil
                continue
            }
            let wasMissing = state.missingSince != nil
            state.missingSince = nil
            if state.generation.fingerprint != generation.fingerprint || state.generation.notAfter != generation.notAfter {
                if wasMissing {
                    // No continuity was observed across the gap: start a new baseline.
                    state.resolved = false
                } else if !state.resolved {
                    let outcome = Self.outcome(replacedAt: now, deadline: deadline(of: state.generation), notAfter: state.generation.notAfter)
                    state.outcomes[outcome, default: 0] += 1
                    events.append(.renewal(key, outcome))
                }
                state.generation = generation
                state.resolved = false
                state.overdueReported = false
            }
            identities[key] = state
        }
        for (key, var state) in identities where key.scope == scope && present[key.identity] == nil {
            if state.missingSince == nil {
                state.missingSince = now
                identities[key] = state
            }
        }
        events += tick(now: now)
        return events
    }

    /// Counts generations that expired unreplaced and forgets identities gone past their grace.
    /// Events come out ordered by key.
    @discardableResult
    public mutating func tick(now: Date) -> [Event] {
        let now = advance(now)
        // A scrape ticks every identity: walk the dictionary unsorted, sort only what happened.
        var forgotten: [Key] = []
        var overdue: [Key] = []
        var missed: [Key] = []
        for (key, state) in identities {
            if let since = state.missingSince {
                if now.timeIntervalSince(since) >= configuration.disappearanceGrace { forgotten.append(key) }
            } else if !state.resolved {
                if !state.overdueReported && now > deadline(of: state.generation) { overdue.append(key) }
                if now > state.generation.notAfter { missed.append(key) }
            }
        }
        guard !forgotten.isEmpty || !overdue.isEmpty || !missed.isEmpty else { return [] }
        // (key, order within the key: overdue before missed)
        var events: [(Key, Int, Event)] = []
        for key in forgotten {
            identities[key] = nil
            sortedKeys = nil
            events.append((key, 0, .forgotten(key)))
        }
        for key in overdue {
            identities[key]?.overdueReported = true
            if let generation = identities[key]?.generation {
                events.append((key, 0, .overdue(key, deadline: deadline(of: generation))))
            }
        }
        for key in missed {
            identities[key]?.resolved = true
            identities[key]?.outcomes[.missed, default: 0] += 1
            events.append((key, 1, .renewal(key, .missed)))
        }
        return events.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
    }

    /// The generation currently tracked for `key` (for naming its times in events).
    public func generation(of key: Key) -> SVIDGeneration? {
        identities[key]?.generation
    }

    /// Forgets a whole source at once, X.509 and JWT alike (removed by a configuration reload).
    public mutating func removeSource(_ source: String) {
        identities = identities.filter { $0.key.source != source }
        sortedKeys = nil
    }

    /// Every tracked identity, sorted by key.
    public func status(now: Date) -> [Status] {
        (sortedKeys ?? identities.keys.sorted()).compactMap { status(of: $0, now: now) }
    }

    /// ``status(now:)`` that keeps the sorted key order for the next call (a scrape every few
    /// seconds over 10,000 identities should not sort them every time).
    public mutating func orderedStatus(now: Date) -> [Status] {
        if sortedKeys == nil { sortedKeys = identities.keys.sorted() }
        return status(now: now)
    }

    private func status(of key: Key, now: Date) -> Status? {
        guard let state = identities[key] else { return nil }
        let now = max(lastNow, now)
        let present = state.missingSince == nil
        let deadline = deadline(of: state.generation)
        return Status(
            key: key, outcomes: state.outcomes, deadline: present ? deadline : nil,
            overdue: present ? now > deadline : nil)
    }

    static func outcome(replacedAt now: Date, deadline: Date, notAfter: Date) -> RenewalOutcome {
        if now <= deadline { return .onTime }
        if now <= notAfter { return .late }
        return .missed
    }
}
