import ExporterTestKit
import Foundation
import Hummingbird
import HummingbirdTesting
import SPIFFEExporterCore
import SPIFFEExporterHTTP
import Synchronization
import Testing

/// A metrics provider whose scrapes block until released, to hold scrapes in flight.
final class HeldScrapes: MetricsProvider {
    private struct State {
        var waiting: [CheckedContinuation<Void, Never>] = []
        var released = false
        var started = 0
    }
    private let state = Mutex(State())

    var started: Int { state.withLock { $0.started } }

    func scrape(format: ExpositionFormat, now: Date) async -> [UInt8] {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                state.started += 1
                if state.released { return true }
                state.waiting.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        return Array("# HELP up up\n# TYPE up gauge\nup 1\n".utf8)
    }

    func unsyncedSources() -> [String] { [] }

    func release() {
        let waiting = state.withLock { state in
            state.released = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}

@Suite("--web.max-requests", .timeLimit(.minutes(1)))
struct MaxRequestsTests {
    /// Fires `count` scrapes at once while the provider holds them, then releases; returns statuses.
    static func concurrentScrapes(limit: Int, count: Int) async throws -> (statuses: [Int], heldAtOnce: Int) {
        let provider = HeldScrapes()
        let router = buildRouter(configuration: HTTPConfiguration(maxRequests: limit), metrics: provider)
        let app = Application(router: router)
        return try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<count {
                    group.addTask { try await client.execute(uri: "/metrics", method: .get).status.code }
                }
                // Wait until the cap's worth of scrapes is held, then collect the refused ones: they
                // must come back while the others are still held (a queued scrape would hang here
                // and hit the suite's time limit).
                let expectedHeld = limit == 0 ? count : min(limit, count)
                try await eventuallyTrue("\(expectedHeld) scrapes are in flight") { provider.started >= expectedHeld }
                var statuses: [Int] = []
                for _ in 0..<(count - expectedHeld) {
                    if let status = try await group.next() { statuses.append(status) }
                }
                let held = provider.started
                provider.release()
                for try await status in group { statuses.append(status) }
                return (statuses, held)
            }
        }
    }

    @Test("beyond the cap, scrapes are answered 503 at once; the held ones complete; no hang")
    func capRefusesExcess() async throws {
        let (statuses, held) = try await Self.concurrentScrapes(limit: 3, count: 12)
        #expect(held == 3)
        #expect(statuses.filter { $0 == 200 }.count == 3)
        #expect(statuses.filter { $0 == 503 }.count == 9)
    }

    @Test("0 disables the limit")
    func zeroIsUnlimited() async throws {
        let (statuses, held) = try await Self.concurrentScrapes(limit: 0, count: 60)
        #expect(held == 60)
        #expect(statuses.allSatisfy { $0 == 200 })
    }

    @Test("slots are returned: sequential scrapes never hit the cap, the 503 body names the limit")
    func slotsReturn() async throws {
        let provider = HeldScrapes()
        provider.release()
        let app = Application(router: buildRouter(configuration: HTTPConfiguration(maxRequests: 1), metrics: provider))
        try await app.test(.router) { client in
            for _ in 0..<50 {
                let response = try await client.execute(uri: "/metrics", method: .get)
                #expect(response.status == .ok)
            }
            // Health endpoints are never limited.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
        let limiter = ConcurrencyLimiter(limit: 1)
        #expect(limiter.tryAcquire())
        #expect(!limiter.tryAcquire())
        limiter.release()
        #expect(limiter.tryAcquire())
        #expect(limiter.current == 1)
    }
}

/// Polls `condition` every 5 ms for up to 20 s.
func eventuallyTrue(_ what: String, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for: \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
