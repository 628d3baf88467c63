import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

@Suite struct IdentityMetricsTests {
    @Test func rendersPerIdentitySeriesAtTheGivenInstant() async throws {
        let pki = try PKI()
        let good = await pki.analyze()
        let bad = await X509SVIDAnalyzer.analyze(
            X509SVIDMaterial.fromWorkloadAPI(spiffeID: "spiffe://example.org/broken", hint: "", chainDER: [1], keyDER: []),
            bundles: BundleSet(own: pki.bundle), now: referenceTime)
        let snapshot = SourceSnapshot(
            source: "workload_api", svids: [good, bad],
            bundles: ["example.org": TrustBundle(trustDomain: "example.org", certificates: [pki.root.certificate])])
        var builder = ScrapeBuilder()
        IdentityMetrics.collect([snapshot], now: at(600), into: &builder)
        let lines = String(decoding: builder.render(.prometheusText), as: UTF8.self)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        let web = #"{source="workload_api",spiffe_id="spiffe://example.org/ns/prod/sa/web"}"#
        let broken = #"{source="workload_api",spiffe_id="spiffe://example.org/broken"}"#
        let td = #"{source="workload_api",trust_domain="example.org"}"#
        let ca = CertificateFacts(pki.root.certificate).identifier
        #expect(ca.count == 40)  // SHA-1 subject key identifier, hex
        #expect(
            lines == [
                // The good SVID ends the source's (and node's) outage budget; the unreadable one has no expiry.
                "spiffe_node_outage_budget_seconds 3000",
                #"spiffe_outage_budget_limit_info{source="workload_api",spiffe_id="spiffe://example.org/ns/prod/sa/web",kind="x509_svid"} 1"#,
                #"spiffe_outage_budget_seconds{source="workload_api"} 3000"#,
                #"spiffe_trust_bundle_ca_expiry_timestamp_seconds{source="workload_api",trust_domain="example.org",ca="\#(ca)"} \#(Int(at(23 * 3600).timeIntervalSince1970))"#,
                "spiffe_trust_bundle_certificates\(td) 1",
                "spiffe_trust_bundle_earliest_expiry_timestamp_seconds\(td) \(Int(at(23 * 3600).timeIntervalSince1970))",
                "spiffe_trust_bundle_latest_expiry_timestamp_seconds\(td) \(Int(at(23 * 3600).timeIntervalSince1970))",
                "spiffe_trust_bundle_valid_certificates\(td) 1",
                "spiffe_x509_svid_expires_in_seconds\(web) 3000",
                "spiffe_x509_svid_expiry_timestamp_seconds\(web) \(Int(at(3600).timeIntervalSince1970))",
                "spiffe_x509_svid_issued_timestamp_seconds\(web) \(Int(at(-10).timeIntervalSince1970))",
                #"spiffe_x509_svid_problem{source="workload_api",spiffe_id="spiffe://example.org/broken",reason="key_parse_error"} 1"#,
                #"spiffe_x509_svid_problem{source="workload_api",spiffe_id="spiffe://example.org/broken",reason="parse_error"} 1"#,
                "spiffe_x509_svid_valid\(broken) 0",
                "spiffe_x509_svid_valid\(web) 1",
            ])
    }

    @Test func intermediateExpiryIsExportedOnlyForChainsWithIntermediates() async throws {
        // The intermediate (12 h) outlives this leaf (1 h); the series is there so one that does not can be found.
        let chained = try await PKI(spiffeID: "spiffe://example.org/chained", intermediate: true).analyze()
        let direct = try await PKI(spiffeID: "spiffe://example.org/direct").analyze()
        var builder = ScrapeBuilder()
        IdentityMetrics.collect(
            [SourceSnapshot(source: "s", svids: [chained, direct], bundles: [:])], now: referenceTime, into: &builder)
        let lines = String(decoding: builder.render(.prometheusText), as: UTF8.self)
            .split(separator: "\n").filter { $0.hasPrefix("spiffe_x509_svid_intermediate_expiry_timestamp_seconds{") }
        #expect(
            lines == [
                #"spiffe_x509_svid_intermediate_expiry_timestamp_seconds{source="s",spiffe_id="spiffe://example.org/chained"} \#(Int(at(12 * 3600).timeIntervalSince1970))"#
            ])
    }

    @Test func countdownGoesNegativeAfterExpiry() async throws {
        let report = try await PKI().analyze()
        var builder = ScrapeBuilder()
        IdentityMetrics.collect([SourceSnapshot(source: "s", svids: [report], bundles: [:])], now: at(3700), into: &builder)
        let text = String(decoding: builder.render(.prometheusText), as: UTF8.self)
        #expect(text.contains(#"spiffe_x509_svid_expires_in_seconds{source="s",spiffe_id="spiffe://example.org/ns/prod/sa/web"} -100"#))
        #expect(text.contains(#"reason="expired"} 1"#))
        #expect(text.contains(#"spiffe_x509_svid_valid{source="s",spiffe_id="spiffe://example.org/ns/prod/sa/web"} 0"#))
    }
}

