import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

/// Parsing and validating the SPIFFE bundle a federation bundle endpoint serves, from hand-written
/// JWK Sets.
@Suite struct FederationBundleDocumentTests {
    static let trustDomain = "partner.example"

    static func x509Key(_ ca: IssuedCA) -> String {
        #"{"kty":"EC","use":"x509-svid","crv":"P-256","x5c":["\#(Data(ca.der).base64EncodedString())"]}"#
    }

    static func parse(_ json: String) -> Result<FederationBundleDocument, FederationBundleFailure> {
        FederationBundleDocument.parse(Array(json.utf8), trustDomain: trustDomain)
    }

    static func failureReason(_ json: String) -> FederationBundleFailureReason? {
        if case .failure(let failure) = parse(json) { return failure.reason }
        return nil
    }

    @Test func parsesRootsKeyIDsSequenceAndHint() throws {
        let old = try SVIDFactory.rootCA(trustDomain: Self.trustDomain, notBefore: at(-86400), notAfter: at(3600))
        let new = try SVIDFactory.rootCA(trustDomain: Self.trustDomain, notBefore: at(-60), notAfter: at(86400))
        let json = """
            {"keys":[\(Self.x509Key(old)),\(Self.x509Key(new)),
              {"kty":"EC","use":"jwt-svid","kid":"k2","crv":"P-256","x":"AA","y":"AA"},
              {"kty":"EC","use":"jwt-svid","kid":"k1","crv":"P-256","x":"AA","y":"AA"}],
             "spiffe_sequence":42,"spiffe_refresh_hint":300}
            """
        let document = try Self.parse(json).get()
        #expect(document.roots.certificates.count == 2)
        #expect(document.jwtKeyIDs == ["k1", "k2"])
        #expect(document.sequence == 42)
        #expect(document.refreshHint == 300)
        #expect(document.refreshInterval() == 300)
        #expect(document.earliestExpiry(at: at(0)) == at(3600))
        // Once the old root expired only the new one counts.
        #expect(document.earliestExpiry(at: at(7200)) == at(86400))
    }

