import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

/// A root and one SVID issued now (the store's analysis and the scrape use the wall clock).
struct StaticPKI {
    static let spiffeID = "spiffe://example.org/ns/test/sa/web"

    let root: IssuedCA
    let svid: IssuedSVID

    init(spiffeID: String = StaticPKI.spiffeID) throws {
        let now = Date()
        root = try SVIDFactory.rootCA(
            trustDomain: "example.org", notBefore: now.addingTimeInterval(-3600),
            notAfter: now.addingTimeInterval(86400))
        svid = try SVIDFactory.svid(
            spiffeID: spiffeID, issuer: root, notBefore: now.addingTimeInterval(-10),
            notAfter: now.addingTimeInterval(3600))
    }

    var bundle: TrustBundle { TrustBundle(trustDomain: "example.org", certificates: [root.certificate]) }

    func entry(chainDER: [UInt8]? = nil) async -> IdentityStore.Entry {
        let material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: svid.spiffeID, hint: "", chainDER: chainDER ?? svid.chainDER, keyDER: svid.keyPKCS8DER)
        let bundles = BundleSet(own: bundle)
        let report = await X509SVIDAnalyzer.analyze(material, bundles: bundles, now: Date())
        return IdentityStore.Entry(material: material, bundles: bundles, report: report)
    }
}

/// Label values come from the wire (SPIFFE IDs, trust domain keys); whatever they hold, the
/// exposition must stay parseable.
@Suite("Exposition safety", .timeLimit(.minutes(1)))
struct ExpositionSafetyTests {
    static let hostileIDs = [
        "spiffe://example.org/quote\"} 1\nfake_metric{a=\"b",
        "spiffe://example.org/back\\slash\\",
        "spiffe://example.org/new\nline\r\nand\ttab",
        "spiffe://example.org/ünïcødé/🙂",
    ]

    @Test("hostile SPIFFE IDs and trust domains are escaped: promtool accepts the exposition")
    func hostileLabelValues() async throws {
        let exporter = Exporter()
        let pki = try StaticPKI()
        var entries: [IdentityStore.Entry] = []
        for (index, id) in Self.hostileIDs.enumerated() {
            // Alternate valid and broken SVIDs so the problem series carry the hostile value too.
            var entry = await pki.entry(chainDER: index.isMultiple(of: 2) ? nil : Array("not DER".utf8))
            entry.report.spiffeID = id
            entries.append(entry)
        }
        let hostileDomain = "evil\"domain\\\n"
        exporter.store.replaceSVIDs(
            source: exporter.source, entries: entries,
            bundles: ["example.org": pki.bundle, hostileDomain: pki.bundle], now: Date())

        for format in [ExpositionFormat.prometheusText, .openMetrics] {
            let text = await exporter.scrapeText(format)
            // No label value leaks a raw newline: every line is a comment or a sample.
            let scrape = Scrape(text: text)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            for line in lines where !line.hasPrefix("#") {
                #expect((try? Scrape.parse(line: line)) != nil, "unparseable line: \(line)")
            }
            #expect(!text.contains("\nfake_metric"))
            let ids = Set(scrape.samples("spiffe_x509_svid_valid").compactMap { $0.labels["spiffe_id"] })
            // The parser undoes exactly \\, \" and \n; a raw \r or \t passes through unescaped.
            #expect(ids == Set(Self.hostileIDs))
            let problemIDs = Set(scrape.samples("spiffe_x509_svid_problem").compactMap { $0.labels["spiffe_id"] })
            #expect(problemIDs == [Self.hostileIDs[1], Self.hostileIDs[3]])
            let domains = Set(
                scrape.samples("spiffe_trust_bundle_certificates").compactMap { $0.labels["trust_domain"] })
            #expect(domains == ["example.org", hostileDomain])

            if format == .prometheusText {
                let check = try await promtoolCheck(text)
                #expect(check.status == 0, "promtool check metrics: \(check.output)\n\(text)")
            } else {
                #expect(text.hasSuffix("# EOF\n"))
            }
        }
    }
}
