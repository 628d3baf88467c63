/// Settings of the served-certificate probe, decoded and validated from `--probe.*` (or a config
/// file) with defaults applied.
public struct ProbeConfiguration: Sendable, Hashable {
    public static let defaultInterval: Duration = .seconds(30)
    public static let defaultTimeout: Duration = .seconds(10)
    public static let minimumInterval: Duration = .seconds(1)
    /// The source whose first X.509-SVID is presented as client certificate (mTLS).
    public static let defaultClientSource = "workload_api"

    public var targets: [ProbeTarget]
    /// Time between the starts of two probes of one target.
    public var interval: Duration
    /// Time one probe may take, connect to close.
    public var timeout: Duration
    public var clientSource: String

    public init(
        targets: [ProbeTarget], interval: Duration = Self.defaultInterval, timeout: Duration = Self.defaultTimeout,
        clientSource: String = Self.defaultClientSource
    ) {
        self.targets = targets
        self.interval = interval
        self.timeout = timeout
        self.clientSource = clientSource
    }

    /// The timeout when none is given: 10 s, or the interval if that is shorter.
    public static func impliedTimeout(interval: Duration) -> Duration { min(defaultTimeout, interval) }

    /// Whether `timeout` fits `interval`: more than 0, at most the interval (probes never overlap).
    public static func isValidTimeout(_ timeout: Duration, interval: Duration) -> Bool {
        timeout > .zero && timeout <= interval
    }

    /// Decodes flag values: targets as `NAME=host:port[,spiffe_id=...][,sni=...]`, durations as
    /// `30s`, `500ms`, `1m`, with the default timeout of ``impliedTimeout(interval:)``.
    public static func parse(
        targets: [String], interval: String, timeout: String?
    ) throws(ProbeConfigurationError)
        -> ProbeConfiguration
    {
        let parsedTargets = try ProbeTarget.parseAll(targets)
        guard let intervalDuration = try? DurationText.duration(interval), intervalDuration >= minimumInterval else {
            throw .init(.invalidDuration, "--probe.interval=\(interval) (at least 1s)")
        }
        guard let timeout else {
            return ProbeConfiguration(
                targets: parsedTargets, interval: intervalDuration, timeout: impliedTimeout(interval: intervalDuration))
        }
        guard let timeoutDuration = try? DurationText.duration(timeout),
            isValidTimeout(timeoutDuration, interval: intervalDuration)
        else {
            throw .init(.invalidDuration, "--probe.timeout=\(timeout) (more than 0, at most --probe.interval)")
        }
        return ProbeConfiguration(targets: parsedTargets, interval: intervalDuration, timeout: timeoutDuration)
    }
}
