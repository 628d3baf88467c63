/// Exponential reconnect backoff with full jitter, capped, reset after any message received
/// (go-spiffe resets its backoff the same way). Pure: the random fraction is passed in.
public struct Backoff: Sendable, Hashable {
    public var initial: Double
    public var multiplier: Double
    public var cap: Double
    public private(set) var attempt: Int = 0

    public init(initial: Double = 1, multiplier: Double = 2, cap: Double = 30) {
        self.initial = initial
        self.multiplier = multiplier
        self.cap = cap
    }

    /// The ceiling for the next delay, before jitter.
    public var currentCeiling: Double {
        min(cap, initial * pow2(Double(attempt)))
    }

    /// Returns the next delay in seconds and advances. `jitter` in [0, 1): the delay is drawn from
    /// [ceiling/2, ceiling) so retries from many exporters spread out but never hammer the agent.
    public mutating func next(jitter: Double) -> Double {
        let ceiling = currentCeiling
        attempt += 1
        let j = min(max(jitter, 0), 0.999_999)
        return ceiling / 2 + ceiling / 2 * j
    }

    public mutating func reset() { attempt = 0 }

    private func pow2(_ n: Double) -> Double {
        // multiplier^n without Foundation; n is small and bounded by the cap check below.
        var result = 1.0
        var i = 0.0
        while i < n && result * initial < cap {
            result *= multiplier
            i += 1
        }
        return result
    }
}
