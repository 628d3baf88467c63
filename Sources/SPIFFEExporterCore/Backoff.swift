/// Exponential reconnect backoff with equal jitter, capped, reset after any message received
/// (go-spiffe resets its backoff the same way). Equal jitter draws each delay from
/// [ceiling/2, ceiling): retries from many exporters spread out, yet never come faster than half
/// the ceiling, so a flapping agent is not hammered. Pure: the random fraction is passed in.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var multiplier: Double
    public var cap: Duration
    public private(set) var attempt: Int = 0

    public init(initial: Duration = .seconds(1), multiplier: Double = 2, cap: Duration = .seconds(30)) {
        self.initial = initial
        self.multiplier = multiplier
        self.cap = cap
    }

    /// The ceiling for the next delay, before jitter.
    public var currentCeiling: Duration {
        var ceiling = initial
        var step = 0
        while step < attempt && ceiling < cap {
            ceiling = ceiling * multiplier
            step += 1
        }
        return min(cap, ceiling)
    }

    /// Returns the next delay and advances. `jitter` in [0, 1) picks the delay within
    /// [ceiling/2, ceiling).
    public mutating func next(jitter: Double) -> Duration {
        let ceiling = currentCeiling
        attempt += 1
        let j = min(max(jitter, 0), 0.999_999)
        return ceiling / 2 + (ceiling / 2) * j
    }

    public mutating func reset() { attempt = 0 }
}
