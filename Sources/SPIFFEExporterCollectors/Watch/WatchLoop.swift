import GRPCCore
import SPIFFEExporterCore
import Synchronization

/// How one attempt of a stream or poll ended.
public struct WatchOutcome: Sendable, Hashable {
    /// The gRPC status name (`OK`, `Unavailable`, ...), the `code` label of the request counter.
    public var code: String
    /// `nil` when the attempt succeeded (a poll) or ended because of shutdown.
    public var reason: ConnectionFailureReason?
    /// Messages delivered before the end.
    public var messages: Int
    /// The server's message or the local error: for logs, never a label.
    public var detail: String

    public init(code: String, reason: ConnectionFailureReason?, messages: Int, detail: String) {
        self.code = code
        self.reason = reason
        self.messages = messages
        self.detail = detail
    }

    static let shutdown = WatchOutcome(code: "Canceled", reason: nil, messages: 0, detail: "shutdown")
}

/// The one mapping from an RPC's end to the closed reason vocabulary
/// (`spiffe_workload_api_connection_failures_total{reason}`), for every agent API.
public struct FailureClassifier: Sendable {
    /// The socket, to say what is wrong with it when the transport is unavailable.
    public var address: WorkloadEndpointAddress
    /// What PermissionDenied means on this API: `no_identity` on the Workload API (the agent has
    /// no identity for the caller), `not_authorized_delegate` on the admin socket.
    public var permissionDenied: ConnectionFailureReason

    public init(address: WorkloadEndpointAddress, permissionDenied: ConnectionFailureReason) {
        self.address = address
        self.permissionDenied = permissionDenied
    }

    public func classify(_ error: RPCError, messages: Int) -> WatchOutcome {
        let reason: ConnectionFailureReason
        switch error.code {
        case .permissionDenied:
            reason = permissionDenied
        // grpc-swift reports a message it cannot decode this way.
        case .invalidArgument where error.message.hasPrefix("Can't deserialize"):
            reason = .malformedResponse
        case .invalidArgument:
            reason = .invalidArgument
        case .unavailable where messages > 0, .unknown where messages > 0:
            reason = .streamClosed
        case .unavailable:
            if case .unix(let path) = address {
                reason = SocketDiagnosis.diagnose(path: path)
            } else {
                reason = .unavailable
            }
        case .deadlineExceeded:
            reason = .timeout
        case .cancelled:
            reason = messages > 0 ? .streamClosed : .other
        default:
            reason = .other
        }
        return WatchOutcome(code: Self.codeName(error.code), reason: reason, messages: messages, detail: error.message)
    }

    /// Any error an attempt can end with.
    func classify(_ error: any Error, messages: Int, firstResponseTimeout: Duration?) -> WatchOutcome {
        switch error {
        case is FirstResponseTimeout:
            let limit = firstResponseTimeout.map { " within \($0)" } ?? ""
            return WatchOutcome(code: "DeadlineExceeded", reason: .timeout, messages: 0, detail: "no first response\(limit)")
        case let error as RPCError:
            return classify(error, messages: messages)
        case is AgentConnections.Stopped, is CancellationError:
            return .shutdown
        default:
            if Task.isCancelled { return .shutdown }
            return WatchOutcome(code: "Unknown", reason: .other, messages: messages, detail: "\(error)")
        }
    }

    /// The canonical status names grpc-go prints (``GRPCCodeName``).
    public static func codeName(_ code: RPCError.Code) -> String {
        switch code {
        case .cancelled: "Canceled"
        case .unknown: "Unknown"
        case .invalidArgument: "InvalidArgument"
        case .deadlineExceeded: "DeadlineExceeded"
        case .notFound: "NotFound"
        case .alreadyExists: "AlreadyExists"
        case .permissionDenied: "PermissionDenied"
        case .resourceExhausted: "ResourceExhausted"
        case .failedPrecondition: "FailedPrecondition"
        case .aborted: "Aborted"
        case .outOfRange: "OutOfRange"
        case .unimplemented: "Unimplemented"
        case .internalError: "Internal"
        case .unavailable: "Unavailable"
        case .dataLoss: "DataLoss"
        case .unauthenticated: "Unauthenticated"
        default: "Unknown"
        }
    }
}

struct FirstResponseTimeout: Error {}

/// What a stream attempt calls for each message it receives.
public struct Delivery: Sendable {
    fileprivate let progress: WatchProgress
    fileprivate let onFirst: @Sendable () -> Void

    /// Counts a message; the first one also stops the first-response deadline and is timed.
    public func message() {
        if !progress.firstArrived.exchange(true, ordering: .acquiringAndReleasing) { onFirst() }
        progress.messages.add(1, ordering: .relaxed)
    }

    /// Reads a stream to its end: each message is counted, then handled.
    public func consume<Messages: AsyncSequence>(
        _ messages: Messages, _ handle: (Messages.Element) async -> Void
    ) async throws where Messages.Element: Sendable {
        for try await message in messages {
            self.message()
            await handle(message)
        }
    }

    /// ``consume(_:_:)``, telling `handle` whether the stream had delivered before (`live`: a
    /// push of news, not the state every stream starts with).
    public func consumeMarkingLive<Messages: AsyncSequence>(
        _ messages: Messages, _ handle: (Messages.Element, _ live: Bool) async -> Void
    ) async throws where Messages.Element: Sendable {
        var live = false
        for try await message in messages {
            self.message()
            await handle(message, live)
            live = true
        }
    }
}

