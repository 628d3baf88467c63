import Foundation
import SPIFFEExporterCore
import TestKit
import Testing

@Suite struct SPIFFEIDLabelsTests {
    func labels(_ pairs: [(String, String)]) throws -> SPIFFEIDLabels {
        try SPIFFEIDLabels(pairs.map { try SPIFFEIDLabels.Label(name: $0.0, pattern: $0.1) })
    }

    @Test func firstCaptureGroupOrEmpty() throws {
        let derived = try labels([("namespace", "^spiffe://[^/]+/ns/([^/]+)/"), ("service_account", "/sa/([^/]+)$")])
        #expect(derived.values(for: "spiffe://example.org/ns/payments/sa/api") == ["payments", "api"])
        #expect(derived.values(for: "spiffe://example.org/workload") == ["", ""])
        // A group that takes no part in the match is empty too.
        let optional = try labels([("team", "/team/(x)?")])
        #expect(optional.values(for: "spiffe://example.org/team/") == [""])
    }

    @Test(arguments: [
        ("0abc", "(x)"), ("__name", "(x)"), ("bad-name", "(x)"), ("", "(x)"), ("source", "(x)"), ("spiffe_id", "(x)"),
        ("reason", "(x)"), ("pattern", "(x)"), ("job", "(x)"), ("team", "no group"), ("team", "(unclosed"),
        ("team", "[z-a]("),
    ])
    func hostileDefinitionsAreRefused(name: String, pattern: String) {
        #expect(throws: SPIFFEIDLabelError.self) { try SPIFFEIDLabels.Label(name: name, pattern: pattern) }
    }

    @Test func atMostFiveAndEachOnce() throws {
        let five = try (1...5).map { try SPIFFEIDLabels.Label(name: "l\($0)", pattern: "(x)") }
        #expect(try SPIFFEIDLabels(five).names.count == 5)
        #expect(throws: SPIFFEIDLabelError.self) {
            try SPIFFEIDLabels(five + [try SPIFFEIDLabels.Label(name: "l6", pattern: "(x)")])
        }
        #expect(throws: SPIFFEIDLabelError.self) { try SPIFFEIDLabels([five[0], five[0]]) }
    }

    @Test func reservedNamesCoverEveryCatalogLabel() {
        #expect(MetricCatalog.labelVocabulary.isSubset(of: SPIFFEIDLabels.reservedNames))
        #expect(MetricCatalog.labelVocabulary.contains("pattern"))
    }

    @Test func everySPIFFEIDSeriesGetsTheLabelsEscapedAndNoOtherDoes() async throws {
        let derived = try labels([("namespace", "/ns/([^/]+)")])
        // A hostile ID from the Workload API's spiffe_id field (the certificate does not decode).
        let report = await X509SVIDAnalyzer.analyze(
            X509SVIDMaterial.fromWorkloadAPI(
                spiffeID: "spiffe://example.org/ns/pay\"ments/sa/api", hint: "", chainDER: [1], keyDER: []),
            bundles: BundleSet(own: try PKI().bundle), now: referenceTime)
        var tracker = ExpectedIdentityTracker(
            expectations: [try ExpectedIdentity(parsing: "spiffe://example.org/ns/prod/sa/web")], startedAt: at(0))
        func render(_ derived: SPIFFEIDLabels, cache: IdentityRenderCache? = nil) -> [String] {
            var builder = ScrapeBuilder(spiffeIDLabels: derived)
            IdentityMetrics.collect(
                [
                    SourceSnapshot(
                        source: "s", svids: [report],
                        bundles: ["example.org": TrustBundle(trustDomain: "example.org", certificates: [])])
                ], now: at(600), cache: cache, into: &builder)
            IdentityMetrics.collect(expected: tracker.evaluate(held: [], refused: [], now: at(600)), into: &builder)
            return String(decoding: builder.render(.prometheusText), as: UTF8.self).split(separator: "\n")
                .filter { !$0.hasPrefix("#") }.map(String.init)
        }
        let plain = render(.none)
        let wide = render(derived)
        // Same series, each with the label right after spiffe_id when it has one.
        #expect(plain.count == wide.count)
        for (a, b) in zip(plain, wide) {
            if a.contains("spiffe_id=") {
                #expect(b.contains(#"spiffe_id="spiffe://example.org/ns/pay\"ments/sa/api",namespace="pay\"ments""#)
                    || b.contains(#"spiffe_id="spiffe://example.org/ns/prod/sa/web",namespace="prod""#), "\(b)")
            } else {
                #expect(a == b)
            }
        }
        #expect(wide.contains { $0.hasPrefix("spiffe_x509_svid_problem{") && $0.contains(#"namespace="pay\"ments",reason="#) })
        // The render cache does not serve text rendered without the labels.
        let cache = IdentityRenderCache()
        _ = render(.none, cache: cache)
        #expect(render(derived, cache: cache) == wide)
    }

    @Test func widenedDescriptorsPutDerivedLabelsAfterSPIFFEID() throws {
        let derived = try labels([("team", "(x)")])
        #expect(derived.widen(MetricCatalog.x509SVIDProblem).labels == ["source", "spiffe_id", "team", "reason"])
        #expect(derived.widen(MetricCatalog.bundleCertificates).labels == MetricCatalog.bundleCertificates.labels)
        #expect(MetricCatalog.spiffeIDLabelledFamilies.contains(MetricCatalog.expectedIdentityPresent))
        #expect(!MetricCatalog.spiffeIDLabelledFamilies.contains(MetricCatalog.expectedIdentitiesMatched))
    }
}