    @Test func emptyKeysIsAValidBundleWithEveryKeyRevoked() throws {
        let document = try Self.parse(#"{"keys":[]}"#).get()
        #expect(document.roots.certificates.isEmpty)
        #expect(document.sequence == nil)
        #expect(document.refreshHint == nil)
        #expect(document.refreshInterval() == FederationBundleDocument.defaultRefresh)
        #expect(document.earliestExpiry(at: at(0)) == nil)
    }

    @Test func keysTheSpecSaysToIgnoreAreIgnored() throws {
        let root = try SVIDFactory.rootCA(trustDomain: Self.trustDomain, notBefore: at(-60), notAfter: at(86400))
        let json = """
            {"keys":[\(Self.x509Key(root)),
              {"use":"x509-svid","x5c":["garbage"]},
              {"kty":"EC","x5c":["garbage"]},
              {"kty":"EC","use":"wit-svid","kid":"w"},
              {"kty":"EC","use":"x509-svid"},
              {"kty":"EC","use":"x509-svid","x5c":[]}]}
            """
        let document = try Self.parse(json).get()
        #expect(document.roots.certificates.count == 1)
        #expect(document.jwtKeyIDs.isEmpty)
    }

    @Test(arguments: [
        "",
        "not json",
        "[]",
        #"{"keys":{}}"#,
        #"{"spiffe_sequence":1}"#,
        #"{"keys":[1]}"#,
        #"{"keys":[],"spiffe_sequence":-1}"#,
        #"{"keys":[],"spiffe_sequence":1.5}"#,
        #"{"keys":[],"spiffe_sequence":"1"}"#,
        #"{"keys":[],"spiffe_refresh_hint":true}"#,
        #"{"keys":[{"kty":"EC","use":"x509-svid","x5c":["not base64!"]}]}"#,
        #"{"keys":[{"kty":"EC","use":"x509-svid","x5c":["AAAA"]}]}"#,
        #"{"keys":[{"kty":"EC","use":"x509-svid","x5c":[7]}]}"#,
        #"{"keys":[{"kty":"EC","use":"jwt-svid"}]}"#,
        #"{"keys":[{"kty":"EC","use":"jwt-svid","kid":""}]}"#,
    ])
    func garbageIsMalformed(_ json: String) {
        #expect(Self.failureReason(json) == .malformed)
    }

    @Test func largeSequenceKeepsSixtyFourBits() throws {
        let document = try Self.parse(#"{"keys":[],"spiffe_sequence":18446744073709551615}"#).get()
        #expect(document.sequence == UInt64.max)
    }

    @Test func aRootOfAnotherTrustDomainIsWrongTrustDomain() throws {
        let own = try SVIDFactory.rootCA(trustDomain: Self.trustDomain, notBefore: at(-60), notAfter: at(86400))
        let foreign = try SVIDFactory.rootCA(trustDomain: "other.example", notBefore: at(-60), notAfter: at(86400))
        let result = Self.parse(#"{"keys":[\#(Self.x509Key(own)),\#(Self.x509Key(foreign))]}"#)
        guard case .failure(let failure) = result else {
            Issue.record("a bundle with a root of other.example was accepted")
            return
        }
        #expect(failure.reason == .wrongTrustDomain)
        #expect(failure.detail.contains("other.example"))
    }

    @Test(arguments: [
        (nil, 300.0, 300.0), (nil, 0.0, 30.0), (nil, 86400.0, 3600.0),
        (45.0, 300.0, 45.0), (1.0, 300.0, 30.0), (7200.0, 300.0, 3600.0),
    ] as [(TimeInterval?, TimeInterval, TimeInterval)])
    func refreshIsBoundedAndTheOverrideWins(override: TimeInterval?, hint: TimeInterval, expected: TimeInterval) throws {
        let document = try Self.parse(#"{"keys":[],"spiffe_refresh_hint":\#(Int(hint))}"#).get()
        #expect(document.refreshInterval(override: override) == expected)
    }

    @Test func reasonsAreAClosedSortedVocabulary() {
        #expect(FederationBundleFailureReason.allCases.map(\.rawValue).sorted() == [
            "body_too_large", "connect", "endpoint_spiffe_id_mismatch", "http_status", "malformed",
            "timeout", "tls", "untrusted", "wrong_trust_domain",
        ])
    }
}

/// `--collector.federation.endpoint NAME=TRUST_DOMAIN=URL[,options]`.
@Suite struct FederationEndpointFlagTests {
    @Test func webProfileIsTheDefault() throws {
        let endpoint = try FederationEndpointConfiguration.parseFlag("partner=partner.example=https://bundle.partner.example:8443/bundle?v=1")
        #expect(endpoint.name == "partner")
        #expect(endpoint.trustDomain == "partner.example")
        #expect(endpoint.host == "bundle.partner.example")
        #expect(endpoint.port == 8443)
        #expect(endpoint.requestTarget == "/bundle?v=1")
        #expect(endpoint.profile == .httpsWeb)
        #expect(endpoint.endpointSPIFFEID == nil)
        #expect(endpoint.caFile == nil)
    }

    @Test func spiffeProfileCarriesTheEndpointID() throws {
        let endpoint = try FederationEndpointConfiguration.parseFlag(
            "partner=partner.example=https://10.0.0.1,profile=https_spiffe,endpoint_spiffe_id=spiffe://partner.example/spire/server")
        #expect(endpoint.port == 443)
        #expect(endpoint.requestTarget == "/")
        #expect(endpoint.profile == .httpsSPIFFE)
        #expect(endpoint.endpointSPIFFEID?.description == "spiffe://partner.example/spire/server")
    }

    @Test func webProfileTakesACAFile() throws {
        let endpoint = try FederationEndpointConfiguration.parseFlag("p=partner.example=https://h/,ca_file=/etc/ca=x.pem")
        #expect(endpoint.caFile == "/etc/ca=x.pem")
    }

    @Test(arguments: [
        "partner=partner.example",
        "partner=partner.example=",
        "1partner=partner.example=https://h/",
        "partner=spiffe://partner.example=https://h/",
        "partner=partner.example=http://h/",
        "partner=partner.example=https:///path",
        "partner=partner.example=https://user@h/",
        "partner=partner.example=https://h:0/",
        "partner=partner.example=https://h/,profile=http",
        "partner=partner.example=https://h/,profile=https_spiffe",
        "partner=partner.example=https://h/,profile=https_spiffe,endpoint_spiffe_id=partner.example/server",
        "partner=partner.example=https://h/,profile=https_spiffe,endpoint_spiffe_id=spiffe://p.example/s,ca_file=/ca.pem",
        "partner=partner.example=https://h/,endpoint_spiffe_id=spiffe://p.example/s",
        "partner=partner.example=https://h/,ca_file=",
        "partner=partner.example=https://h/,timeout=5s",
        "partner=partner.example=https://h/,profile=https_web,profile=https_web",
        "partner=partner.example=https://h/,",
    ])
    func badValuesAreRejected(_ flag: String) {
        #expect(throws: FederationConfigurationError.self) { try FederationEndpointConfiguration.parseFlag(flag) }
    }
}

/// One endpoint's state across fetches: the last good bundle survives failures, failures are
/// counted by reason from zero, retries back off within the refresh interval.
@Suite struct FederationEndpointStateTests {
    static func document(sequence: UInt64, hint: Int) throws -> FederationBundleDocument {
        try FederationBundleDocument.parse(
            Array(#"{"keys":[],"spiffe_sequence":\#(sequence),"spiffe_refresh_hint":\#(hint)}"#.utf8),
            trustDomain: "partner.example"
        ).get()
    }

    @Test func everyReasonStartsAtZero() {
        let state = FederationEndpointState(source: "partner", trustDomain: "partner.example")
        #expect(state.failures.count == FederationBundleFailureReason.allCases.count)
        #expect(state.failures.values.allSatisfy { $0 == 0 })
        #expect(!state.isUp)
    }

    @Test func aFailureKeepsTheLastGoodBundleAndCountsItsReason() throws {
        var state = FederationEndpointState(source: "partner", trustDomain: "partner.example")
        #expect(state.record(.success(try Self.document(sequence: 1, hint: 600)), at: at(0)) == 600)
        #expect(state.isUp)
        let retry = state.record(.failure(.init(.httpStatus, "500")), at: at(600), jitter: 0)
        #expect(retry == 30)
        #expect(!state.isUp)
        #expect(state.document?.sequence == 1)
        #expect(state.lastUpdate == at(0))
        #expect(state.lastFailure?.reason == .httpStatus)
        #expect(state.failures[.httpStatus] == 1)
        #expect(state.failures[.timeout] == 0)
        // Backoff doubles but never passes the refresh hint of the bundle held.
        #expect(state.record(.failure(.init(.timeout, "")), at: at(630), jitter: 0) == 60)
        for _ in 0..<6 { _ = state.record(.failure(.init(.timeout, "")), at: at(700), jitter: 0.99) }
        #expect(state.record(.failure(.init(.timeout, "")), at: at(800), jitter: 0.99) == 600)
        #expect(state.failures[.timeout] == 8)
        // Recovery resets the backoff and replaces the bundle.
        #expect(state.record(.success(try Self.document(sequence: 2, hint: 5)), at: at(900)) == 30)
        #expect(state.isUp)
        #expect(state.document?.sequence == 2)
        #expect(state.lastFailure == nil)
        #expect(state.record(.failure(.init(.connect, "")), at: at(930), jitter: 0) == 30)
    }
}
