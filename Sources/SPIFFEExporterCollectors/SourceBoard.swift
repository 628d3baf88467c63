import Foundation
import SPIFFEExporterCore
import Synchronization

/// The health of every source, one typed ``SourceHealth`` each. Collectors write it as their
/// streams and reads succeed or fail; `/metrics` (`spiffe_workload_api_up`), `/readyz`, `/status`,
/// `check` and `--strict` read it. Failures and recoveries also go to the event log for `/status`.
public final class SourceBoard: Sendable, ScrapeContributor {
    private let entries = Mutex<[String: SourceHealth]>([:])
    public let events: EventLog

    public init(events: EventLog = EventLog()) {
        self.events = events
    }

    /// Declares a source: down (if it has streams) and not synced until its first answer. A source
    /// registered again (a reload that keeps it) keeps its state.
    public func register(_ source: String, kind: SourceHealth.Kind, now: Date) {
        entries.withLock { e in
            if e[source]?.kind == kind { return }
            e[source] = SourceHealth(source: source, kind: kind, up: kind.tracksUp ? false : nil, since: now)
        }
    }

    public func unregister(_ source: String) {
        _ = entries.withLock { $0.removeValue(forKey: source) }
    }

    /// The source delivered: up, synced, failure cleared. Records a recovery event (naming `what`
    /// delivered again) when a failure is cleared.
    public func delivered(_ source: String, what: String, now: Date) {
        let previous = entries.withLock { e -> String? in
            guard var health = e[source] else { return nil }
            let previous = health.lastFailureReason
            if health.kind.tracksUp { Self.setUp(&health, true, now: now) }
            health.synced = true
            health.lastFailureReason = nil
            health.hint = nil
            e[source] = health
            return previous
        }
        if let previous {
            events.record(
                ExporterEvent(time: now, source: source, kind: "recovered", message: "\(what) delivering again after \(previous)"))
        }
    }

    /// A stream or read of the source failed. `down` says whether this failure takes the source
    /// down (a Workload API source is up while its X.509-SVID stream is).
    public func failed(_ source: String, reason: String, hint: String?, message: String, down: Bool, now: Date) {
        let known = entries.withLock { e -> Bool in
            guard var health = e[source] else { return false }
            health.lastFailureReason = reason
            health.hint = hint
            if down, health.kind.tracksUp { Self.setUp(&health, false, now: now) }
            e[source] = health
            return true
        }
        if known { events.record(ExporterEvent(time: now, source: source, kind: "failure", message: message)) }
    }

    /// Sets `up` directly (a subscription is up while all its streams are; `nil`: it follows none).
    public func setUp(_ source: String, _ up: Bool?, now: Date) {
        entries.withLock { e in
            guard var health = e[source] else { return }
            Self.setUp(&health, up, now: now)
            e[source] = health
        }
    }

    /// A definite answer without identities (PermissionDenied, no process to follow) still syncs.
    public func markSynced(_ source: String) {
        entries.withLock { $0[source]?.synced = true }
    }

    public func health(_ source: String) -> SourceHealth? {
        entries.withLock { $0[source] }
    }

    /// Every source, sorted by name.
    public var all: [SourceHealth] {
        entries.withLock { $0.values.sorted { $0.source < $1.source } }
    }

    /// Sources still waiting for their first sync (empty: ready).
    public func unsynced() -> [String] {
        entries.withLock { e in e.values.filter { $0.kind.gatesReadiness && !$0.synced }.map(\.source).sorted() }
    }

    public func collect(now: Date, into builder: inout ScrapeBuilder) async {
        let samples = entries.withLock { e in
            e.values.compactMap { health -> Sample? in
                guard health.kind.exportsUpGauge, let up = health.up else { return nil }
                return Sample([health.source], up ? 1 : 0)
            }
        }
        builder.add(MetricCatalog.workloadAPIUp, samples.sorted { $0.labelValues.lexicographicallyPrecedes($1.labelValues) })
    }

    private static func setUp(_ health: inout SourceHealth, _ up: Bool?, now: Date) {
        if health.up != up { health.since = now }
        health.up = up
    }
}
