import SPIFFEExporterCore
import Testing

@Suite struct SPIFFEIDTests {
    @Test(arguments: [
        ("spiffe://example.org/ns/default/sa/web", "example.org", "/ns/default/sa/web"),
        ("spiffe://example.org", "example.org", ""),
        ("spiffe://1.2.3.4/x", "1.2.3.4", "/x"),
        ("spiffe://a_b-c.d/A.b-C_9", "a_b-c.d", "/A.b-C_9"),
        ("spiffe://td/..a/a..", "td", "/..a/a.."),
    ])
    func valid(_ text: String, _ domain: String, _ path: String) throws {
        let id = try SPIFFEID(parsing: text)
        #expect(id.trustDomain == domain)
        #expect(id.path == path)
        #expect(id.description == text)
        #expect(id.isTrustDomainID == path.isEmpty)
    }

    @Test(arguments: [
        ("", SPIFFEIDError.empty),
        ("http://example.org/x", .wrongScheme),
        ("SPIFFE://example.org/x", .wrongScheme),
        ("spiffe:/example.org/x", .wrongScheme),
        ("spiffe://", .missingTrustDomain),
        ("spiffe:///path", .missingTrustDomain),
        ("spiffe://Example.org/x", .uppercaseTrustDomain),
        ("spiffe://example.org:8080/x", .portNotAllowed),
        ("spiffe://user@example.org/x", .userInfoNotAllowed),
        ("spiffe://exa mple.org", .badTrustDomainCharacter),
        ("spiffe://[::1]/x", .badTrustDomainCharacter),
        ("spiffe://exämple.org", .badTrustDomainCharacter),
        ("spiffe://example.org?x=1", .queryNotAllowed),
        ("spiffe://example.org#frag", .fragmentNotAllowed),
        ("spiffe://example.org/a?x=1", .queryNotAllowed),
        ("spiffe://example.org/a#frag", .fragmentNotAllowed),
        ("spiffe://example.org/a//b", .emptySegment),
        ("spiffe://example.org//", .emptySegment),
        ("spiffe://example.org/", .trailingSlash),
        ("spiffe://example.org/a/", .trailingSlash),
        ("spiffe://example.org/./a", .dotSegment),
        ("spiffe://example.org/a/..", .dotSegment),
        ("spiffe://example.org/a%20b", .percentEncodingNotAllowed),
        ("spiffe://example.org/a:b", .badPathCharacter),
        ("spiffe://example.org/a~b", .badPathCharacter),
        ("spiffe://example.org/ä", .badPathCharacter),
    ])
    func invalid(_ text: String, _ expected: SPIFFEIDError) {
        #expect(throws: expected) { try SPIFFEID(parsing: text) }
    }

    @Test func lengthLimits() throws {
        let longDomain = String(repeating: "a", count: 256)
        #expect(throws: SPIFFEIDError.trustDomainTooLong(256)) { try SPIFFEID(parsing: "spiffe://\(longDomain)") }
        let okDomain = String(repeating: "a", count: 255)
        #expect(try SPIFFEID(parsing: "spiffe://\(okDomain)").trustDomain == okDomain)
        let path = "/" + String(repeating: "p", count: 2048 - "spiffe://td/".count)
        #expect(try SPIFFEID(parsing: "spiffe://td\(path)").path == path)
        #expect(throws: SPIFFEIDError.tooLong(2049)) { try SPIFFEID(parsing: "spiffe://td\(path)x") }
    }

    @Test func trustDomainKeysInBothSpellings() throws {
        #expect(try SPIFFEID.trustDomain(parsing: "spiffe://example.org") == "example.org")
        #expect(try SPIFFEID.trustDomain(parsing: "example.org") == "example.org")
        #expect(throws: SPIFFEIDError.trustDomainIDHasPath) { try SPIFFEID.trustDomain(parsing: "spiffe://example.org/x") }
        #expect(throws: SPIFFEIDError.uppercaseTrustDomain) { try SPIFFEID.trustDomain(parsing: "Example.org") }
    }

    @Test func everyErrorHasAMessage() {
        let errors: [SPIFFEIDError] = [
            .empty, .tooLong(3000), .wrongScheme, .missingTrustDomain, .trustDomainTooLong(300), .uppercaseTrustDomain,
            .badTrustDomainCharacter, .portNotAllowed, .userInfoNotAllowed, .queryNotAllowed, .fragmentNotAllowed,
            .emptySegment, .dotSegment, .trailingSlash, .percentEncodingNotAllowed, .badPathCharacter,
            .trustDomainIDHasPath,
        ]
        #expect(Set(errors.map(\.description)).count == errors.count)
    }
}
