import Foundation
import Logging
import SPIFFEExporterCore
import Synchronization

// MARK: Time

/// Certificates are built relative to this instant (and clocks pinned to it where a test needs exact
/// expiry values), so nothing expires.
public let referenceTime = Date(timeIntervalSince1970: 1_893_456_000)  // 2030-01-01T00:00:00Z

/// ``referenceTime`` plus `offset` seconds.
public func at(_ offset: TimeInterval) -> Date { referenceTime.addingTimeInterval(offset) }

/// A wall clock that can be pushed forward, so a rotation is guaranteed to produce a different
/// (second-granular) notBefore/notAfter without waiting for the clock to tick.
public final class ShiftableClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)

    public init() {}

    public func advance(by seconds: TimeInterval) {
        offset.withLock { $0 += seconds }
    }

    public var now: @Sendable () -> Date {
        { [self] in Date().addingTimeInterval(offset.withLock { $0 }) }
    }
}

// MARK: Collectors

/// A logger that drops everything.
public let quietLogger = Logger(label: "tests") { _ in SwiftLogNoOpLogHandler() }

/// Reconnects fast so tests do not wait on production backoff.
public let fastBackoff = Backoff(initial: .milliseconds(50), multiplier: 2, cap: .milliseconds(500))
