import SPIFFEExporterCore
import SVIDFactory
import Testing

@Suite struct DERChainTests {
    @Test func splitsConcatenatedCertificates() throws {
        let pki = try PKI(intermediate: true)
        let parts = try DERChain.split(pki.svid.chainDER + pki.root.der)
        #expect(parts.count == 3)
        #expect(Array(parts[2]) == pki.root.der)
        #expect(try DERChain.split([]).isEmpty)
    }

    @Test func rejectsBrokenInput() {
        #expect(throws: DERChain.SplitError.notASequence(offset: 0)) { try DERChain.split([0x31, 0x00]) }
        #expect(throws: DERChain.SplitError.truncated(offset: 0)) { try DERChain.split([0x30]) }
        #expect(throws: DERChain.SplitError.truncated(offset: 0)) { try DERChain.split([0x30, 0x05, 0x01]) }
        #expect(throws: DERChain.SplitError.unsupportedLength(offset: 0)) { try DERChain.split([0x30, 0x80, 0x00, 0x00]) }
        #expect(throws: DERChain.SplitError.notASequence(offset: 2)) { try DERChain.split([0x30, 0x00, 0xFF]) }
        #expect(throws: DERChain.SplitError.truncated(offset: 0)) { try DERChain.split([0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]) }
    }
}

@Suite struct PEMTests {
    let body = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"

    @Test func toleratesCommentsCRLFAndOtherBlocks() throws {
        let text = "Bag Attributes\n  localKeyID: 01\r\n" + body.replacingOccurrences(of: "\n", with: "\r\n")
            + "\n-----BEGIN PRIVATE KEY-----\nBAUG\n-----END PRIVATE KEY-----\ntrailing text"
        let blocks = try PEM.parse(text)
        #expect(blocks == [PEMBlock(type: "CERTIFICATE", der: [1, 2, 3]), PEMBlock(type: "PRIVATE KEY", der: [4, 5, 6])])
    }

    @Test func errors() {
        #expect(throws: PEM.ParseError.noBlocks) { try PEM.parse("") }
        #expect(throws: PEM.ParseError.noBlocks) { try PEM.parse("just text") }
        #expect(throws: PEM.ParseError.unterminated(type: "CERTIFICATE")) {
            try PEM.parse("-----BEGIN CERTIFICATE-----\nAQID\n")
        }
        #expect(throws: PEM.ParseError.unterminated(type: "CERTIFICATE")) {
            try PEM.parse("-----BEGIN CERTIFICATE-----\nAQID\n" + body)
        }
        #expect(throws: PEM.ParseError.mismatchedEnd(begin: "CERTIFICATE", end: "PRIVATE KEY")) {
            try PEM.parse("-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n")
        }
        #expect(throws: PEM.ParseError.invalidBase64(type: "CERTIFICATE")) {
            try PEM.parse("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
        }
        #expect(throws: PEM.ParseError.emptyBlock(type: "CERTIFICATE")) {
            try PEM.parse("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
        }
    }

    @Test func roundTrip() throws {
        let der = Array(0..<200).map { UInt8($0) }
        let text = PEM.encode(type: "CERTIFICATE", der: der)
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 64 })
        #expect(try PEM.parse(text) == [PEMBlock(type: "CERTIFICATE", der: der)])
    }
}
