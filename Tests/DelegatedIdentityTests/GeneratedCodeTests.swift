import Foundation
import GRPCCore
import SPIFFEAgentAPIs
import Testing

/// The generated stubs must use the exact method paths SPIRE agents serve.
@Suite struct GeneratedCodeTests {
    @Test func delegatedIdentityMethodPaths() {
        typealias Methods = Spire_Api_Agent_Delegatedidentity_V1_DelegatedIdentity.Method
        #expect(
            "/" + Methods.SubscribeToX509SVIDs.descriptor.fullyQualifiedMethod
                == "/spire.api.agent.delegatedidentity.v1.DelegatedIdentity/SubscribeToX509SVIDs")
        #expect(
            Methods.descriptors.map(\.method) == [
                "SubscribeToX509SVIDs", "SubscribeToX509SVIDsByPID", "SubscribeToX509Bundles", "FetchJWTSVIDs",
                "FetchJWTSVIDsByPID", "SubscribeToJWTBundles",
            ])
        #expect(
            Methods.descriptors.allSatisfy {
                $0.service.fullyQualifiedService == "spire.api.agent.delegatedidentity.v1.DelegatedIdentity"
            })
    }

    @Test func healthMethodPath() {
        #expect(
            "/" + Grpc_Health_V1_Health.Method.Check.descriptor.fullyQualifiedMethod == "/grpc.health.v1.Health/Check")
        #expect(
            "/" + Grpc_Health_V1_Health.Method.Watch.descriptor.fullyQualifiedMethod == "/grpc.health.v1.Health/Watch")
    }

    @Test func wireFieldNumbers() throws {
        // X509SVIDWithKey{x509_svid = 1 {cert_chain = 1, id = 2 {trust_domain = 1, path = 2}}, x509_svid_key = 2}
        var svid = Spire_Api_Agent_Delegatedidentity_V1_X509SVIDWithKey()
        svid.x509Svid.certChain = [Data([0xAA])]
        svid.x509Svid.id.trustDomain = "t"
        svid.x509Svid.id.path = "/p"
        svid.x509SvidKey = Data([0xBB])
        let bytes = [UInt8](try svid.serializedData())
        #expect(
            bytes == [
                0x0A, 0x0C, 0x0A, 0x01, 0xAA, 0x12, 0x07, 0x0A, 0x01, 0x74, 0x12, 0x02, 0x2F, 0x70, 0x12, 0x01, 0xBB,
            ])
    }
}