private final class WatchProgress: Sendable {
    let firstArrived = Atomic<Bool>(false)
    let messages = Atomic<Int>(0)
}

/// The reconnect loop every agent stream and poll runs: one attempt at a time, a deadline for the
/// first response, classification of how it ended, backoff (reset once an attempt delivered),
/// until the task is cancelled. Generic over the clock, so tests drive time by hand.
public struct WatchLoop<C: Clock>: Sendable where C.Duration == Duration {
    public var clock: C
    public var backoff: Backoff
    /// Deadline for the first message of a stream or the answer of a poll; `nil`: none.
    public var firstResponseTimeout: Duration?
    public var classifier: FailureClassifier
    /// The jitter fraction of each backoff delay, in [0, 1).
    public var jitter: @Sendable () -> Double

    public init(
        clock: C, backoff: Backoff, firstResponseTimeout: Duration?, classifier: FailureClassifier,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.clock = clock
        self.backoff = backoff
        self.firstResponseTimeout = firstResponseTimeout
        self.classifier = classifier
        self.jitter = jitter
    }

    /// Keeps a stream open: `open` consumes one stream, calling `delivery.message()` for each
    /// message. After each end, `ended` gets the outcome, then the loop waits its backoff. The
    /// time to the first message goes to `firstResponse`.
    public func stream(
        open: @escaping @Sendable (Delivery) async throws -> Void,
        firstResponse: @escaping @Sendable (Duration) -> Void,
        ended: @Sendable (WatchOutcome) async -> Void
    ) async {
        var backoff = self.backoff
        while !Task.isCancelled {
            let outcome = await attempt(open: open, firstResponse: firstResponse)
            if Task.isCancelled || outcome == .shutdown { break }
            await ended(outcome)
            if outcome.messages > 0 { backoff.reset() }
            guard await sleep(delay(after: outcome, backoff: &backoff)) else { break }
        }
    }

    /// Calls `call` again and again: after a success, in `interval` or after the delay `call`
    /// returned if sooner (at least a second); after a failure, at the backoff delay. `ended` gets
    /// every outcome (OK included) with the call's duration.
    public func poll(
        interval: Duration,
        call: @escaping @Sendable () async throws -> Duration?,
        ended: @Sendable (WatchOutcome, Duration) async -> Void
    ) async {
        var backoff = self.backoff
        while !Task.isCancelled {
            let started = clock.now
            var next: Duration?
            let outcome: WatchOutcome
            do {
                next = try await withDeadline { try await call() }
                outcome = WatchOutcome(code: "OK", reason: nil, messages: 1, detail: "")
            } catch {
                outcome = classifier.classify(error, messages: 0, firstResponseTimeout: firstResponseTimeout)
            }
            if Task.isCancelled || outcome == .shutdown { break }
            let took = started.duration(to: clock.now)
            await ended(outcome, took)
            let wait: Duration
            if outcome.reason == nil {
                backoff.reset()
                wait = min(interval, max(next ?? interval, .seconds(1)))
            } else {
                wait = delay(after: outcome, backoff: &backoff)
            }
            guard await sleep(wait) else { break }
        }
    }

    private func delay(after outcome: WatchOutcome, backoff: inout Backoff) -> Duration {
        let delay = backoff.next(jitter: jitter())
        // A rejected request will be rejected again: retrying fast cannot help.
        return outcome.reason == .invalidArgument ? max(delay, backoff.cap) : delay
    }

    /// `false` when cancelled while waiting.
    private func sleep(_ delay: Duration) async -> Bool {
        do {
            try await clock.sleep(for: delay)
            return true
        } catch {
            return false
        }
    }

    /// One attempt, classified: what each turn of ``stream(open:firstResponse:ended:)`` runs, and
    /// what a one-shot check runs once.
    public func attempt(
        open: @escaping @Sendable (Delivery) async throws -> Void, firstResponse: @escaping @Sendable (Duration) -> Void = { _ in }
    ) async -> WatchOutcome {
        let progress = WatchProgress()
        let started = clock.now
        let clock = self.clock
        let delivery = Delivery(progress: progress) { firstResponse(started.duration(to: clock.now)) }
        let timeout = firstResponseTimeout
        var messages: Int { progress.messages.load(ordering: .relaxed) }
        do {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await open(delivery)
                    return true
                }
                if let timeout {
                    group.addTask {
                        try await clock.sleep(for: timeout)
                        if !progress.firstArrived.load(ordering: .acquiring) { throw FirstResponseTimeout() }
                        return false
                    }
                }
                // The timer finishing with a message in hand leaves the stream running.
                while let finished = try await group.next(), !finished {}
                group.cancelAll()
            }
            // The server ended the stream with OK: SPIRE never does that on purpose.
            return WatchOutcome(code: "OK", reason: .streamClosed, messages: messages, detail: "stream ended by the server")
        } catch {
            return classifier.classify(error, messages: messages, firstResponseTimeout: timeout)
        }
    }

    private func withDeadline<T: Sendable>(_ call: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let timeout = firstResponseTimeout else { return try await call() }
        let clock = self.clock
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await call() }
            group.addTask {
                try await clock.sleep(for: timeout)
                throw FirstResponseTimeout()
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }
}

/// A value shared between the closures of one loop (a poll's answer and its recording).
final class SharedValue<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ initial: Value) { value = Mutex(initial) }

    var current: Value {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }

    func update<T>(_ body: (inout Value) -> T) -> T {
        value.withLock { body(&$0) }
    }
}
