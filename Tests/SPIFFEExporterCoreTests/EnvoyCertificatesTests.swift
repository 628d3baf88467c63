import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

/// Envoy's admin `/certs` JSON (Envoy 1.40's shape, written here), the report drawn from it, the
/// "current" verdict against the newest SVID known elsewhere, and the rendered series.
@Suite struct EnvoyCertificatesTests {
    static let web = "spiffe://example.org/web"
    static let db = "spiffe://example.org/db"

    /// One certificate as Envoy prints it; `sans` are raw JSON objects.
    static func details(
        serial: String = "1f", sans: [String], from: String, to: String, path: String = "/etc/certs/svid.pem"
    ) -> String {
        """
        {"path":"\(path)","serial_number":"\(serial)","subject_alt_names":[\(sans.joined(separator: ","))],\
        "days_until_expiration":"3","valid_from":"\(from)","expiration_time":"\(to)"}
        """
    }

    static func uri(_ value: String) -> String { "{\"uri\":\"\(value)\"}" }

    static func body(_ contexts: [(ca: [String], chain: [String])]) -> [UInt8] {
        let entries = contexts.map { "{\"ca_cert\":[\($0.ca.joined(separator: ","))],\"cert_chain\":[\($0.chain.joined(separator: ","))]}" }
        return Array("{\"certificates\":[\(entries.joined(separator: ","))]}".utf8)
    }

    static func parsed(_ bytes: [UInt8]) throws -> EnvoyCertificates {
        try EnvoyCertificates.parse(bytes, now: referenceTime).get()
    }

    static func reason(_ bytes: [UInt8]) -> EnvoyFailureReason? {
        if case .failure(let failure) = EnvoyCertificates.parse(bytes, now: referenceTime) { return failure.reason }
        return nil
    }

    @Test func readsLeavesAndCAsOfEveryContext() throws {
        let ca = Self.details(
            serial: "01", sans: [Self.uri("spiffe://example.org")], from: "2029-12-01T00:00:00Z", to: "2030-06-01T00:00:00Z")
        let listener = Self.details(
            serial: "0abc", sans: [Self.uri(Self.web), "{\"dns\":\"web.local\"}"], from: "2029-12-31T23:00:00Z",
            to: "2030-01-01T01:00:00Z")
        let upstream = Self.details(
            serial: "0abd", sans: [Self.uri(Self.web)], from: "2029-12-31T22:00:00.5Z", to: "2030-01-01T00:30:00.250Z")
        let other = Self.details(
            serial: "0abe", sans: [Self.uri(Self.db)], from: "2029-12-31T23:00:00Z", to: "2030-01-01T02:00:00+01:00")
        let report = try Self.parsed(Self.body([([ca], [listener]), ([], [upstream]), ([ca], [other])]))
        #expect(report.certificateCount == 5)
        let svids = report.svids
        #expect(svids.map(\.spiffeID) == [Self.db, Self.web])
        // The earliest NotAfter of the two web SVIDs (listener and upstream cluster), with its own NotBefore.
        #expect(svids[1].earliest.notAfter == at(1800.25))
        #expect(svids[1].earliest.notBefore == at(-7200 + 0.5))
        #expect(svids[1].leaves.count == 2)
        #expect(svids[0].earliest.notAfter == at(3600))
        #expect(report.caExpiryByTrustDomain == ["example.org": Date(timeIntervalSince1970: 1_906_502_400)])
    }

    @Test func aCAWithoutSPIFFEIDTakesItsContextsTrustDomain() throws {
        let plainCA = Self.details(sans: [], from: "2029-01-01T00:00:00Z", to: "2030-02-01T00:00:00Z")
        let earlierCA = Self.details(sans: [], from: "2029-01-01T00:00:00Z", to: "2030-01-15T00:00:00Z")
        let leaf = Self.details(sans: [Self.uri("spiffe://other.org/x")], from: "2029-12-31T00:00:00Z", to: "2030-01-02T00:00:00Z")
        let mixed = [
            Self.details(sans: [Self.uri("spiffe://a.org/x")], from: "2029-12-31T00:00:00Z", to: "2030-01-02T00:00:00Z"),
            Self.details(sans: [Self.uri("spiffe://b.org/x")], from: "2029-12-31T00:00:00Z", to: "2030-01-02T00:00:00Z"),
        ]
        let report = try Self.parsed(Self.body([([plainCA, earlierCA], [leaf]), ([plainCA], mixed), ([plainCA], [])]))
        // Two trust domains in one context, or none: the CA is counted but attributed to none.
        #expect(report.caExpiryByTrustDomain == ["other.org": at(14 * 86400)])
        #expect(report.certificateCount == 7)
    }

