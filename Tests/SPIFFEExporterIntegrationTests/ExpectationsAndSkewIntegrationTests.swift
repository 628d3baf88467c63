import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import TestKit
import Testing
import WorkloadAPISimulator

/// Expected identities, SPIFFE ID labels and the clock skew estimate, end to end through a real
/// collector on the simulator's socket. The tests wait for events (rotations, failures), not time.
@Suite(.timeLimit(.minutes(1))) struct ExpectationsAndSkewIntegrationTests {
    static let workload = "spiffe://example.org/workload"

    @Test func aSkewedIssuerIsEstimatedFromLivePushesOnly() async throws {
        try await withTemporaryDirectory { dir in
            // The issuer runs 30 s ahead: every NotBefore is 20 s in this host's future.
            var config = SimulatorConfiguration(socketPath: dir + "/agent.sock")
            config.clockOffset = 30
            try await withSimulator(config) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: dir + "/agent.sock"), feeding: exporter) {
                    try await eventually(timeout: .seconds(10), "first SVID") {
                        await exporter.scrape().value("spiffe_x509_svid_valid") != nil
                    }
                    // The state sent on connecting is no sample: still absent.
                    #expect(await exporter.scrape().samples("spiffe_clock_skew_estimate_seconds", [:]).isEmpty)
                    #expect(await exporter.scrape().value("spiffe_x509_svid_problem", ["reason": "not_yet_valid"]) == 1)
                    for rotation in 1...3 {
                        if rotation == 3 {
                            #expect(await exporter.scrape().samples("spiffe_clock_skew_estimate_seconds", [:]).isEmpty)
                        }
                        let before = exporter.registry.value(MetricCatalog.workloadAPIUpdates, ["workload_api", "FetchX509SVID"]) ?? 0
                        try simulator.rotate()
                        try await eventually(timeout: .seconds(10), "rotation \(rotation) delivered") {
                            (exporter.registry.value(MetricCatalog.workloadAPIUpdates, ["workload_api", "FetchX509SVID"]) ?? 0) > before
                        }
                    }
                    let estimate = try #require(
                        await exporter.scrape().value("spiffe_clock_skew_estimate_seconds", ["source": "workload_api"]))
                    // −30 s, plus a delivery time (well under a second here) and NotBefore's whole seconds.
                    #expect(estimate > -31.5 && estimate < -28.5, "\(estimate)")
                }
            }
        }
    }

    @Test func expectedIdentitiesFollowTheStreamAndPermissionDenied() async throws {
        try await withTemporaryDirectory { dir in
            let config = SimulatorConfiguration(socketPath: dir + "/agent.sock")
            try await withSimulator(config) { simulator in
                let exporter = Exporter()
                exporter.store.expectations.configure(
                    [
                        try ExpectedIdentity(parsing: "workload_api=\(Self.workload)"),
                        try ExpectedIdentity(parsing: "spiffe://example.org/never"),
                        try ExpectedIdentity(parsing: "spiffe://example.org/*,min_count=2"),
                    ], now: Date())
                exporter.store.configure(
                    spiffeIDLabels: try SPIFFEIDLabels([try .init(name: "workload", pattern: "^spiffe://[^/]+/(.*)$")]),
                    issuerBackdate: 10)
                try await withCollector(collectorConfiguration(socketPath: dir + "/agent.sock"), feeding: exporter) {
                    let present = ["source": "workload_api", "spiffe_id": Self.workload, "workload": "workload"]
                    try await eventually(timeout: .seconds(10), "expected identity present") {
                        await exporter.scrape().value("spiffe_expected_identity_present", present) == 1
                    }
                    var scrape = await exporter.scrape()
                    #expect(scrape.value("spiffe_expected_identity_missing_seconds", present) == 0)
                    #expect(scrape.value("spiffe_expected_identity_present", ["spiffe_id": "spiffe://example.org/never", "source": "*"]) == 0)
                    #expect(scrape.value("spiffe_expected_identity_problem", ["spiffe_id": "spiffe://example.org/never", "reason": "never_seen", "workload": "never"]) == 1)
                    #expect(scrape.value("spiffe_expected_identities_matched", ["pattern": "spiffe://example.org/*"]) == 1)
                    #expect(scrape.value("spiffe_expected_identities_required", ["pattern": "spiffe://example.org/*"]) == 2)
                    // The derived label is on every SVID series too, and promtool finds nothing wrong.
                    #expect(scrape.value("spiffe_x509_svid_valid", ["spiffe_id": Self.workload, "workload": "workload"]) == 1)
                    try await exporter.expectValidExposition()
                    var status = await exporter.metrics.status(now: Date())
                    #expect(status.check.identities.prefix(3).map(\.kind) == ["expected x509", "expected x509", "expected x509"])
                    #expect(status.check.status == .critical)

                    // The agent stops issuing: PermissionDenied on the next stream.
                    simulator.setFault(.noIdentity)
                    simulator.dropStreams()
                    try await eventually(timeout: .seconds(10), "not_authorized") {
                        await exporter.scrape().value(
                            "spiffe_expected_identity_problem", ["spiffe_id": Self.workload, "reason": "not_authorized"]) == 1
                    }
                    scrape = await exporter.scrape()
                    #expect(scrape.value("spiffe_expected_identity_present", present) == 0)
                    // The agent issues again: present, and the withdrawal is history.
                    simulator.setFault(.none)
                    simulator.dropStreams()
                    try await eventually(timeout: .seconds(10), "present again") {
                        await exporter.scrape().value("spiffe_expected_identity_present", present) == 1
                    }
                    status = await exporter.metrics.status(now: Date())
                    #expect(status.check.identities.first?.summary == "present")
                }
            }
        }
    }
}
