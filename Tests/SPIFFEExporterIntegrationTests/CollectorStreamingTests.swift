import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing
import WorkloadAPISimulator
import X509

/// The Workload API collector against the simulator over a real Unix socket: healthy streams,
/// rotation and agent restarts.
@Suite("Workload API collector: streaming", .timeLimit(.minutes(1)))
struct CollectorStreamingTests {
    static let workload = "spiffe://example.org/workload"
    static let database = "spiffe://example.org/db"

    @Test("SVIDs, bundles and stream health reach the exposition")
    func streamsSVIDsAndBundles() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let configuration = SimulatorConfiguration(
                socketPath: socket, spiffeIDs: [Self.workload, Self.database],
                federatedTrustDomains: ["partner.example", "other.example"])
            try await withSimulator(configuration) { simulator in
                let exporter = Exporter()
                #expect(exporter.board.unsynced().isEmpty)
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    #expect(exporter.metrics.unsyncedSources() == ["workload_api"])
                    let scrape = try await eventually("both SVIDs valid and all three bundles exported") {
                        () async -> Scrape? in
                        let scrape = await exporter.scrape()
                        let valid = [Self.workload, Self.database].map {
                            scrape.value("spiffe_x509_svid_valid", ["spiffe_id": $0])
                        }
                        let bundles = scrape.samples("spiffe_trust_bundle_certificates").count
                        return valid == [1, 1] && bundles == 3 ? scrape : nil
                    }
                    #expect(exporter.metrics.unsyncedSources().isEmpty)

                    // Expiry and issue timestamps are the leaf's own.
                    for svid in simulator.currentSVIDs {
                        let labels = ["source": "workload_api", "spiffe_id": svid.spiffeID]
                        #expect(
                            scrape.value("spiffe_x509_svid_expiry_timestamp_seconds", labels)
                                == svid.leaf.notValidAfter.timeIntervalSince1970)
                        #expect(
                            scrape.value("spiffe_x509_svid_issued_timestamp_seconds", labels)
                                == svid.leaf.notValidBefore.timeIntervalSince1970)
                        let expiresIn = try #require(scrape.value("spiffe_x509_svid_expires_in_seconds", labels))
                        // Certificate times are whole seconds (rounded), hence up to 3601.
                        #expect(expiresIn > 3500 && expiresIn <= 3601, "expires_in \(expiresIn)")
                    }
                    #expect(scrape.samples("spiffe_x509_svid_problem").isEmpty)

                    // Own trust domain and both federated ones, under their names without the scheme.
                    let rootExpiry = simulator.rootCA.certificate.notValidAfter.timeIntervalSince1970
                    for domain in ["example.org", "partner.example", "other.example"] {
                        let labels = ["source": "workload_api", "trust_domain": domain]
                        #expect(scrape.value("spiffe_trust_bundle_certificates", labels) == 1, "\(domain)")
                        #expect(scrape.value("spiffe_trust_bundle_valid_certificates", labels) == 1, "\(domain)")
                        #expect(scrape.value("spiffe_trust_bundle_latest_expiry_timestamp_seconds", labels) != nil)
                    }
                    #expect(
                        scrape.value(
                            "spiffe_trust_bundle_earliest_expiry_timestamp_seconds", ["trust_domain": "example.org"])
                            == rootExpiry)

                    // Stream health: up, one message per stream, one latency observation per stream.
                    try await eventually("one request_duration observation per stream") {
                        exporter.registry.observationCount(
                            MetricCatalog.workloadAPIRequestDuration, ["workload_api", "FetchX509SVID"]) == 1
                            && exporter.registry.observationCount(
                                MetricCatalog.workloadAPIRequestDuration, ["workload_api", "FetchX509Bundles"]) == 1
                    }
                    #expect(exporter.up == 1)
                    let health = await exporter.scrape()
                    #expect(health.value("spiffe_workload_api_up", ["source": "workload_api"]) == 1)
                    for rpc in ["FetchX509SVID", "FetchX509Bundles"] {
                        let labels = ["source": "workload_api", "rpc": rpc]
                        #expect(health.value("spiffe_workload_api_updates_total", labels) == 1, "\(rpc)")
                        #expect(
                            health.value("spiffe_workload_api_request_duration_seconds_count", labels) == 1, "\(rpc)")
                        #expect(
                            health.value(
                                "spiffe_workload_api_request_duration_seconds_bucket",
                                labels.merging(["le": "+Inf"]) { $1 }
                            ) == 1, "\(rpc)")
                        let lastUpdate = try #require(
                            health.value("spiffe_workload_api_last_update_timestamp_seconds", labels))
                        #expect(abs(lastUpdate - Date().timeIntervalSince1970) < 60)
                    }
                    // Every failure reason is pre-created at zero, and none happened.
                    for reason in ConnectionFailureReason.allCases {
                        #expect(
                            health.value(
                                "spiffe_workload_api_connection_failures_total",
                                ["source": "workload_api", "reason": reason.rawValue]) == 0, "\(reason)")
                    }
                    #expect(health.samples("spiffe_workload_api_requests_total").isEmpty)

                    // The collector sent the security header and opened each stream once.
                    let statistics = simulator.statistics
                    #expect(statistics.calls["FetchX509SVID"] == 1)
                    #expect(statistics.calls["FetchX509Bundles"] == 1)
                    #expect(statistics.rejectedMissingHeader == 0)
                    #expect(statistics.openStreams == 2)

                    // The store holds both identities with their analysis.
                    let entries = exporter.store.entries(source: "workload_api")
                    #expect(Set(entries.map(\.report.spiffeID)) == [Self.workload, Self.database])
                    #expect(entries.allSatisfy { $0.report.trustDomain == "example.org" })
                }
            }
        }
    }

    @Test("simulator.rotate() shows up in the exported expiry within a second")
    func manualRotationIsObservedQuickly() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let clock = ShiftableClock()
            try await withSimulator(SimulatorConfiguration(socketPath: socket), clock: clock) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    let before = try #require(simulator.currentSVIDs.first).leaf
                    try await eventually("the first SVID is exported") {
                        await exporter.scrape().value("spiffe_x509_svid_expiry_timestamp_seconds")
                            == before.notValidAfter.timeIntervalSince1970
                    }
                    // Certificate times have one-second granularity: move the agent's clock on so
                    // the new SVID's notAfter is certain to differ.
                    clock.advance(by: 5)
                    try simulator.rotate()
                    let after = try #require(simulator.currentSVIDs.first).leaf
                    #expect(after.notValidAfter != before.notValidAfter)
                    #expect(after.serialNumber != before.serialNumber)
                    try await eventually("the rotated SVID's expiry is exported") {
                        await exporter.scrape().value("spiffe_x509_svid_expiry_timestamp_seconds")
                            == after.notValidAfter.timeIntervalSince1970
                    }
                    let scrape = await exporter.scrape()
                    #expect(scrape.value("spiffe_x509_svid_valid") == 1)
                    #expect(exporter.entries.first?.report.leaf?.serialNumber == CertificateFacts(after).serialNumber)
                    #expect(
                        scrape.value("spiffe_workload_api_updates_total", ["rpc": "FetchX509SVID"]) == 2)
                    // A push on the open stream, not a reconnect.
                    #expect(simulator.statistics.calls["FetchX509SVID"] == 1)
                }
            }
        }
    }

    @Test("automatic rotation at half of a 4 s TTL is exported")
    func automaticRotation() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let configuration = SimulatorConfiguration(socketPath: socket, svidTTL: 4, rotationFraction: 0.5)
            try await withSimulator(configuration) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    let first = try await eventually("the first SVID is exported") {
                        await exporter.scrape().value("spiffe_x509_svid_expiry_timestamp_seconds")
                    }
                    let second = try await eventually("the simulator rotates and the new expiry is exported") {
                        () async -> Double? in
                        let expiry = await exporter.scrape().value("spiffe_x509_svid_expiry_timestamp_seconds")
                        return expiry.flatMap { $0 > first ? $0 : nil }
                    }
                    #expect(simulator.statistics.rotations >= 1)
                    // Rotation at half the lifetime: the new notAfter is about 2 s later.
                    #expect(second - first >= 1 && second - first <= 6, "expiry moved by \(second - first) s")
                    // Eventually, not at once: with a 4 s TTL the simulator backdates notBefore by only
                    // 0.4 s, and certificate times are rounded to whole seconds, so a fresh SVID can be
                    // not_yet_valid for up to 0.1 s (see the report on WorkloadAPISimulator.backdating).
                    try await eventually("the rotated SVID is valid") {
                        await exporter.scrape().value("spiffe_x509_svid_valid") == 1
                    }
                    #expect(exporter.failures(.streamClosed) == 0)
                }
            }
        }
    }

    @Test("an agent restart on the same socket path is followed within the backoff cap")
    func agentRestart() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let clock = ShiftableClock()
            try await withSimulator(SimulatorConfiguration(socketPath: socket), clock: clock) { simulator in
                let exporter = Exporter()
                // The agent is killed with the collector connected, so stop() cannot wait for quiet
                // (see withSimulator). After the streams end the next attempt waits at least
                // initial/2 = 1 s, far longer than stop() takes, so no connection or stream reaches
                // the server while it is being cancelled.
                let backoff = Backoff(initial: .seconds(2), multiplier: 2, cap: .seconds(2))
                try await withCollector(collectorConfiguration(socketPath: socket, backoff: backoff), feeding: exporter)
                {
                    let before = try #require(simulator.currentSVIDs.first).leaf
                    try await eventually("the first SVID is exported") { exporter.up == 1 }

                    // The agent dies: its streams end and the socket disappears.
                    await simulator.stop()
                    try await eventually("the collector notices the agent is gone") {
                        exporter.up == 0 && exporter.failures(.socketNotFound) >= 1
                    }
                    #expect(exporter.failures(.streamClosed) >= 1)
                    // The last known SVID stays exported while the agent is down.
                    #expect(await exporter.scrape().value("spiffe_x509_svid_valid") == 1)
                    try await exporter.expectValidExposition()

                    // A restarted agent mints new SVIDs (start() alone re-serves the old ones).
                    clock.advance(by: 5)
                    try simulator.rotate()
                    let after = try #require(simulator.currentSVIDs.first).leaf
                    let callsBefore = simulator.statistics.calls["FetchX509SVID", default: 0]
                    try await simulator.start()
                    try await eventually("the collector sees the new SVID after the restart") {
                        await exporter.scrape().value("spiffe_x509_svid_expiry_timestamp_seconds")
                            == after.notValidAfter.timeIntervalSince1970
                    }
                    #expect(after.serialNumber != before.serialNumber)
                    #expect(exporter.up == 1)
                    #expect(simulator.statistics.calls["FetchX509SVID", default: 0] == callsBefore + 1)
                }
            }
        }
    }
}

extension Exporter {
    var entries: [IdentityStore.Entry] { store.entries(source: source) }
}
