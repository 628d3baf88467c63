import Foundation
import SPIFFEExporterCore
import Synchronization

/// Renewal tracking of every identity the exporter holds, X.509 and JWT alike, keyed by
/// ``RenewalTracker/Key`` (source, identity, audience for a JWT-SVID). Each outcome and each
/// identity forgotten after the grace period is also an event on `/status`.
public final class RenewalLedger: Sendable {
    private let tracker: Mutex<RenewalTracker>
    public let events: EventLog

    public init(configuration: RenewalTracker.Configuration = RenewalTracker.Configuration(), events: EventLog = EventLog()) {
        tracker = Mutex(RenewalTracker(configuration: configuration))
        self.events = events
    }

    public var configuration: RenewalTracker.Configuration {
        tracker.withLock { $0.configuration }
    }

    /// The full current list of one scope (a source's X.509-SVIDs, or one audience set's JWT-SVIDs).
    public func observe(_ scope: RenewalTracker.Scope, present: [String: SVIDGeneration], now: Date) {
        let changes = tracker.withLock { tracker in
            Self.described(tracker.observe(scope, present: present, now: now), tracker)
        }
        record(changes, now: now)
    }

    /// Forgets a source's X.509 and JWT renewal state (it left the configuration).
    public func unregister(source: String) {
        tracker.withLock { $0.removeSource(source) }
    }

    /// Counts expirations without replacement, then returns every status grouped by source:
    /// X.509 (`audience` nil) and JWT statuses apart.
    public func statuses(now: Date) -> (x509: [String: [RenewalTracker.Status]], jwt: [String: [RenewalTracker.Status]]) {
        let (ticked, statuses) = tracker.withLock { tracker in
            let events = Self.described(tracker.tick(now: now), tracker)
            return (events, tracker.orderedStatus(now: now))
        }
        record(ticked, now: now)
        var x509: [String: [RenewalTracker.Status]] = [:]
        var jwt: [String: [RenewalTracker.Status]] = [:]
        for status in statuses {
            if status.key.audience == nil {
                x509[status.key.source, default: []].append(status)
            } else {
                jwt[status.key.source, default: []].append(status)
            }
        }
        return (x509, jwt)
    }

    /// Each change with the generation it concerns (the new one after a rotation, the unreplaced
    /// one when overdue or missed), taken under the same lock.
    private static func described(_ changes: [RenewalTracker.Event], _ tracker: RenewalTracker)
        -> [(RenewalTracker.Event, SVIDGeneration?)]
    {
        changes.map { change in
            switch change {
            case .renewal(let key, _), .overdue(let key, _), .forgotten(let key): (change, tracker.generation(of: key))
            }
        }
    }

    private func record(_ changes: [(RenewalTracker.Event, SVIDGeneration?)], now: Date) {
        for (change, generation) in changes {
            events.record(Self.event(change, generation: generation, now: now))
        }
    }

    /// The event in plain words, with the times that matter.
    static func event(_ change: RenewalTracker.Event, generation: SVIDGeneration?, now: Date) -> ExporterEvent {
        func what(_ key: RenewalTracker.Key) -> String {
            key.audience.map { "JWT-SVID \(key.identity) for \($0)" } ?? "SVID \(key.identity)"
        }
        let time = { (date: Date?) in date.map { RFC3339.string(from: $0) } ?? "?" }
        switch change {
        case .renewal(let key, .onTime):
            return ExporterEvent(
                time: now, source: key.source, kind: "rotation",
                message: "rotated: \(what(key)) replaced before its renewal deadline; new one expires at \(time(generation?.notAfter))")
        case .renewal(let key, .late):
            return ExporterEvent(
                time: now, source: key.source, kind: "rotation",
                message: "rotation late: \(what(key)) replaced after its renewal deadline; new one expires at \(time(generation?.notAfter))")
        case .renewal(let key, .missed):
            return ExporterEvent(
                time: now, source: key.source, kind: "rotation",
                message: "rotation missed: \(what(key)) expired at \(time(generation?.notAfter)) without a replacement")
        case .overdue(let key, let deadline):
            return ExporterEvent(
                time: now, source: key.source, kind: "renewal_overdue",
                message: "renewal overdue: \(what(key)) not replaced by its renewal deadline \(time(deadline)); it expires at \(time(generation?.notAfter))")
        case .forgotten(let key):
            return ExporterEvent(
                time: now, source: key.source, kind: "identity_removed",
                message: "identity removed: \(what(key)) gone for longer than the grace period")
        }
    }
}
