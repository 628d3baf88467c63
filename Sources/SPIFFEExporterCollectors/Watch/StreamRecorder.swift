import Foundation
import Logging
import SPIFFEExporterCore

/// Records what the streams and calls of one source do, in the `spiffe_workload_api_*` families:
/// requests by code, failures by reason (pre-zeroed), first-response latency, updates and their
/// time, malformed messages; the source's health on the board; and logs with one policy: a
/// failure is logged loudly once, then quietly while the same reason repeats.
public struct StreamRecorder: Sendable {
    public let source: String
    public let registry: MetricsRegistry
    public let board: SourceBoard
    public let logger: Logger
    /// Names the API in log lines ("Workload API", "Delegated Identity").
    public let api: String
    let now: @Sendable () -> Date
    /// The last failure reason of each RPC, to log a repeated one quietly.
    private let lastReason = SharedValue<[String: ConnectionFailureReason]>([:])

    public init(
        source: String, api: String, registry: MetricsRegistry, board: SourceBoard, logger: Logger,
        now: @escaping @Sendable () -> Date
    ) {
        self.source = source
        self.api = api
        self.registry = registry
        self.board = board
        self.logger = logger
        self.now = now
    }

    /// Pre-zeroes every failure reason and the per-RPC series, so rates work from the first scrape.
    public func preZero(rpcs: [String]) {
        registry.preZero(MetricCatalog.workloadAPIConnectionFailures, ConnectionFailureReason.allCases.map { [source, $0.rawValue] })
        for rpc in rpcs {
            registry.preZero(MetricCatalog.workloadAPIUpdates, [[source, rpc]])
            registry.preZero(MetricCatalog.workloadAPIRequestDuration, [[source, rpc]])
        }
    }

    public func firstResponse(_ rpc: String, after latency: Duration) {
        registry.observe(MetricCatalog.workloadAPIRequestDuration, [source, rpc], latency.seconds)
    }

    /// A message was applied.
    public func updated(_ rpc: String, at time: Date) {
        registry.increment(MetricCatalog.workloadAPIUpdates, [source, rpc])
        registry.set(MetricCatalog.workloadAPILastUpdate, [source, rpc], to: time.timeIntervalSince1970)
    }

    /// A message broke the protocol: counted as `malformed_response` and logged, once per message.
    public func malformed(_ message: String, problems: [String], metadata extra: Logger.Metadata = [:]) {
        guard !problems.isEmpty else { return }
        registry.increment(MetricCatalog.workloadAPIConnectionFailures, [source, ConnectionFailureReason.malformedResponse.rawValue])
        var metadata = extra
        metadata["source"] = "\(source)"
        metadata["problems"] = "\(problems.joined(separator: "; "))"
        logger.warning("malformed \(message)", metadata: metadata)
    }

    /// An attempt of `rpc` ended. `down`: the end takes the source down on the board.
    public func ended(
        _ rpc: String, _ outcome: WatchOutcome, down: Bool, hint: String? = nil, metadata extra: Logger.Metadata = [:]
    ) {
        registry.increment(MetricCatalog.workloadAPIRequests, [source, rpc, outcome.code])
        // Only failures end here with a reason; a stream always ends with one.
        guard let reason = outcome.reason else { return }
        registry.increment(MetricCatalog.workloadAPIConnectionFailures, [source, reason.rawValue])
        board.failed(
            source, reason: reason.rawValue, hint: hint, message: "\(rpc) ended: \(outcome.code), \(reason.rawValue)",
            down: down, now: now())
        let previous = lastReason.update { $0.updateValue(reason, forKey: rpc) }
        var metadata = extra
        metadata["source"] = "\(source)"
        metadata["rpc"] = "\(rpc)"
        metadata["code"] = "\(outcome.code)"
        metadata["reason"] = "\(reason.rawValue)"
        metadata["messages"] = "\(outcome.messages)"
        metadata["detail"] = "\(outcome.detail)"
        if let hint { metadata["hint"] = "\(hint)" }
        logger.log(level: Self.level(reason: reason, previous: previous, messages: outcome.messages), "\(api) stream ended", metadata: metadata)
    }

    /// The stream of `rpc` delivered: a later failure is news again.
    public func delivered(_ rpc: String) {
        _ = lastReason.update { $0.removeValue(forKey: rpc) }
    }

    static func level(reason: ConnectionFailureReason, previous: ConnectionFailureReason?, messages: Int) -> Logger.Level {
        if previous == reason && messages == 0 { return .debug }
        // This client is wrong or not allowed, not the agent: say it loudest.
        if reason == .invalidArgument || reason == .notAuthorizedDelegate { return .error }
        return messages > 0 ? .info : .warning
    }
}
