import Hummingbird
import NIOCore
import Synchronization

/// Caps concurrent scrapes of the telemetry path (`--web.max-requests`, as node_exporter's
/// promhttp `MaxRequestsInFlight`): beyond the cap a scrape is answered 503 at once rather than
/// queued, so a stampede of scrapers cannot pile up renders and memory. 0 means unlimited.
public final class ConcurrencyLimiter: Sendable {
    public let limit: Int
    private let inFlight = Mutex(0)

    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Takes a slot; `false` when the cap is reached. Every `true` must be paired with ``release()``.
    public func tryAcquire() -> Bool {
        guard limit > 0 else { return true }
        return inFlight.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    public func release() {
        guard limit > 0 else { return }
        inFlight.withLock { $0 = max(0, $0 - 1) }
    }

    /// Scrapes in flight now (0 when unlimited).
    public var current: Int { inFlight.withLock { $0 } }

    /// Runs `body` in a slot, or answers 503 with the promhttp wording when none is free.
    func run(_ body: () async throws -> Response) async rethrows -> Response {
        guard tryAcquire() else {
            return Response(
                status: .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8", .retryAfter: "1"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        string: "Limit of concurrent requests reached (\(limit)), try again later.\n")))
        }
        defer { release() }
        return try await body()
    }
}
