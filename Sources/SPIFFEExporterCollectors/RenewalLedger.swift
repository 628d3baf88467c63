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
        let changes = tracker.withLock { $0.observe(scope, present: present, now: now) }
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
            let events = tracker.tick(now: now)
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

    private func record(_ changes: [RenewalTracker.Event], now: Date) {
        for change in changes {
            switch change {
            case .renewal(let key, let outcome):
                let what = key.audience.map { "JWT-SVID for \($0)" } ?? "SVID"
                events.record(
                    ExporterEvent(
                        time: now, source: key.source, kind: "rotation",
                        message: "\(key.identity): \(what) generation ended \(outcome.rawValue)"))
            case .forgotten(let key):
                events.record(
                    ExporterEvent(
                        time: now, source: key.source, kind: "identity_removed",
                        message: "\(key.identity): gone for longer than the grace period"))
            }
        }
    }
}
