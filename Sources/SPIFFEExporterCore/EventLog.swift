import Foundation
import Synchronization

/// Something worth telling an on-call engineer about on /status: a rotation, a failure, a recovery.
public struct ExporterEvent: Sendable, Codable, Hashable {
    public var time: Date
    public var source: String
    public var kind: String
    public var message: String

    public init(time: Date, source: String, kind: String, message: String) {
        self.time = time
        self.source = source
        self.kind = kind
        self.message = message
    }
}

/// A bounded in-memory log of recent events (oldest dropped first). Never holds keys or tokens:
/// callers pass identities, reasons and codes only.
public final class EventLog: Sendable {
    public let capacity: Int
    private let events = Mutex<[ExporterEvent]>([])

    public init(capacity: Int = 200) {
        self.capacity = max(1, capacity)
    }

    public func record(_ event: ExporterEvent) {
        events.withLock { list in
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
public struct StatusReport: Sendable, Codable {
    public var check: CheckReport
    public var sources: [SourceHealth]
    public var events: [ExporterEvent]

    public init(check: CheckReport, sources: [SourceHealth], events: [ExporterEvent]) {
        self.check = check
        self.sources = sources
        self.events = events
    }
}

public protocol StatusProvider: Sendable {
    func status(now: Date) async -> StatusReport
}
