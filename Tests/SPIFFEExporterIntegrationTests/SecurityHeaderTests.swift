import ExporterTestKit
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SPIFFEWorkloadAPI
import TestKit
import Testing
import WorkloadAPISimulator

/// The simulator must enforce SPIRE's `workload.spiffe.io: true` header exactly as SPIRE does, or
/// the collector's header handling is untested.
@Suite("Workload API simulator: security header", .timeLimit(.minutes(1)))
struct SecurityHeaderTests {
    /// Runs a raw gRPC client against the simulator's socket.
    static func withWorkloadAPIClient<T: Sendable>(
        socketPath: String, _ body: @Sendable (SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        let transport = try HTTP2ClientTransport.Posix(
            target: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in
            try await body(SpiffeWorkloadAPI.Client(wrapping: client))
        }
    }

    /// Opens FetchX509SVID and returns its first message.
    static func firstSVIDResponse(
        _ api: SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>, metadata: Metadata
    ) async throws -> X509SVIDResponse? {
        try await api.fetchX509SVID(X509SVIDRequest(), metadata: metadata) { response in
            for try await message in response.messages { return message }
            return nil
        }
    }

    static func isMissingHeaderError(_ error: any Error) -> Bool {
        guard let rpcError = error as? RPCError else { return false }
        return rpcError.code == .invalidArgument && rpcError.message == "security header missing from request"
    }

    struct BadHeader: Sendable, CustomTestStringConvertible {
        var values: [String]
        var testDescription: String { values.isEmpty ? "absent" : values.joined(separator: ", ") }
        var metadata: Metadata {
            var metadata = Metadata()
            for value in values { metadata.addString(value, forKey: "workload.spiffe.io") }
            return metadata
        }
    }

    @Test(
        "a call without exactly one `workload.spiffe.io: true` is refused with InvalidArgument",
        arguments: [BadHeader(values: []), BadHeader(values: ["false"]), BadHeader(values: ["true", "true"])])
    func callWithoutHeaderIsRefused(_ header: BadHeader) async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            try await withSimulator(SimulatorConfiguration(socketPath: socket)) { simulator in
                try await Self.withWorkloadAPIClient(socketPath: socket) { api in
                    await #expect(
                        performing: {
                            _ = try await Self.firstSVIDResponse(api, metadata: header.metadata)
                        }, throws: Self.isMissingHeaderError)
                    await #expect(
                        performing: {
                            try await api.fetchX509Bundles(X509BundlesRequest(), metadata: header.metadata) {
                                response in
                                for try await _ in response.messages { break }
                            }
                        }, throws: Self.isMissingHeaderError)
                }
                #expect(simulator.statistics.rejectedMissingHeader == 2)
            }
        }
    }

    @Test("the same call with the header gets the SVIDs and bundle")
    func callWithHeaderSucceeds() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let configuration = SimulatorConfiguration(socketPath: socket, federatedTrustDomains: ["partner.example"])
            try await withSimulator(configuration) { simulator in
                let expected = try #require(simulator.currentSVIDs.first)
                let response = try await Self.withWorkloadAPIClient(socketPath: socket) { api in
                    try await Self.firstSVIDResponse(api, metadata: ["workload.spiffe.io": "true"])
                }
                let message = try #require(response)
                #expect(message.svids.count == 1)
                #expect(message.svids.first?.spiffeID == "spiffe://example.org/workload")
                #expect(message.svids.first.map { Array($0.x509Svid) } == expected.chainDER)
                #expect(message.svids.first.map { Array($0.x509SvidKey) } == expected.keyPKCS8DER)
                #expect(message.svids.first.map { !$0.bundle.isEmpty } == true)
                // Federated bundle keys use the SPIFFE ID form of the trust domain, as SPIRE does.
                #expect(Set(message.federatedBundles.keys) == ["spiffe://partner.example"])
                #expect(simulator.statistics.rejectedMissingHeader == 0)
                #expect(simulator.statistics.calls["FetchX509SVID"] == 1)
            }
        }
    }
}
