import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

/// Property test: label values taken from input (SPIFFE IDs, trust domains, JWT audiences, file
/// paths) are random strings full of quotes, backslashes, newlines, braces and bytes that are not
/// UTF-8 (decoded with replacement, as the exporter decodes what it reads); every exposition must
/// pass `promtool check metrics` and give the values back unchanged. Extends
/// ExpositionSafetyTests (fixed hostile values) with many random ones.
@Suite("Hostile label values (property)", .timeLimit(.minutes(1)))
struct HostileLabelTests {
    static let alphabet: [UInt8] = Array("\"\\\n{}=,# a/é".utf8) + [0x00, 0x01, 0x7F, 0x80, 0xC3, 0xFF, 0xED, 0xA0]

    static func hostileString(using random: inout SplitMix64) -> String {
        let count = Int.random(in: 0...24, using: &random)
        var bytes: [UInt8] = []
        for _ in 0..<count {
            bytes.append(
                Bool.random(using: &random)
                    ? alphabet.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Lines of the exposition as bytes: splitting Characters would fuse a quote with a combining
    /// mark that follows it.
    static func lines(_ text: String) -> [ArraySlice<UInt8>] {
        Array(text.utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    }

    /// Undoes the text format's label escaping (`\\`, `\"`, `\n`) of label `name` of `metric`.
    static func labelValues(_ name: String, metric: String, in text: String) -> Set<String> {
        var values: Set<String> = []
        let prefix = Array((metric + "{").utf8)
        let key = Array((name + "=\"").utf8)
        for line in lines(text) where line.starts(with: prefix) {
            let bytes = Array(line)
            guard let start = (0...(bytes.count - key.count)).first(where: { bytes[$0..<($0 + key.count)].elementsEqual(key) })
            else { continue }
            var value: [UInt8] = []
            var index = start + key.count
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    index += 1
                    value.append(bytes[index] == UInt8(ascii: "n") ? UInt8(ascii: "\n") : bytes[index])
                } else {
                    value.append(bytes[index])
                }
                index += 1
            }
            values.insert(String(decoding: value, as: UTF8.self))
        }
        return values
    }

    @Test("random hostile SPIFFE IDs, trust domains, audiences and paths keep the exposition valid")
    func randomLabelValues() async throws {
        let now = Date()
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now - 3600, notAfter: now + 86400)
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/w", issuer: root, notBefore: now - 10, notAfter: now + 3600)
        let bundle = TrustBundle(trustDomain: "example.org", certificates: [root.certificate])
        let material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: svid.keyPKCS8DER)
        let baseReport = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: bundle), now: now)
        var random = SplitMix64(seed: 20_261_124)

        for round in 0..<20 {
            let exporter = ExporterHarness()
            let store = exporter.store
            let registry = exporter.registry
            let metrics = exporter.metrics
            let ids = (0..<4).map { _ in "spiffe://example.org/" + Self.hostileString(using: &random) }
            let domains = (0..<2).map { _ in Self.hostileString(using: &random) }
            let audiences = (0..<2).map { _ in Self.hostileString(using: &random) }
            let paths = (0..<2).map { _ in "/etc/" + Self.hostileString(using: &random) }

            var entries: [IdentityStore.Entry] = []
            for id in ids {
                var report = baseReport
                report.spiffeID = id
                entries.append(IdentityStore.Entry(material: material, bundles: BundleSet(own: bundle), report: report))
            }
            var bundles: [String: TrustBundle] = [:]
            for domain in domains { bundles[domain] = bundle }
            store.replaceSVIDs(source: "workload_api", entries: entries, bundles: bundles, now: now)
            let jwt = JWTSVIDAnalyzer.analyze(token: "not.a.jwt", reportedSPIFFEID: ids[0], audiences: audiences, bundles: [:])
            store.replaceJWTSVIDs(
                source: "workload_api", audience: jwt.audience,
                entries: [IdentityStore.JWTEntry(token: "not.a.jwt", reportedSPIFFEID: ids[0], audiences: audiences, report: jwt)],
                now: now)
            for path in paths {
                registry.set(MetricCatalog.certificateExpiry, ["certs", path], to: 1)
            }

            let text = String(decoding: await metrics.scrape(format: .prometheusText, now: now), as: UTF8.self)
            let check = try await promtoolCheck(text)
            #expect(check.status == 0, "round \(round): promtool check metrics: \(check.output)")
            for line in Self.lines(text) where !line.isEmpty && line.first != UInt8(ascii: "#") {
                #expect(line.starts(with: Array("spiffe_".utf8)), "round \(round): a label value broke a line")
            }
            #expect(Self.labelValues("spiffe_id", metric: "spiffe_x509_svid_valid", in: text) == Set(ids))
            #expect(Self.labelValues("trust_domain", metric: "spiffe_trust_bundle_certificates", in: text) == Set(domains))
            #expect(Self.labelValues("path", metric: "spiffe_certificate_expiry_timestamp_seconds", in: text) == Set(paths))
            let audienceLabels = Self.labelValues("audience", metric: "spiffe_jwt_svid_problem", in: text)
                .union(Self.labelValues("audience", metric: "spiffe_jwt_svid_valid", in: text))
            #expect(audienceLabels.contains(JWTSVIDAnalyzer.audienceLabel(audiences)), "round \(round)")

            let open = String(decoding: await metrics.scrape(format: .openMetrics, now: now), as: UTF8.self)
            #expect(open.hasSuffix("# EOF\n"))
            #expect(Self.labelValues("spiffe_id", metric: "spiffe_x509_svid_valid", in: open) == Set(ids))
        }
    }
}
