import Testing

// MARK: Waiting

/// Thrown by ``eventually(timeout:_:sourceLocation:_:)-generic`` when the awaited event does not
/// happen in time (the test issue is recorded first).
public struct TimedOut: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

/// How often ``eventually(timeout:_:sourceLocation:_:)-generic`` polls: every 20 ms, unless the
/// running suite or test asks for another interval with ``Trait/pollingEvery(_:)``.
public enum Polling {
    @TaskLocal public static var interval: Duration = .milliseconds(20)
}

/// Polls `probe` every ``Polling/interval`` until it returns a value, and fails the test with
/// `what` if it has not after `timeout`. Waiting is always for an event, never for time to pass.
@discardableResult
public func eventually<T>(
    timeout: Duration = .seconds(10),
    _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ probe: () async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    let interval = Polling.interval
    while true {
        if let value = try await probe() { return value }
        if clock.now >= deadline {
            let message = "timed out after \(timeout) waiting for: \(what())"
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
            throw TimedOut(description: message)
        }
        try await Task.sleep(for: interval)
    }
}

/// Polls a condition; see ``eventually(timeout:_:sourceLocation:_:)-generic``.
public func eventually(
    timeout: Duration = .seconds(10),
    _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    try await eventually(timeout: timeout, what(), sourceLocation: sourceLocation) {
        try await condition() ? true : nil
    }
}

/// Sets ``Polling/interval`` for every test of a suite (or for one test).
public struct PollingTrait: TestTrait, SuiteTrait, TestScoping {
    public var interval: Duration

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await Polling.$interval.withValue(interval) { try await function() }
    }
}

extension Trait where Self == PollingTrait {
    /// `eventually` polls every `interval` in the suite or test, e.g. where tests measure latencies.
    public static func pollingEvery(_ interval: Duration) -> Self {
        PollingTrait(interval: interval)
    }
}


// MARK: Background work

/// Runs `service` (a collector's `run()`) in a child task for the duration of `body`, then cancels
/// it and waits for it to end.
public func whileRunning<T>(
    _ service: @escaping @Sendable () async throws -> Void, _ body: () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await service() }
        defer { group.cancelAll() }
        return try await body()
    }
}
