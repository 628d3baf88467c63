import SPIFFEExporterCore
import Testing

/// `--probe.target=NAME=host:port[,spiffe_id=...][,sni=...]` and the other `--probe.*` values.
@Suite struct ProbeTargetTests {
    @Test func parsesNameAddressAndOptions() throws {
        let target = try ProbeTarget(
            parsing: "api=api.prod.svc:8443,spiffe_id=spiffe://example.org/ns/prod/sa/api,sni=api.internal")
        #expect(
            target
                == ProbeTarget(
                    name: "api", host: "api.prod.svc", port: 8443, spiffeID: "spiffe://example.org/ns/prod/sa/api",
                    serverName: "api.internal"))
        #expect(
            target.description == "api=api.prod.svc:8443,spiffe_id=spiffe://example.org/ns/prod/sa/api,sni=api.internal"
        )
    }

    @Test func serverNameDefaultsToHostNamesOnly() throws {
        #expect(try ProbeTarget(parsing: "a=backend:443").serverName == "backend")
        #expect(try ProbeTarget(parsing: "a=10.0.0.7:443").serverName == nil)
        let v6 = try ProbeTarget(parsing: "a=[::1]:8443")
        #expect(v6.host == "::1" && v6.port == 8443 && v6.serverName == nil)
        #expect(v6.address == "[::1]:8443")
        // Options in any order.
        let reordered = try ProbeTarget(parsing: "a=127.0.0.1:1,sni=x.example,spiffe_id=spiffe://td/x")
        #expect(reordered.serverName == "x.example" && reordered.spiffeID == "spiffe://td/x")
    }

    @Test(arguments: [
        ("api.prod:8443", ProbeConfigurationError.Code.missingName),
        ("=api:8443", .invalidName),
        ("1api=api:8443", .invalidName),
        ("a b=api:8443", .invalidName),
        ("api=", .invalidAddress),
        ("api=api", .invalidAddress),
        ("api=::1:8443", .invalidAddress),
        ("api=[::1]8443", .invalidAddress),
        ("api=api/x:8443", .invalidAddress),
        ("api=api:0", .invalidPort),
        ("api=api:65536", .invalidPort),
        ("api=api:https", .invalidPort),
        ("api=api:", .invalidPort),
        ("api=api:443,insecure", .invalidOption),
        ("api=api:443,server_name=x", .invalidOption),
        ("api=api:443,spiffe_id=spiffe://example.org", .invalidSPIFFEID),
        ("api=api:443,spiffe_id=https://example.org/api", .invalidSPIFFEID),
        ("api=api:443,spiffe_id=spiffe://Example.org/api", .invalidSPIFFEID),
        ("api=api:443,spiffe_id=spiffe://a/x,spiffe_id=spiffe://a/y", .duplicateOption),
        ("api=api:443,sni=10.0.0.1", .invalidServerName),
        ("api=api:443,sni=", .invalidServerName),
        ("api=api:443,sni=a,sni=b", .duplicateOption),
    ])
    func rejects(_ text: String, _ code: ProbeConfigurationError.Code) {
        #expect(throws: ProbeConfigurationError(code, text)) { try ProbeTarget(parsing: text) }
    }

    @Test func targetNamesAreUnique() {
        #expect(throws: ProbeConfigurationError(.duplicateName, "")) {
            try ProbeTarget.parseAll(["a=x:1", "b=y:2", "a=z:3"])
        }
    }

    @Test func configurationAppliesDefaultsAndValidatesDurations() throws {
        let configuration = try ProbeConfiguration.parse(targets: ["a=x:1"], interval: "30s", timeout: "10s")
        #expect(configuration.interval == .seconds(30) && configuration.timeout == .seconds(10))
        #expect(configuration.clientSource == "workload_api")
        #expect(try ProbeConfiguration.parse(targets: [], interval: "1m", timeout: "500ms").timeout == .milliseconds(500))
        // No timeout given: 10 s, or the interval when that is shorter.
        #expect(try ProbeConfiguration.parse(targets: [], interval: "30s", timeout: nil).timeout == .seconds(10))
        #expect(try ProbeConfiguration.parse(targets: [], interval: "2s", timeout: nil).timeout == .seconds(2))
        for (interval, timeout) in [
            ("0s", "1s"), ("500ms", "100ms"), ("x", "1s"), ("30s", "0s"), ("30s", "31s"), ("30s", "soon"),
        ] {
            #expect(throws: ProbeConfigurationError(.invalidDuration, "")) {
                try ProbeConfiguration.parse(targets: [], interval: interval, timeout: timeout)
            }
        }
    }
}
