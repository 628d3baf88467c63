import SPIFFEExporterCore
import Testing

@Suite struct WorkloadEndpointAddressTests {
    @Test(arguments: [
        ("unix:///tmp/spire-agent/public/api.sock", WorkloadEndpointAddress.unix(path: "/tmp/spire-agent/public/api.sock")),
        ("unix:/run/spire/sockets/agent.sock", .unix(path: "/run/spire/sockets/agent.sock")),
        ("tcp://127.0.0.1:8000", .tcp(host: "127.0.0.1", port: 8000)),
        ("tcp://[::1]:8000", .tcp(host: "::1", port: 8000)),
    ])
    func valid(_ text: String, _ expected: WorkloadEndpointAddress) throws {
        #expect(try WorkloadEndpointAddress(parsing: text) == expected)
    }

    // The go-spiffe address table (workloadapi/addr_test.go), plus the cases the spec forbids.
    @Test(arguments: [
        ("blah", WorkloadEndpointAddressError.missingScheme),
        ("/run/x.sock", .missingScheme),
        ("http://127.0.0.1:80", .missingScheme),
        ("unix:opaque", .opaque),
        ("unix://", .missingPath),
        ("unix:///", .missingPath),
        ("unix://foo?x", .queryNotAllowed),
        ("unix:///foo#x", .fragmentNotAllowed),
        ("unix://john:doe@foo/path", .userInfoNotAllowed),
        ("unix://foo/path", .unixAuthorityNotAllowed),
        ("tcp:opaque", .opaque),
        ("tcp://", .missingHost),
        ("tcp://1.2.3.4:5/path", .pathNotAllowed),
        ("tcp://1.2.3.4:5?q", .queryNotAllowed),
        ("tcp://1.2.3.4:5#f", .fragmentNotAllowed),
        ("tcp://u:p@1.2.3.4:5", .userInfoNotAllowed),
        ("tcp://foo:5", .hostNotIP),
        ("tcp://1.2.3.4", .missingPort),
        ("tcp://1.2.3.4:", .missingPort),
        ("tcp://1.2.3.4:99999", .invalidPort),
        ("tcp://1.2.3.4:x", .invalidPort),
        ("tcp://256.1.1.1:5", .hostNotIP),
    ])
    func invalid(_ text: String, _ expected: WorkloadEndpointAddressError) {
        #expect(throws: expected) { try WorkloadEndpointAddress(parsing: text) }
    }

    @Test func roundTrips() throws {
        for text in ["unix:///tmp/a.sock", "tcp://10.0.0.1:9000", "tcp://[::1]:81"] {
            #expect(try WorkloadEndpointAddress(parsing: text).description == text)
        }
    }
}

@Suite struct WorkloadEndpointAddressSuggestionTests {
    @Test(arguments: [
        ("/run/spire/agent.sock", "a socket path is written unix:///run/spire/agent.sock"),
        ("agent.sock", "a relative socket path is not allowed: use unix:///absolute/path"),
        ("./run/agent.sock", "a relative socket path is not allowed: use unix:///absolute/path"),
        ("unix:run/agent.sock", "a relative socket path is not allowed: use unix:///absolute/path"),
        ("unix://run/agent.sock", "a relative socket path is not allowed: use unix:///absolute/path"),
        ("tcp://example.com:80", "use unix:///absolute/path or tcp://IP:PORT"),
    ])
    func errorsSayWhatToWrite(_ text: String, _ suggestion: String) {
        do {
            _ = try WorkloadEndpointAddress(explaining: text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.suggestion == suggestion)
            #expect(error.description.hasSuffix("(\(suggestion))"))
        }
    }
}
