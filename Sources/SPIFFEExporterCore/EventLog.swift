import Foundation
import Synchronization

/// Something worth telling an on-call engineer about on /status: a rotation, a failure, a recovery.
/// Repeats of one event (same source, kind and message) are one entry with a count.
public struct ExporterEvent: Sendable, Codable, Hashable {
    /// When it last happened.
    public var time: Date
    /// When it first happened (`time` unless repeated).
    public var firstTime: Date
    /// How many times it happened.
    public var count: Int
    public var source: String
    public var kind: String
    /// In plain words, with the times that matter ("rotation missed: … expired at …").
    public var message: String

    public init(time: Date, source: String, kind: String, message: String) {
        self.time = time
        self.firstTime = time
        self.count = 1
        self.source = source
        self.kind = kind
        self.message = message
    }

    func isRepeat(of other: ExporterEvent) -> Bool {
        source == other.source && kind == other.kind && message == other.message
    }
}

/// A bounded in-memory log of recent events (oldest dropped first). Never holds keys or tokens:
/// callers pass identities, reasons and codes only. An event already in the log is counted on its
/// entry, which becomes the newest: an agent outage is a few lines with counts, not a flood that
/// pushes everything else out.
public final class EventLog: Sendable {
    public let capacity: Int
    private let events = Mutex<[ExporterEvent]>([])

    public init(capacity: Int = 200) {
        self.capacity = max(1, capacity)
    }

    public func record(_ event: ExporterEvent) {
        events.withLock { list in
            if let index = list.lastIndex(where: { $0.isRepeat(of: event) }) {
                var entry = list.remove(at: index)
                entry.count += event.count
                entry.firstTime = min(entry.firstTime, event.firstTime)
                entry.time = max(entry.time, event.time)
                list.append(entry)
                return
            }
            list.append(event)
            if list.count > capacity { list.removeFirst(list.count - capacity) }
        }
    }

    /// Newest first.
    public func recent() -> [ExporterEvent] {
        events.withLock { $0.reversed() }
    }
}

/// The /status view: the `check` table for what the exporter holds now, plus recent events.
/// `status` and `reasons` are the headline, the same ``CheckVerdict`` `check` exits with.
public struct StatusReport: Sendable, Codable {
    public var status: CheckStatus
    public var reasons: [String]
    public var check: CheckReport
    public var sources: [SourceHealth]
    public var events: [ExporterEvent]

    /// `check` should be built with `sources`, so that a source down counts in the headline.
    public init(check: CheckReport, sources: [SourceHealth], events: [ExporterEvent]) {
        status = check.status
        reasons = check.verdict.reasons
        self.check = check
        self.sources = sources
        self.events = events
    }
}

public protocol StatusProvider: Sendable {
    func status(now: Date) async -> StatusReport
}