    @Test func intermediatesAndNonSPIFFECertificatesAreNoSVIDs() throws {
        let leaf = Self.details(sans: [Self.uri(Self.web)], from: "2029-12-31T00:00:00Z", to: "2030-01-02T00:00:00Z")
        let intermediate = Self.details(
            sans: [Self.uri("spiffe://example.org")], from: "2029-12-01T00:00:00Z", to: "2030-01-01T12:00:00Z")
        let web = Self.details(sans: ["{\"dns\":\"example.com\"}", Self.uri("https://example.com/")], from: "2029-12-31T00:00:00Z", to: "2031-01-01T00:00:00Z")
        let report = try Self.parsed(Self.body([([], [leaf, intermediate]), ([], [web])]))
        #expect(report.svids.map(\.spiffeID) == [Self.web])
        #expect(report.certificateCount == 3)
    }

    @Test func emptyAndMissingListsAreFine() throws {
        #expect(try Self.parsed(Array("{\"certificates\":[]}".utf8)).certificateCount == 0)
        let report = try Self.parsed(Array("{\"certificates\":[{},{\"ca_cert\":[]},{\"cert_chain\":null}]}".utf8))
        #expect(report.contexts.count == 3)
        #expect(report.svids.isEmpty)
        #expect(report.caExpiryByTrustDomain.isEmpty)
    }

    @Test func badInputIsMalformedNeverACrash() {
        let inputs: [String] = [
            "",
            "   ",
            "<!DOCTYPE html><html><body>Envoy Admin</body></html>",
            "\u{0}\u{1}\u{2}garbage",
            "{",
            "[]",
            "{\"certificates\":{}}",
            "{\"certificates\":\"all\"}",
            "{}",
            "{\"stats\":[]}",
            "{\"certificates\":[{\"cert_chain\":[{\"serial_number\":\"1\"}]}]}",
            "{\"certificates\":[{\"cert_chain\":[{\"valid_from\":\"2029-01-01T00:00:00Z\",\"expiration_time\":1e308}]}]}",
            "{\"certificates\":[{\"cert_chain\":[{\"valid_from\":\"2029-01-01T00:00:00Z\",\"expiration_time\":\"99999-01-01T00:00:00Z\"}]}]}",
            "{\"certificates\":[{\"cert_chain\":[{\"valid_from\":\"2029-02-30T00:00:00Z\",\"expiration_time\":\"2030-01-01T00:00:00Z\"}]}]}",
            "{\"certificates\":[{\"cert_chain\":[{\"valid_from\":\"yesterday\",\"expiration_time\":\"2030-01-01T00:00:00Z\"}]}]}",
            "{\"certificates\":[{\"ca_cert\":[{\"valid_from\":\"2029-01-01T00:00:00Z\",\"expiration_time\":\"2030-01-01T25:00:00Z\"}]}]}",
            "{\"certificates\":[{\"cert_chain\":[{\"valid_from\":\"2029-01-01T00:00:00Z\",\"expiration_time\":\"2030-01-01T00:00:00Z\",\"subject_alt_names\":\"spiffe://x/y\"}]}]}",
            "{\"certificates\":[1,2,3]}",
            String(repeating: "[", count: 100_000),
            "{\"certificates\":" + String(repeating: "[", count: 100_000),
        ]
        for input in inputs {
            #expect(Self.reason(Array(input.utf8)) == .malformed, "\(input.prefix(60))")
        }
    }

    @Test func hugeNumbersInIgnoredFieldsAndUnknownFieldsAreIgnored() throws {
        let leaf = """
            {"serial_number":"ff","days_until_expiration":184467440737095516150000,"subject_alt_names":[{"uri":"\(Self.web)","other":[1e999]}],\
            "valid_from":"2029-12-31T00:00:00Z","expiration_time":"2030-01-02T00:00:00Z","extra":{"a":[null,true]}}
            """
        let report = try Self.parsed(Array("{\"certificates\":[{\"cert_chain\":[\(leaf)]}],\"next\":1}".utf8))
        #expect(report.svids.map(\.spiffeID) == [Self.web])
    }

