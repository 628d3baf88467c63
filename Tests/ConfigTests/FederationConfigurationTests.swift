import Foundation
import SPIFFEExporterConfig
import SPIFFEExporterCore
import Testing

/// How federation bundle endpoints are configured: flags, the file in both shapes, the interval.
@Suite struct FederationConfigurationTests {
    typealias Federation = ExporterConfiguration.Federation

    @Test func noneByDefault() throws {
        #expect(try resolve().collectors.federation == Federation())
    }

    @Test func repeatableFlagsAndTheInterval() throws {
        let flags = CommandLineSettings(
            federation: .init(
                endpoints: [
                    "partner=partner.test=https://bundle.partner.test/b",
                    "other=other.test=https://spire.other.test:8443,profile=https_spiffe,endpoint_spiffe_id=spiffe://other.test/spire/server",
                ], interval: "2m"))
        let federation = try resolve(flags: flags).collectors.federation
        #expect(federation.endpoints.map(\.name) == ["partner", "other"])
        #expect(federation.endpoints[0].profile == .httpsWeb)
        #expect(federation.endpoints[0].requestTarget == "/b")
        #expect(federation.endpoints[1].profile == .httpsSPIFFE)
        #expect(federation.endpoints[1].port == 8443)
        #expect(federation.endpoints[1].endpointSPIFFEID?.description == "spiffe://other.test/spire/server")
        #expect(federation.interval == .seconds(120))
        #expect(try resolve(flags: flags).collectors.sources.isSuperset(of: ["partner", "other"]))
    }

    @Test func theFileAsAListOrAMappingAndFlagsAfterIt() throws {
        let list = """
            federation:
              - name: partner
                trust_domain: partner.test
                url: https://bundle.partner.test
                ca_file: /etc/ssl/partner.pem
            """
        let fromList = try resolve(list).collectors.federation
        #expect(fromList.endpoints.map(\.name) == ["partner"])
        #expect(fromList.endpoints.first?.caFile == "/etc/ssl/partner.pem")
        #expect(fromList.interval == nil)
        let mapping = """
            federation:
              interval: 10m
              endpoints:
                - name: partner
                  trust_domain: partner.test
                  url: https://spire.partner.test:8443
                  profile: https_spiffe
                  endpoint_spiffe_id: spiffe://partner.test/spire/server
            """
        let flags = CommandLineSettings(federation: .init(endpoints: ["more=more.test=https://b.more.test"], interval: "1m"))
        let merged = try resolve(mapping, flags: flags).collectors.federation
        #expect(merged.endpoints.map(\.name) == ["partner", "more"])
        #expect(merged.endpoints.first?.profile == .httpsSPIFFE)
        // The flag wins over the file.
        #expect(merged.interval == .seconds(60))
        #expect(try resolve(mapping).collectors.federation.interval == .seconds(600))
    }

    @Test func theBoundsOfTheIntervalAreAccepted() throws {
        #expect(try resolve(flags: .init(federation: .init(interval: "30s"))).collectors.federation.interval == .seconds(30))
        #expect(try resolve(flags: .init(federation: .init(interval: "1h"))).collectors.federation.interval == .seconds(3600))
        #expect(try problems(flags: .init(federation: .init(interval: "29s"))).count == 1)
    }
}
