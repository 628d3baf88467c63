import Foundation
import GRPCCore
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import Synchronization
import TestKit
import Testing

/// The watch loop every agent stream and poll runs, driven by a manual clock: deadlines,
/// backoff and latency come out exact, without a real sleep or a real agent.
@Suite("Watch loop", .timeLimit(.minutes(1)))
struct WatchLoopTests {
    final class Outcomes: Sendable {
        private let list = Mutex<[WatchOutcome]>([])
        private let latencies = Mutex<[Duration]>([])
        func append(_ outcome: WatchOutcome) { list.withLock { $0.append(outcome) } }
        func latency(_ duration: Duration) { latencies.withLock { $0.append(duration) } }
        var all: [WatchOutcome] { list.withLock { $0 } }
        var firstResponses: [Duration] { latencies.withLock { $0 } }
    }

    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        /// Adds one and returns the new count.
        func next() -> Int { value.add(1, ordering: .relaxed).newValue }
        var count: Int { value.load(ordering: .relaxed) }
    }

    static let classifier = FailureClassifier(address: .unix(path: "/nonexistent/agent.sock"), permissionDenied: .noIdentity)

    static func loop(_ clock: ManualClock, timeout: Duration? = .seconds(10)) -> WatchLoop<ManualClock> {
        WatchLoop(
            clock: clock, backoff: Backoff(initial: .seconds(1), multiplier: 2, cap: .seconds(8)),
            firstResponseTimeout: timeout, classifier: classifier, jitter: { 0 })
    }

    /// Runs the stream loop until `body` returns, then cancels it.
    static func running(
        _ loop: WatchLoop<ManualClock>, outcomes: Outcomes, open: @escaping @Sendable (Delivery) async throws -> Void,
        _ body: () async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await loop.stream(open: open, firstResponse: { outcomes.latency($0) }, ended: { outcomes.append($0) })
            }
            defer { group.cancelAll() }
            try await body()
        }
    }

    @Test("no first response within the deadline is a timeout; the stream is then retried")
    func firstResponseDeadline() async throws {
        let clock = ManualClock()
        let outcomes = Outcomes()
        let opened = Counter()
        try await Self.running(Self.loop(clock), outcomes: outcomes, open: { _ in
            _ = opened.next()
            try await clock.sleep(for: .seconds(3600))  // an agent that accepts and never answers
        }) {
            try await clock.waitForSleepers(2)  // the stream and the deadline
            clock.advance(by: .seconds(9))
            #expect(outcomes.all.isEmpty)
            clock.advance(by: .seconds(1))
            try await eventually("the timeout is recorded") { !outcomes.all.isEmpty }
            #expect(outcomes.all == [WatchOutcome(code: "DeadlineExceeded", reason: .timeout, messages: 0, detail: "no first response within 10.0 seconds")])
            // Backoff with no jitter: half the ceiling of 1 s.
            try await clock.waitForSleepers(1)
            #expect(clock.requestedSleeps.last == .milliseconds(500))
            clock.advance(by: .milliseconds(500))
            try await eventually("the stream is opened again") { opened.count == 2 }
        }
    }

    @Test("failures back off exponentially up to the cap; a delivered message resets the backoff")
    func backoffAndReset() async throws {
        let clock = ManualClock()
        let outcomes = Outcomes()
        let attempts = Counter()
        try await Self.running(Self.loop(clock, timeout: nil), outcomes: outcomes, open: { delivery in
            let attempt = attempts.next()
            // The sixth attempt delivers, then the agent drops the stream.
            if attempt == 6 {
                delivery.message()
                throw RPCError(code: .unavailable, message: "connection reset")
            }
            throw RPCError(code: .unavailable, message: "no agent")
        }) {
            for _ in 0..<6 {
                try await clock.waitForSleepers(1)
                clock.advance(by: clock.requestedSleeps.last ?? .zero)
            }
            try await eventually("seven attempts ended") { outcomes.all.count >= 7 }
            let delays = Array(clock.requestedSleeps.prefix(7))
            #expect(delays == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(4), .milliseconds(500), .seconds(1)].prefix(delays.count).map { $0 })
            let reasons = outcomes.all.prefix(7).map(\.reason)
            // No socket at the path: the transport failure is diagnosed; a drop after data is stream_closed.
            #expect(reasons == [.socketNotFound, .socketNotFound, .socketNotFound, .socketNotFound, .socketNotFound, .streamClosed, .socketNotFound])
        }
    }

    @Test("the first-response latency is measured on the loop's clock")
    func latencyOnTheClock() async throws {
        let clock = ManualClock()
        let outcomes = Outcomes()
        try await Self.running(Self.loop(clock), outcomes: outcomes, open: { delivery in
            try await clock.sleep(for: .milliseconds(250))
            delivery.message()
            try await clock.sleep(for: .seconds(3600))
        }) {
            try await clock.waitForSleepers(2)
            clock.advance(by: .milliseconds(250))
            try await eventually("the first message is timed") { !outcomes.firstResponses.isEmpty }
            #expect(outcomes.firstResponses == [.milliseconds(250)])
            // A message arrived: the deadline passing later ends nothing.
            clock.advance(by: .seconds(20))
            #expect(outcomes.all.isEmpty)
        }
    }

    @Test("a poll runs at its interval after success and backs off after failure")
    func pollInterval() async throws {
        let clock = ManualClock()
        let calls = Counter()
        let outcomes = Outcomes()
        let loop = Self.loop(clock, timeout: .seconds(5))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await loop.poll(interval: .seconds(60)) {
                    if calls.next() == 2 { throw RPCError(code: .permissionDenied, message: "no identity") }
                    return .seconds(20)  // the token passes half its life in 20 s
                } ended: { outcome, _ in
                    outcomes.append(outcome)
                }
            }
            defer { group.cancelAll() }
            // The call's deadline timer sleeps too: wait for the loop's own sleep.
            try await eventually("the loop waits for the token's half-life") { clock.requestedSleeps.last == .seconds(20) }
            clock.advance(by: .seconds(20))
            try await eventually("the second call failed") { outcomes.all.count == 2 }
            #expect(outcomes.all.map(\.reason) == [nil, .noIdentity])
            #expect(outcomes.all.map(\.code) == ["OK", "PermissionDenied"])
            try await eventually("the loop backs off") { clock.requestedSleeps.last == .milliseconds(500) }
        }
    }

    @Test("one classification for every agent API", arguments: [
        (RPCError.Code.permissionDenied, "", 0, ConnectionFailureReason.noIdentity),
        (.invalidArgument, "Can't deserialize message", 0, .malformedResponse),
        (.invalidArgument, "security header missing", 0, .invalidArgument),
        (.unavailable, "", 3, .streamClosed),
        (.unknown, "", 1, .streamClosed),
        (.unavailable, "", 0, .socketNotFound),
        (.deadlineExceeded, "", 0, .timeout),
        (.cancelled, "", 0, .other),
        (.internalError, "", 0, .other),
    ])
    func classification(_ code: RPCError.Code, _ message: String, _ messages: Int, _ expected: ConnectionFailureReason) {
        let outcome = Self.classifier.classify(RPCError(code: code, message: message), messages: messages)
        #expect(outcome.reason == expected)
        #expect(outcome.code == FailureClassifier.codeName(code))
        let admin = FailureClassifier(address: .unix(path: "/nonexistent/admin.sock"), permissionDenied: .notAuthorizedDelegate)
        #expect(admin.classify(RPCError(code: .permissionDenied, message: ""), messages: 0).reason == .notAuthorizedDelegate)
    }
}
