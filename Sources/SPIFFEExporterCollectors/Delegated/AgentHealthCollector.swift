import Foundation
import GRPCCore
import Logging
import SPIFFEAgentAPIs
import SPIFFEExporterCore
import ServiceLifecycle

/// Settings of the agent health check.
public struct AgentHealthConfiguration: Sendable {
    /// `source` label: the name of the Workload API source whose socket is checked.
    public var source: String
    /// The agent's Workload API socket (which also serves `grpc.health.v1.Health`).
    public var address: WorkloadEndpointAddress
    /// Time between checks; set it to the scrape interval.
    public var interval: Duration
    /// Deadline of one check.
    public var timeout: Duration

    public init(
        source: String = "workload_api", address: WorkloadEndpointAddress, interval: Duration = .seconds(15),
        timeout: Duration = .seconds(5)
    ) {
        self.source = source
        self.address = address
        self.interval = interval
        self.timeout = timeout
    }
}

/// The answer to one health check.
public enum AgentHealthResult: Sendable, Hashable {
    case serving
    /// The agent answered, with a status other than SERVING (`NOT_SERVING`, `UNKNOWN`, ...).
    case notServing(status: String)
    /// No answer: the call failed.
    case failed(code: String, reason: ConnectionFailureReason, detail: String)

    public var isHealthy: Bool { self == .serving }
}

/// Calls `grpc.health.v1.Health/Check` (empty service name, no security header) on the agent's
/// Workload API socket every interval, over the socket's shared client: the check
/// `spire-agent healthcheck` makes. The agent answers SERVING only if its own loopback X.509 fetch
/// works, so this watches the whole agent, not just the socket. Exports `spiffe_agent_healthy`
/// and `spiffe_agent_health_check_duration_seconds`.
public struct AgentHealthCollector<C: Clock>: Service where C.Duration == Duration {
    let configuration: AgentHealthConfiguration
    let context: CollectorContext
    let loop: WatchLoop<C>
    var registry: MetricsRegistry { context.registry }
    var logger: Logger { context.logger }

    public init(configuration: AgentHealthConfiguration, context: CollectorContext, clock: C) {
        self.configuration = configuration
        self.context = context
        // A failed check is retried at the interval, like a passing one: the gauge is the signal.
        loop = WatchLoop(
            clock: clock, backoff: Backoff(initial: configuration.interval, multiplier: 1, cap: configuration.interval),
            firstResponseTimeout: configuration.timeout,
            classifier: FailureClassifier(address: configuration.address, permissionDenied: .other))
        // Unhealthy until the first answer says otherwise.
        context.registry.set(MetricCatalog.agentHealthy, [configuration.source], to: 0)
    }

    public func run() async throws {
        logger.info(
            "starting agent health check",
            metadata: ["source": "\(configuration.source)", "address": "\(configuration.address)"])
        let health = Grpc_Health_V1_Health.Client(wrapping: try context.connections.client(for: configuration.address))
        let answer = SharedValue<Grpc_Health_V1_HealthCheckResponse.ServingStatus?>(nil)
        let previous = SharedValue<AgentHealthResult?>(nil)
        await cancelWhenGracefulShutdown {
            await loop.poll(interval: configuration.interval) {
                let status = try await health.check(Grpc_Health_V1_HealthCheckRequest(), options: AgentConnections.callOptions()).status
                answer.current = status
                return nil
            } ended: { outcome, took in
                let result = Self.result(outcome, status: answer.current)
                registry.set(MetricCatalog.agentHealthy, [configuration.source], to: result.isHealthy ? 1 : 0)
                registry.set(MetricCatalog.agentHealthCheckDuration, [configuration.source], to: took.seconds)
                log(result, previous: previous.current)
                previous.current = result
            }
        }
    }

    static func result(_ outcome: WatchOutcome, status: Grpc_Health_V1_HealthCheckResponse.ServingStatus?) -> AgentHealthResult {
        if let reason = outcome.reason { return .failed(code: outcome.code, reason: reason, detail: outcome.detail) }
        guard let status else { return .failed(code: "Unknown", reason: .other, detail: "no answer") }
        return status == .serving ? .serving : .notServing(status: AgentHealthStatus.name(status))
    }

    /// One check and how long it took: for `check` and tests.
    public func checkOnce() async -> (result: AgentHealthResult, duration: Duration) {
        let started = loop.clock.now
        let outcome: WatchOutcome
        var status: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
        do {
            let health = Grpc_Health_V1_Health.Client(wrapping: try context.connections.client(for: configuration.address))
            status = try await health.check(
                Grpc_Health_V1_HealthCheckRequest(), options: AgentConnections.callOptions(timeout: configuration.timeout)
            ).status
            outcome = WatchOutcome(code: "OK", reason: nil, messages: 1, detail: "")
        } catch {
            outcome = loop.classifier.classify(error, messages: 0, firstResponseTimeout: configuration.timeout)
        }
        return (Self.result(outcome, status: status), started.duration(to: loop.clock.now))
    }

}

enum AgentHealthStatus {
    static func name(_ status: Grpc_Health_V1_HealthCheckResponse.ServingStatus) -> String {
        switch status {
        case .unknown: "UNKNOWN"
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .serviceUnknown: "SERVICE_UNKNOWN"
        case .UNRECOGNIZED(let value): "UNRECOGNIZED(\(value))"
        }
    }

}

extension AgentHealthCollector {
    /// Logs transitions only: a steady state is in the metrics.
    private func log(_ result: AgentHealthResult, previous: AgentHealthResult?) {
        let address = "\(configuration.address)"
        switch result {
        case .serving:
            if previous != nil, previous != .serving {
                logger.info("agent healthy again", metadata: ["source": "\(configuration.source)"])
            }
        case .notServing(let status):
            guard previous != result else { return }
            logger.warning(
                "agent unhealthy",
                metadata: [
                    "source": "\(configuration.source)", "status": "\(status)",
                    "hint": "\(DelegatedIdentityHints.healthHint(status: status, reason: nil, address: address))",
                ])
        case .failed(let code, let reason, let detail):
            if case .failed(_, let previousReason, _)? = previous, previousReason == reason { return }
            logger.warning(
                "agent health check failed",
                metadata: [
                    "source": "\(configuration.source)", "code": "\(code)", "reason": "\(reason.rawValue)",
                    "detail": "\(detail)",
                    "hint": "\(DelegatedIdentityHints.healthHint(status: nil, reason: reason, address: address))",
                ])
        }
    }
}

extension AgentHealthCollector where C == ContinuousClock {
    public init(configuration: AgentHealthConfiguration, context: CollectorContext) {
        self.init(configuration: configuration, context: context, clock: ContinuousClock())
    }
}