    @Test func hostileSANsNeverBecomeLabels() throws {
        let hostile = [
            "spiffe://example.org/a\\\"b\\nc", "spiffe://EXAMPLE.org/x", "spiffe://exa mple.org/x", "spiffe://example.org/../x",
            "spiffe://example.org/x?y=1", "spiffe://example.org/%41", "spiffe://", "SPIFFE://example.org/x",
            "spiffe://example.org/" + String(repeating: "a", count: 5000), "spiffe://example.org/\\u0000",
            "spiffe://ex\\u00e4mple.org/x",
        ]
        let leaves = hostile.map {
            Self.details(sans: [Self.uri($0)], from: "2029-12-31T00:00:00Z", to: "2030-01-02T00:00:00Z")
        }
        let report = try Self.parsed(Self.body([([], leaves)]))
        #expect(report.svids.isEmpty)
        #expect(report.certificateCount == hostile.count)
        // A hostile serial number is never compared as given.
        let odd = Self.details(serial: "zz<script>", sans: [Self.uri(Self.web)], from: "2029-12-31T00:00:00Z", to: "2030-01-02T00:00:00Z")
        #expect(try Self.parsed(Self.body([([], [odd])])).svids.first?.earliest.serialNumber == "")
    }

    @Test func anOversizedBodyIsTooLarge() {
        let bytes = [UInt8](repeating: UInt8(ascii: " "), count: EnvoyCertificates.maximumBodySize + 1)
        #expect(Self.reason(bytes) == .bodyTooLarge)
    }

    @Test func everyReasonHasAHint() {
        #expect(EnvoyFailureReason.allCases.map(\.rawValue) == ["connect", "timeout", "http_status", "body_too_large", "malformed"])
        for reason in EnvoyFailureReason.allCases { #expect(!reason.hint.isEmpty) }
    }
}

/// The "current" rule is the probe's (``ServedSVIDFreshness``), applied to each leaf Envoy holds.
@Suite struct EnvoyFreshnessTests {
    let root: IssuedCA
    let old: IssuedSVID
    let new: IssuedSVID