@Suite struct RenewalRenderingTests {
    @Test func renewalSeriesAreRenderedFromTrackerStatus() {
        var tracker = RenewalTracker()
        let id = "spiffe://example.org/web"
        tracker.observe(source: "s", present: [id: SVIDGeneration(fingerprint: "a", notBefore: at(0), notAfter: at(100))], now: at(0))
        tracker.observe(source: "s", present: [id: SVIDGeneration(fingerprint: "b", notBefore: at(50), notAfter: at(150))], now: at(50))
        var builder = ScrapeBuilder()
        let snapshot = SourceSnapshot(source: "s", svids: [], bundles: [:], renewals: tracker.status(now: at(140)))
        IdentityMetrics.collect([snapshot], now: at(140), into: &builder)
        let text = String(decoding: builder.render(.prometheusText), as: UTF8.self)
        #expect(text.contains(#"spiffe_x509_svid_renewals_total{source="s",spiffe_id="spiffe://example.org/web",outcome="on_time"} 1"#))
        #expect(text.contains(#"spiffe_x509_svid_renewals_total{source="s",spiffe_id="spiffe://example.org/web",outcome="missed"} 0"#))
        #expect(text.contains(#"spiffe_x509_svid_renewal_overdue{source="s",spiffe_id="spiffe://example.org/web"} 1"#))
        #expect(text.contains(#"spiffe_x509_svid_renewal_deadline_timestamp_seconds{source="s",spiffe_id="spiffe://example.org/web"} \#(Int(at(125).timeIntervalSince1970))"#))
    }
}

@Suite struct IdentityOrderingTests {
    private func renderedSeries(_ snapshots: [SourceSnapshot], now: Date) -> [String] {
        var builder = ScrapeBuilder()
        IdentityMetrics.collect(snapshots, now: now, into: &builder)
        return String(decoding: builder.render(.prometheusText), as: UTF8.self)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    @Test func unsortedSourcesIdentitiesAndStatusesComeOutSortedAndDeduplicated() async throws {
        let pki = try PKI()
        let web = await pki.analyze()
        var other = web
        other.spiffeID = "spiffe://example.org/a"
        var duplicate = web
        duplicate.staticProblems.insert(.keyMismatch)
        let statuses = ["spiffe://example.org/z", "spiffe://example.org/a"].map {
            RenewalTracker.Status(key: .init(source: "b", identity: $0), outcomes: [.onTime: 2], deadline: at(9), overdue: false)
        }
        let lines = renderedSeries(
            [
                SourceSnapshot(source: "b", svids: [web, duplicate, other], bundles: [:], renewals: statuses),
                SourceSnapshot(source: "a", svids: [web], bundles: [:]),
            ], now: at(600))
        let valid = lines.filter { $0.hasPrefix("spiffe_x509_svid_valid{") }
        #expect(
            valid == [
                #"spiffe_x509_svid_valid{source="a",spiffe_id="spiffe://example.org/ns/prod/sa/web"} 1"#,
                #"spiffe_x509_svid_valid{source="b",spiffe_id="spiffe://example.org/a"} 1"#,
                // The duplicate (same series, key mismatch) is dropped: the first one wins.
                #"spiffe_x509_svid_valid{source="b",spiffe_id="spiffe://example.org/ns/prod/sa/web"} 1"#,
            ])
        #expect(!lines.contains { $0.hasPrefix("spiffe_x509_svid_problem{") })
        let deadlines = lines.filter { $0.hasPrefix("spiffe_x509_svid_renewal_deadline_timestamp_seconds{") }
        #expect(deadlines.map { $0.contains("example.org/a\"") } == [true, false])
        let renewals = lines.filter { $0.hasPrefix("spiffe_x509_svid_renewals_total{") }
        #expect(renewals.count == 6)
        #expect(renewals.first == #"spiffe_x509_svid_renewals_total{source="b",spiffe_id="spiffe://example.org/a",outcome="late"} 0"#)
        #expect(renewals.last == #"spiffe_x509_svid_renewals_total{source="b",spiffe_id="spiffe://example.org/z",outcome="on_time"} 2"#)
    }

    @Test func orderedStatusFollowsIdentitiesAddedAndForgotten() {
        var tracker = RenewalTracker(configuration: .init(deadlineFraction: 0.75, disappearanceGrace: 10))
        func generation(_ fingerprint: String) -> SVIDGeneration {
            SVIDGeneration(fingerprint: fingerprint, notBefore: at(0), notAfter: at(1000))
        }
        tracker.observe(source: "s", present: ["m": generation("1"), "c": generation("2")], now: at(0))
        #expect(tracker.orderedStatus(now: at(1)).map(\.key.identity) == ["c", "m"])
        tracker.observe(source: "s", present: ["m": generation("1"), "c": generation("2"), "a": generation("3")], now: at(2))
        #expect(tracker.orderedStatus(now: at(3)).map(\.key.identity) == ["a", "c", "m"])
        tracker.observe(source: "s", present: ["m": generation("1")], now: at(4))
        #expect(tracker.orderedStatus(now: at(5)).map(\.key.identity) == ["a", "c", "m"])  // in their grace period
        tracker.tick(now: at(20))
        #expect(tracker.orderedStatus(now: at(21)).map(\.key.identity) == ["m"])
        #expect(tracker.status(now: at(21)) == tracker.orderedStatus(now: at(21)))
    }
}
