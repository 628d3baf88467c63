import Foundation
import GRPCCore
import SPIFFEWorkloadAPI

/// The gRPC face of the simulator: SPIRE's status codes and messages for each situation.
struct SimulatorService: SpiffeWorkloadAPI.ServiceProtocol {
    let simulator: WorkloadAPISimulator

    /// SPIRE accepts a call only if `workload.spiffe.io` appears exactly once with value `true`.
    private func checkHeader(_ metadata: Metadata, method: String) throws {
        simulator.recordCall(method)
        let values = Array(metadata[stringValues: "workload.spiffe.io"])
        guard values == ["true"] else {
            simulator.recordRejectedHeader()
            throw RPCError(code: .invalidArgument, message: "security header missing from request")
        }
    }

    private func checkFault() throws {
        switch simulator.currentFault {
        case .noIdentity: throw RPCError(code: .permissionDenied, message: "no identity issued")
        case .unavailable: throw RPCError(code: .unavailable, message: "workload attestation failed")
        case .rejectRequests: throw RPCError(code: .invalidArgument, message: "request rejected by simulator")
        case .unimplemented: throw RPCError(code: .unimplemented, message: "method not implemented")
        default: break
        }
    }

    func fetchX509SVID(
        request: ServerRequest<X509SVIDRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<X509SVIDResponse> {
        try checkHeader(request.metadata, method: "FetchX509SVID")
        try checkFault()
        let simulator = self.simulator
        return StreamingServerResponse(of: X509SVIDResponse.self) { writer in
            let (id, updates) = simulator.subscribeSVIDs()
            defer { simulator.unsubscribe(id) }
            if case .slowFirstResponse(let delay) = simulator.currentFault {
                try await Task.sleep(for: delay)
            }
            try await writer.write(simulator.x509SVIDResponse())
            if simulator.currentFault == .dropStreams {
                throw RPCError(code: .unavailable, message: "stream dropped by simulator")
            }
            for await update in updates {
                switch simulator.currentFault {
                case .noIdentity: throw RPCError(code: .permissionDenied, message: "no identity issued")
                case .unavailable: throw RPCError(code: .unavailable, message: "agent is shutting down")
                default: try await writer.write(update)
                }
            }
            return [:]
        }
    }

    func fetchX509Bundles(
        request: ServerRequest<X509BundlesRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<X509BundlesResponse> {
        try checkHeader(request.metadata, method: "FetchX509Bundles")
        try checkFault()
        let simulator = self.simulator
        return StreamingServerResponse(of: X509BundlesResponse.self) { writer in
            let (id, updates) = simulator.subscribeBundles()
            defer { simulator.unsubscribe(id) }
            var last = simulator.x509BundlesResponse()
            try await writer.write(last)
            if simulator.currentFault == .dropStreams {
                throw RPCError(code: .unavailable, message: "stream dropped by simulator")
            }
            for await update in updates where update != last {
                switch simulator.currentFault {
                case .noIdentity: throw RPCError(code: .permissionDenied, message: "no identity issued")
                case .unavailable: throw RPCError(code: .unavailable, message: "agent is shutting down")
                default: break
                }
                // SPIRE deduplicates bundle streams: send only what changed.
                last = update
                try await writer.write(update)
            }
            return [:]
        }
    }

    func fetchJWTSVID(request: ServerRequest<JWTSVIDRequest>, context: ServerContext) async throws
        -> ServerResponse<JWTSVIDResponse>
    {
        try checkHeader(request.metadata, method: "FetchJWTSVID")
        guard !request.message.audience.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "audience must be specified")
        }
        try checkFault()
        if case .slowFirstResponse(let delay) = simulator.currentFault {
            try await Task.sleep(for: delay)
        }
        let minted = simulator.jwtSVIDs(audience: request.message.audience, spiffeID: request.message.spiffeID)
        guard !minted.isEmpty else { throw RPCError(code: .permissionDenied, message: "no identity issued") }
        var response = JWTSVIDResponse()
        response.svids = minted.map { item in
            var svid = JWTSVID()
            svid.spiffeID = item.spiffeID
            svid.svid = simulator.currentFault == .garbageDER ? "not.a.jwt" : item.token
            return svid
        }
        return ServerResponse(message: response)
    }

    func fetchJWTBundles(request: ServerRequest<JWTBundlesRequest>, context: ServerContext) async throws
        -> StreamingServerResponse<JWTBundlesResponse>
    {
        try checkHeader(request.metadata, method: "FetchJWTBundles")
        try checkFault()
        let simulator = self.simulator
        return StreamingServerResponse(of: JWTBundlesResponse.self) { writer in
            let (id, updates) = simulator.subscribeJWTBundles()
            defer { simulator.unsubscribe(id) }
            var last = simulator.jwtBundlesResponse()
            try await writer.write(last)
            if simulator.currentFault == .dropStreams {
                throw RPCError(code: .unavailable, message: "stream dropped by simulator")
            }
            for await update in updates where update != last {
                last = update
                try await writer.write(update)
            }
            return [:]
        }
    }

    func validateJWTSVID(request: ServerRequest<ValidateJWTSVIDRequest>, context: ServerContext) async throws
        -> ServerResponse<ValidateJWTSVIDResponse>
    {
        try checkHeader(request.metadata, method: "ValidateJWTSVID")
        // The exporter validates JWT-SVIDs itself against the JWT bundle; it never calls this.
        throw RPCError(code: .unimplemented, message: "ValidateJWTSVID is not implemented by the simulator")
    }
}