    init() throws {
        root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-86400), notAfter: at(86400))
        old = try SVIDFactory.svid(spiffeID: EnvoyCertificatesTests.web, issuer: root, notBefore: at(-3600), notAfter: at(3600))
        new = try SVIDFactory.svid(spiffeID: EnvoyCertificatesTests.web, issuer: root, notBefore: at(-60), notAfter: at(7140))
    }

    func envoyLeaf(_ svid: IssuedSVID, serial: String? = nil) -> EnvoyCertificate {
        let facts = CertificateFacts(svid.leaf)
        // Envoy prints no leading zero byte; the comparison must not care.
        let printed = serial ?? String(facts.serialNumber.drop { $0 == "0" }).uppercased()
        return EnvoyCertificate(
            serialNumber: printed, spiffeIDs: [(try? SPIFFEID(parsing: svid.spiffeID))].compactMap { $0 }, notBefore: facts.notBefore,
            notAfter: facts.notAfter)
    }

    @Test func theNewestIsCurrentAnOlderOneStale() {
        let newest = CertificateFacts(new.leaf)
        #expect(EnvoySVID(spiffeID: new.spiffeID, leaf: envoyLeaf(new)).freshness(newest: newest) == .current)
        #expect(EnvoySVID(spiffeID: old.spiffeID, leaf: envoyLeaf(old)).freshness(newest: newest) == .stale(since: at(-60)))
        // One stale copy (a static listener) makes the ID stale even when another context reloaded.
        let both = EnvoySVID(spiffeID: old.spiffeID, leaf: envoyLeaf(old), more: [envoyLeaf(new)])
        #expect(both.freshness(newest: newest) == .stale(since: at(-60)))
        #expect(both.freshness(newest: nil) == .unknown)
    }

    @Test func aLeafNewerThanTheOtherSourcesKnowIsCurrent() {
        #expect(EnvoySVID(spiffeID: new.spiffeID, leaf: envoyLeaf(new)).freshness(newest: CertificateFacts(old.leaf)) == .current)
    }

    @Test func theSameSerialIsCurrentWhateverItsSpelling() {
        let facts = CertificateFacts(new.leaf)
        let leaf = EnvoyCertificate(
            serialNumber: "00" + facts.serialNumber.uppercased(), spiffeIDs: [], notBefore: at(-99999), notAfter: at(1))
        #expect(EnvoySVID(spiffeID: new.spiffeID, leaf: leaf).freshness(newest: facts) == .current)
        let unknownSerial = EnvoyCertificate(serialNumber: "", spiffeIDs: [], notBefore: at(-99999), notAfter: at(1))
        #expect(EnvoySVID(spiffeID: new.spiffeID, leaf: unknownSerial).freshness(newest: facts) == .stale(since: at(-60)))
    }

    @Test func rendersTheSeries() throws {
        let certificates = EnvoyCertificates(
            contexts: [
                EnvoyTLSContext(
                    caCertificates: [
                        EnvoyCertificate(
                            serialNumber: "1", spiffeIDs: [try SPIFFEID(parsing: "spiffe://example.org")], notBefore: at(-86400),
                            notAfter: at(86400))
                    ], chain: [envoyLeaf(old)]),
                EnvoyTLSContext(caCertificates: [], chain: [envoyLeaf(new)]),
            ], observedAt: referenceTime)
        let reading = EnvoyReading(
            source: "edge", certificates: certificates,
            freshness: [EnvoyCertificatesTests.web: certificates.svids[0].freshness(newest: CertificateFacts(new.leaf))])
        var builder = ScrapeBuilder()
        EnvoyMetrics.collect([reading], into: &builder)
        let text = String(decoding: builder.render(.prometheusText), as: UTF8.self)
        #expect(text.contains("spiffe_envoy_certificates{source=\"edge\"} 3\n"))
        #expect(text.contains("spiffe_envoy_svid_expiry_timestamp_seconds{source=\"edge\",spiffe_id=\"spiffe://example.org/web\"} 1893459600\n"))
        #expect(text.contains("spiffe_envoy_svid_current{source=\"edge\",spiffe_id=\"spiffe://example.org/web\"} 0\n"))
        #expect(text.contains("spiffe_envoy_ca_expiry_timestamp_seconds{source=\"edge\",trust_domain=\"example.org\"} 1893542400\n"))
    }
}

@Suite struct RFC3339ParsingTests {
    @Test func parsesProtobufTimestamps() {
        #expect(RFC3339.date(from: "2030-01-01T00:00:00Z") == referenceTime)
        #expect(RFC3339.date(from: "2030-01-01T00:00:00.000000001Z")!.timeIntervalSince(referenceTime) < 1e-6)
        #expect(RFC3339.date(from: "2030-01-01T01:00:00+01:00") == referenceTime)
        #expect(RFC3339.date(from: "2029-12-31T19:00:00-05:00") == referenceTime)
        #expect(RFC3339.date(from: "2028-02-29T00:00:00Z") != nil)
        #expect(RFC3339.date(from: "1970-01-01T00:00:00Z") == Date(timeIntervalSince1970: 0))
        #expect(RFC3339.date(from: "0001-01-01T00:00:00Z") == Date(timeIntervalSince1970: -62_135_596_800))
        #expect(RFC3339.date(from: "9999-12-31T23:59:59Z") == Date(timeIntervalSince1970: 253_402_300_799))
        for date in [referenceTime, at(12345), Date(timeIntervalSince1970: 951_782_400)] {
            #expect(RFC3339.date(from: RFC3339.string(from: date)) == date)
        }
    }

    @Test func rejectsAnythingElse() {
        for text in [
            "", "2030-01-01", "2030-01-01T00:00:00", "2030-13-01T00:00:00Z", "2029-02-29T00:00:00Z", "2030-01-01T24:00:00Z",
            "2030-01-01T00:60:00Z", "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00Zjunk", "+2030-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z", "2030-01-01T00:00:00+25:00", "２０３０-01-01T00:00:00Z", "2030-01-01T00:00:00.0000000000000000000000000Z",
        ] {
            #expect(RFC3339.date(from: text) == nil, "\(text)")
        }
    }
}
