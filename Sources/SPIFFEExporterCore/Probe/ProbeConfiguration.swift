/// Settings of the served-certificate probe, decoded and validated from `--probe.*` (or, later, a
/// config file) with defaults applied.
public struct ProbeConfiguration: Sendable, Hashable {
    public static let defaultInterval: Double = 30
    public static let defaultTimeout: Double = 10
    /// The source whose first X.509-SVID is presented as client certificate (mTLS).
    public static let defaultClientSource = "workload_api"

    public var targets: [ProbeTarget]
    /// Seconds between the starts of two probes of one target.
    public var interval: Double
    /// Seconds one probe may take, connect to close.
    public var timeout: Double
    public var clientSource: String

    public init(
        targets: [ProbeTarget], interval: Double = Self.defaultInterval, timeout: Double = Self.defaultTimeout,
        clientSource: String = Self.defaultClientSource
    ) {
        self.targets = targets
        self.interval = interval
        self.timeout = timeout
        self.clientSource = clientSource
    }

    /// Decodes flag values: targets as `NAME=host:port[,spiffe_id=...][,sni=...]`, durations as
    /// `30s`, `500ms`, `1m`. The timeout may not exceed the interval (probes never overlap); when
    /// not given it is 10 s, or the interval if that is shorter.
    public static func parse(
        targets: [String], interval: String, timeout: String?
    ) throws(ProbeConfigurationError)
        -> ProbeConfiguration
    {
        let parsedTargets = try ProbeTarget.parseAll(targets)
        guard let intervalSeconds = try? DurationText.seconds(interval), intervalSeconds >= 1 else {
            throw .init(.invalidDuration, "--probe.interval=\(interval) (at least 1s)")
        }
        guard let timeout else {
            return ProbeConfiguration(targets: parsedTargets, interval: intervalSeconds, timeout: min(defaultTimeout, intervalSeconds))
        }
        guard let timeoutSeconds = try? DurationText.seconds(timeout), timeoutSeconds > 0,
            timeoutSeconds <= intervalSeconds
        else {
            throw .init(.invalidDuration, "--probe.timeout=\(timeout) (more than 0, at most --probe.interval)")
        }
        return ProbeConfiguration(targets: parsedTargets, interval: intervalSeconds, timeout: timeoutSeconds)
    }
}
