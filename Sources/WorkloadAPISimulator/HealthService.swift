import GRPCCore
import SPIFFEAgentAPIs

/// What the simulated agent's health service answers.
public enum SimulatedHealthStatus: Sendable, Hashable {
    case serving
    case notServing
    /// `UNKNOWN` (0): an answer that is neither serving nor not serving.
    case unknown
}

/// `grpc.health.v1.Health` on the Workload API socket, as a SPIRE agent serves it: no security
/// header, the service name must be empty, `Watch` is not implemented.
struct HealthService: Grpc_Health_V1_Health.ServiceProtocol {
    let simulator: WorkloadAPISimulator

    func check(
        request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext
    ) async throws
        -> ServerResponse<Grpc_Health_V1_HealthCheckResponse>
    {
        simulator.recordCall("Check")
        guard request.message.service.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "per-service health is not supported")
        }
        var response = Grpc_Health_V1_HealthCheckResponse()
        switch simulator.effectiveHealthStatus {
        case .serving: response.status = .serving
        case .notServing: response.status = .notServing
        case .unknown: response.status = .unknown
        }
        return ServerResponse(message: response)
    }

    func watch(
        request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext
    ) async throws
        -> StreamingServerResponse<Grpc_Health_V1_HealthCheckResponse>
    {
        simulator.recordCall("Watch")
        throw RPCError(code: .unimplemented, message: "method Watch not implemented")
    }
}

extension WorkloadAPISimulator {
    /// Sets what `Health/Check` answers from now on.
    public func setHealthStatus(_ status: SimulatedHealthStatus) {
        state.withLock { $0.configuration.healthStatus = status }
    }

    /// The configured status, except that an agent whose Workload API is unavailable is
    /// NOT_SERVING: SPIRE's Check performs a loopback X.509 fetch and reports its failure.
    var effectiveHealthStatus: SimulatedHealthStatus {
        state.withLock { s in s.configuration.fault == .unavailable ? .notServing : s.configuration.healthStatus }
    }
}
