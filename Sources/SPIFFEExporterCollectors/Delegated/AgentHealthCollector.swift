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
/// Workload API socket every interval: the check `spire-agent healthcheck` makes. The agent
/// answers SERVING only if its own loopback X.509 fetch works, so this watches the whole agent,
/// not just the socket. Exports `spiffe_agent_healthy` and `spiffe_agent_health_check_duration_seconds`.
public struct AgentHealthCollector: Service {
    let configuration: AgentHealthConfiguration
    let registry: MetricsRegistry
    let logger: Logger

    public init(configuration: AgentHealthConfiguration, registry: MetricsRegistry, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        // Unhealthy until the first answer says otherwise.
        registry.set(MetricCatalog.agentHealthy, [configuration.source], to: 0)
    }

    public func run() async throws {
        logger.info(
            "starting agent health check",
            metadata: ["source": "\(configuration.source)", "address": "\(configuration.address)"])
        await cancelWhenGracefulShutdown {
            var previous: AgentHealthResult?
            while !Task.isCancelled {
                let (result, duration) = await self.checkOnce()
                if Task.isCancelled { break }
                self.registry.set(MetricCatalog.agentHealthy, [self.configuration.source], to: result.isHealthy ? 1 : 0)
                self.registry.set(MetricCatalog.agentHealthCheckDuration, [self.configuration.source], to: duration)
                self.log(result, previous: previous)
                previous = result
                do {
                    try await Task.sleep(for: self.configuration.interval)
                } catch {
                    break
                }
            }
        }
    }

    /// One check and how long it took, in seconds.
    public func checkOnce() async -> (result: AgentHealthResult, duration: Double) {
        let started = ContinuousClock.now
        let result: AgentHealthResult
        do {
            let transport = try AgentTransport.make(configuration.address)
            let response = try await withGRPCClient(transport: transport) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                let response = try await health.check(
                    Grpc_Health_V1_HealthCheckRequest(),
                    options: AgentTransport.callOptions(timeout: configuration.timeout))
                client.beginGracefulShutdown()
                return response
            }
            result = response.status == .serving ? .serving : .notServing(status: Self.statusName(response.status))
        } catch let error as RPCError {
            let reason: ConnectionFailureReason =
                switch error.code {
                case .unavailable: AgentTransport.diagnoseUnavailable(configuration.address)
                case .deadlineExceeded: .timeout
                case .invalidArgument: .invalidArgument
                default: .other
                }
            result = .failed(code: WorkloadAPICollector.codeName(error.code), reason: reason, detail: error.message)
        } catch {
            result = .failed(code: "Unknown", reason: .other, detail: "\(error)")
        }
        return (result, AgentTransport.seconds(ContinuousClock.now - started))
    }

    static func statusName(_ status: Grpc_Health_V1_HealthCheckResponse.ServingStatus) -> String {
        switch status {
        case .unknown: "UNKNOWN"
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .serviceUnknown: "SERVICE_UNKNOWN"
        case .UNRECOGNIZED(let value): "UNRECOGNIZED(\(value))"
        }
    }

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
