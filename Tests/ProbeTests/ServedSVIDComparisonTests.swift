import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing
import X509

/// Pure parts of the probe: comparison with the newest known SVID, staleness at an injected
/// time, SPIFFE verification of a presented chain, and rendering.
@Suite(.timeLimit(.minutes(1))) struct ServedSVIDComparisonTests {
    static let reference = Date(timeIntervalSince1970: 1_893_456_000)  // 2030-01-01T00:00:00Z

    func at(_ offset: TimeInterval) -> Date { Self.reference.addingTimeInterval(offset) }

    func facts(serial: String, notBefore: TimeInterval, notAfter: TimeInterval) throws -> CertificateFacts {
        let ca = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-86400), notAfter: at(86400))
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/server", issuer: ca, notBefore: at(notBefore), notAfter: at(notAfter))
        var facts = CertificateFacts(svid.leaf)
        facts.serialNumber = serial
        return facts
    }

    @Test func comparesBySerialThenAge() throws {
        let served = try facts(serial: "01", notBefore: 0, notAfter: 3600)
        #expect(ServedSVIDFreshness.compare(served: served, newest: nil) == .unknown)
        #expect(ServedSVIDFreshness.compare(served: served, newest: served) == .current)
        let newer = try facts(serial: "02", notBefore: 1800, notAfter: 5400)
        #expect(ServedSVIDFreshness.compare(served: served, newest: newer) == .stale(since: at(1800)))
        // The server already has a newer SVID than the exporter has seen.
        #expect(ServedSVIDFreshness.compare(served: newer, newest: served) == .current)
        // Same instants, another serial (re-issued in the same second): not older, so current.
        let twin = try facts(serial: "03", notBefore: 0, notAfter: 3600)
        #expect(ServedSVIDFreshness.compare(served: twin, newest: served) == .current)
        // Same notBefore, later notAfter: newer.
        let longer = try facts(serial: "04", notBefore: 0, notAfter: 7200)
        #expect(ServedSVIDFreshness.compare(served: served, newest: longer) == .stale(since: at(0)))
    }

    @Test func staleSecondsGrowWithTheScrapeTime() {
        let stale = ServedSVIDFreshness.stale(since: at(1800))
        #expect(stale.currentValue == 0)
        #expect(stale.staleSeconds(at: at(1800)) == 0)
        #expect(stale.staleSeconds(at: at(1900)) == 100)
        #expect(stale.staleSeconds(at: at(2500)) == 700)
        // A scrape clock behind the newer SVID's notBefore never goes negative.
        #expect(stale.staleSeconds(at: at(1000)) == 0)
        #expect(ServedSVIDFreshness.current.currentValue == 1)
        #expect(ServedSVIDFreshness.current.staleSeconds(at: at(5)) == 0)
        #expect(ServedSVIDFreshness.unknown.currentValue == nil)
        #expect(ServedSVIDFreshness.unknown.staleSeconds(at: at(5)) == nil)
    }

    @Test func stalenessCountsFromTheFirstSupersedingSVID() throws {
        let old = ServedSVID(
            spiffeID: "spiffe://example.org/server", leaf: try facts(serial: "01", notBefore: 0, notAfter: 3600))
        let other = ServedSVID(
            spiffeID: "spiffe://example.org/server", leaf: try facts(serial: "09", notBefore: 0, notAfter: 3600))
        func result(
            _ served: ServedSVID?, _ freshness: ServedSVIDFreshness, failure: ProbeFailureReason? = nil
        ) -> ProbeResult {
            ProbeResult(
                target: "t", finishedAt: at(0), duration: 0.1, failure: failure, served: served, freshness: freshness)
        }
        let first = result(old, .stale(since: at(1800)))
        let second = result(old, .stale(since: at(3600)))
        #expect(second.keepingEarliestStaleness(from: first).freshness == .stale(since: at(1800)))
        #expect(second.keepingEarliestStaleness(from: nil).freshness == .stale(since: at(3600)))
        // A reload in between (another served SVID), a current result, or a probe without a served
        // SVID start the count again.
        #expect(
            second.keepingEarliestStaleness(from: result(other, .stale(since: at(1800)))).freshness
                == .stale(since: at(3600)))
        #expect(second.keepingEarliestStaleness(from: result(old, .current)).freshness == .stale(since: at(3600)))
        #expect(
            second.keepingEarliestStaleness(from: result(nil, .unknown, failure: .timeout)).freshness
                == .stale(since: at(3600)))
        // Expired but still served (untrusted): still the same SVID, the count goes on.
        let expired = result(old, .stale(since: at(3600)), failure: .untrusted)
        #expect(expired.keepingEarliestStaleness(from: first).freshness == .stale(since: at(1800)))
        #expect(result(old, .current).keepingEarliestStaleness(from: first).freshness == .current)
    }

    @Test func rendersSeriesFromTheLatestResults() throws {
        let served = ServedSVID(
            spiffeID: "spiffe://example.org/server", leaf: try facts(serial: "01", notBefore: 0, notAfter: 3600))
        let results = [
            ProbeResult(
                target: "stale", finishedAt: at(1900), duration: 0.25, failure: nil, served: served,
                freshness: .stale(since: at(1800))),
            ProbeResult(
                target: "current", finishedAt: at(1900), duration: 0.5, failure: nil, served: served,
                freshness: .current),
            ProbeResult(
                target: "unknown", finishedAt: at(1900), duration: 0.5, failure: nil, served: served,
                freshness: .unknown),
            ProbeResult(target: "down", finishedAt: at(1900), duration: 5, failure: .timeout),
        ]
        var builder = ScrapeBuilder()
        ProbeMetrics.collect(results, now: at(2000), into: &builder)
        let text = String(decoding: builder.render(.prometheusText), as: UTF8.self)
        let expected = """
            # HELP spiffe_probe_duration_seconds How long the last probe of the target took (connect, TLS handshake, close), in seconds.
            # TYPE spiffe_probe_duration_seconds gauge
            spiffe_probe_duration_seconds{target="current"} 0.5
            spiffe_probe_duration_seconds{target="down"} 5
            spiffe_probe_duration_seconds{target="stale"} 0.25
            spiffe_probe_duration_seconds{target="unknown"} 0.5
            # HELP spiffe_probe_success 1 if the last probe of the target completed a TLS handshake with a trusted SVID of the expected SPIFFE ID, else 0.
            # TYPE spiffe_probe_success gauge
            spiffe_probe_success{target="current"} 1
            spiffe_probe_success{target="down"} 0
            spiffe_probe_success{target="stale"} 1
            spiffe_probe_success{target="unknown"} 1
            # HELP spiffe_served_svid_current 1 if the target presents the newest X.509-SVID known for its SPIFFE ID, 0 if an older one (a missed reload).
            # TYPE spiffe_served_svid_current gauge
            spiffe_served_svid_current{target="current",spiffe_id="spiffe://example.org/server"} 1
            spiffe_served_svid_current{target="stale",spiffe_id="spiffe://example.org/server"} 0
            # HELP spiffe_served_svid_expiry_timestamp_seconds NotAfter of the X.509-SVID leaf the target presented at the last probe, in Unix seconds.
            # TYPE spiffe_served_svid_expiry_timestamp_seconds gauge
            spiffe_served_svid_expiry_timestamp_seconds{target="current",spiffe_id="spiffe://example.org/server"} 1893459600
            spiffe_served_svid_expiry_timestamp_seconds{target="stale",spiffe_id="spiffe://example.org/server"} 1893459600
            spiffe_served_svid_expiry_timestamp_seconds{target="unknown",spiffe_id="spiffe://example.org/server"} 1893459600
            # HELP spiffe_served_svid_stale_seconds Seconds since the SVID the target presents was superseded by a newer one (0 while current).
            # TYPE spiffe_served_svid_stale_seconds gauge
            spiffe_served_svid_stale_seconds{target="current"} 0
            spiffe_served_svid_stale_seconds{target="stale"} 200

            """
        #expect(text == expected)
    }

    // MARK: SPIFFE verification of a presented chain

    struct PKI {
        let root: IssuedCA
        let intermediate: IssuedCA
        let bundle: TrustBundle

        init() throws {
            let reference = ServedSVIDComparisonTests.reference
            root = try SVIDFactory.rootCA(
                trustDomain: "example.org", notBefore: reference.addingTimeInterval(-86400),
                notAfter: reference.addingTimeInterval(86400))
            intermediate = try SVIDFactory.intermediateCA(
                issuer: root, notBefore: reference.addingTimeInterval(-86400),
                notAfter: reference.addingTimeInterval(86400))
            bundle = TrustBundle(trustDomain: "example.org", certificates: [root.certificate])
        }

        func lookup(_ trustDomain: String) -> TrustBundle? { trustDomain == "example.org" ? bundle : nil }
    }

    func verify(_ svid: IssuedSVID, expecting: String?, pki: PKI, now: Date) async -> ServedChainVerifier.Verdict {
        await ServedChainVerifier.verify(
            chainDER: svid.chain.map(SVIDFactory.der), expectedSPIFFEID: expecting, now: now, bundle: pki.lookup)
    }

    @Test func verifiesChainThroughIntermediatesAndExpectedID() async throws {
        let pki = try PKI()
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/server", issuer: pki.intermediate, notBefore: at(-60), notAfter: at(3600))
        let trusted = await verify(svid, expecting: "spiffe://example.org/server", pki: pki, now: at(0))
        #expect(trusted.accepted, "\(trusted.detail)")
        #expect(trusted.served?.spiffeID == "spiffe://example.org/server")
        #expect(await verify(svid, expecting: nil, pki: pki, now: at(0)).accepted)
        let wrong = await verify(svid, expecting: "spiffe://example.org/other", pki: pki, now: at(0))
        #expect(wrong.failure == .wrongSPIFFEID)
        #expect(wrong.served == nil)
    }

    @Test func expiredServedSVIDIsUntrustedButStillCompared() async throws {
        let pki = try PKI()
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/server", issuer: pki.root, notBefore: at(-3600), notAfter: at(-60))
        let verdict = await verify(svid, expecting: "spiffe://example.org/server", pki: pki, now: at(0))
        #expect(verdict.failure == .untrusted)
        #expect(verdict.served?.leaf.notAfter == at(-60))
    }

    @Test func rejectsWhatIsNotATrustedSVID() async throws {
        let pki = try PKI()
        let foreignRoot = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-86400), notAfter: at(86400))
        let impostor = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/server", issuer: foreignRoot, notBefore: at(-60), notAfter: at(3600))
        #expect(await verify(impostor, expecting: nil, pki: pki, now: at(0)).failure == .untrusted)

        let otherDomain = try SVIDFactory.svid(
            spiffeID: "spiffe://partner.example/server", issuer: pki.root, notBefore: at(-60), notAfter: at(3600))
        #expect(await verify(otherDomain, expecting: nil, pki: pki, now: at(0)).failure == .untrusted)

        var noSPIFFEID = LeafProfile()
        noSPIFFEID.uriSANs = []
        noSPIFFEID.dnsNames = ["server.example.org"]
        let webCertificate = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/server", issuer: pki.root, notBefore: at(-60), notAfter: at(3600),
            profile: noSPIFFEID)
        #expect(await verify(webCertificate, expecting: nil, pki: pki, now: at(0)).failure == .untrusted)

        let garbage = await ServedChainVerifier.verify(
            chainDER: [[0x30, 0x03, 0x02, 0x01, 0x01]], expectedSPIFFEID: nil, now: at(0), bundle: pki.lookup)
        #expect(garbage.failure == .untrusted)
        let empty = await ServedChainVerifier.verify(
            chainDER: [], expectedSPIFFEID: nil, now: at(0), bundle: pki.lookup)
        #expect(empty.failure == .untrusted)
    }

    // MARK: Contract

    @Test func catalogAndDocsCoverTheProbe() throws {
        let names = Set(MetricCatalog.all.map(\.name))
        for name in [
            "spiffe_probe_success", "spiffe_probe_duration_seconds", "spiffe_probe_failures_total",
            "spiffe_served_svid_expiry_timestamp_seconds", "spiffe_served_svid_current",
            "spiffe_served_svid_stale_seconds",
        ] {
            #expect(names.contains(name), "\(name) is not in the catalog")
        }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let doc = try String(contentsOf: repository.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
        for descriptor in [
            MetricCatalog.probeSuccess, MetricCatalog.probeDuration, MetricCatalog.probeFailures,
            MetricCatalog.servedSVIDExpiry, MetricCatalog.servedSVIDCurrent, MetricCatalog.servedSVIDStale,
        ] {
            let labels = descriptor.labels.map { "`\($0)`" }.joined(separator: ", ")
            let row = "| `\(descriptor.name)` | \(descriptor.type.rawValue) | \(labels) |"
            #expect(doc.contains(row), "docs/metrics.md lacks the row \(row)")
        }
        for reason in ProbeFailureReason.allCases {
            #expect(
                doc.contains("| `\(reason.rawValue)` |"),
                "docs/metrics.md lacks probe failure reason \(reason.rawValue)")
        }
    }
}
