import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import TestKit
import Testing
import WorkloadAPISimulator

/// Renewal tracking and JWT-SVIDs driven by the simulator over a real Unix socket. SVID lifetimes
/// are a few seconds so rotation happens during the test; the tests wait for events, not time.
@Suite(.timeLimit(.minutes(1))) struct RenewalAndJWTIntegrationTests {
    /// A simulated agent and a collector fetching a JWT-SVID for the audience `db`.
    static func withDBAudience(
        fault: SimulatorFault = .none, jwtTTL: TimeInterval = 300, jwtInterval: Duration? = nil,
        _ body: (WorkloadAPISimulator, Exporter) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { dir in
            let config = SimulatorConfiguration(socketPath: dir + "/agent.sock", fault: fault, jwtTTL: jwtTTL)
            try await withSimulator(config) { simulator in
                let exporter = Exporter()
                var collector = collectorConfiguration(socketPath: dir + "/agent.sock")
                collector.jwtAudiences = [["db"]]
                if let jwtInterval { collector.jwtInterval = jwtInterval }
                try await withCollector(collector, feeding: exporter) {
                    try await body(simulator, exporter)
                }
            }
        }
    }

    @Test func rotationAtHalfLifeCountsOnTime() async throws {
        try await withTemporaryDirectory { dir in
            let config = SimulatorConfiguration(socketPath: dir + "/agent.sock", svidTTL: 4)
            try await withSimulator(config) { _ in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: dir + "/agent.sock"), feeding: exporter) {
                    let labels = ["spiffe_id": "spiffe://example.org/workload", "outcome": "on_time"]
                    try await eventually(timeout: .seconds(15), "an on_time renewal") {
                        (await exporter.scrape().value("spiffe_x509_svid_renewals_total", labels) ?? 0) >= 1
                    }
                    let scrape = await exporter.scrape()
                    #expect(scrape.value("spiffe_x509_svid_renewals_total", ["outcome": "missed"]) == 0)
                    #expect(scrape.value("spiffe_x509_svid_renewal_overdue", [:]) == 0)
                }
            }
        }
    }

    @Test func stalledRotationGoesOverdueThenMissedThenRecovers() async throws {
        try await withTemporaryDirectory { dir in
            let config = SimulatorConfiguration(socketPath: dir + "/agent.sock", svidTTL: 4, fault: .stalledRotation)
            try await withSimulator(config) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: dir + "/agent.sock"), feeding: exporter) {
                    // Deadline at 0.75 of 4 s (+ the 10 s backdating of notBefore makes it due sooner).
                    try await eventually(timeout: .seconds(15), "renewal_overdue 1") {
                        await exporter.scrape().value("spiffe_x509_svid_renewal_overdue") == 1
                    }
                    try await eventually(timeout: .seconds(15), "a missed renewal") {
                        await exporter.scrape().value("spiffe_x509_svid_renewals_total", ["outcome": "missed"]) == 1
                    }
                    #expect(await exporter.scrape().value("spiffe_x509_svid_problem", ["reason": "expired"]) == 1)
                    // The agent recovers and pushes a new SVID: overdue clears, no extra outcome.
                    simulator.setFault(.none)
                    try simulator.rotate()
                    try await eventually(timeout: .seconds(10), "overdue cleared") {
                        await exporter.scrape().value("spiffe_x509_svid_renewal_overdue") == 0
                    }
                    let scrape = await exporter.scrape()
                    #expect(scrape.value("spiffe_x509_svid_renewals_total", ["outcome": "missed"]) == 1)
                    #expect(scrape.value("spiffe_x509_svid_renewals_total", ["outcome": "late"]) == 0)
                    #expect(scrape.value("spiffe_x509_svid_valid") == 1)
                }
            }
        }
    }

    @Test func jwtSVIDsAreFetchedValidatedAndRenewed() async throws {
        try await withTemporaryDirectory { dir in
            let config = SimulatorConfiguration(
                socketPath: dir + "/agent.sock", federatedTrustDomains: ["partner.example"], jwtTTL: 4)
            try await withSimulator(config) { simulator in
                let exporter = Exporter()
                var collector = collectorConfiguration(socketPath: dir + "/agent.sock")
                collector.jwtAudiences = [["db"], ["cache", "api"]]
                collector.jwtInterval = .seconds(1)
                try await withCollector(collector, feeding: exporter) {
                    let id = "spiffe://example.org/workload"
                    try await eventually("both audience sets valid") {
                        let scrape = await exporter.scrape()
                        return scrape.value("spiffe_jwt_svid_valid", ["spiffe_id": id, "audience": "db"]) == 1
                            && scrape.value("spiffe_jwt_svid_valid", ["spiffe_id": id, "audience": "api,cache"]) == 1
                    }
                    let scrape = await exporter.scrape()
                    #expect(scrape.value("spiffe_jwt_bundle_keys", ["trust_domain": "example.org"]) == 1)
                    #expect(scrape.value("spiffe_jwt_bundle_keys", ["trust_domain": "partner.example"]) == 1)
                    let expiresIn = try #require(scrape.value("spiffe_jwt_svid_expires_in_seconds", ["audience": "db"]))
                    #expect(expiresIn > 0 && expiresIn <= 4)
                    // Each audience set's call is counted once it has ended (just after its tokens are stored).
                    try await eventually("both calls are counted and timed") {
                        exporter.requests("FetchJWTSVID", code: "OK") >= 2
                            && exporter.registry.observationCount(
                                MetricCatalog.workloadAPIRequestDuration, ["workload_api", "FetchJWTSVID"]) >= 2
                    }
                    // The token never appears in the exposition.
                    let tokens = simulator.jwtSVIDs(audience: ["db"], spiffeID: "").map(\.token)
                    #expect(tokens.allSatisfy { !scrape.text.contains($0) && !scrape.text.contains($0.split(separator: ".")[2]) })
                    // Re-minted after half its life: the next generation is seen on time.
                    try await eventually(timeout: .seconds(15), "an on_time JWT renewal") {
                        (await exporter.scrape().value("spiffe_jwt_svid_renewals_total", ["audience": "db", "outcome": "on_time"]) ?? 0) >= 1
                    }
                }
            }
        }
    }

    @Test func jwtBundleRotationIsFollowed() async throws {
        try await Self.withDBAudience(jwtTTL: 600, jwtInterval: .seconds(1)) { simulator, exporter in
            try await eventually("valid JWT") { await exporter.scrape().value("spiffe_jwt_svid_valid") == 1 }
            // New signing key: the bundle no longer holds the old token's kid until a new token is fetched.
            simulator.rotateJWTAuthority()
            try await eventually("valid again with the new key") {
                let scrape = await exporter.scrape()
                return scrape.value("spiffe_jwt_svid_valid") == 1
                    && (scrape.value("spiffe_workload_api_updates_total", ["rpc": "FetchJWTBundles"]) ?? 0) >= 2
            }
        }
    }

    @Test func permissionDeniedWithdrawsTheJWTBundlesToo() async throws {
        // After PermissionDenied nothing the agent withdrew (it redacts bundles too) may stay exported.
        try await Self.withDBAudience { simulator, exporter in
            try await eventually("JWT bundle keys and a valid JWT-SVID") {
                let scrape = await exporter.scrape()
                return !scrape.samples("spiffe_jwt_bundle_keys").isEmpty
                    && scrape.value("spiffe_jwt_svid_valid") == 1
            }
            simulator.setFault(.noIdentity)
            simulator.dropStreams()
            try await eventually("PermissionDenied on FetchJWTBundles") {
                exporter.requests("FetchJWTBundles", code: "PermissionDenied") >= 1
            }
            #expect(await exporter.scrape().samples("spiffe_jwt_bundle_keys").isEmpty)
        }
    }

    @Test func jwtNoIdentityIsCounted() async throws {
        try await Self.withDBAudience(fault: .noIdentity) { _, exporter in
            try await eventually("PermissionDenied on FetchJWTSVID") {
                exporter.requests("FetchJWTSVID", code: "PermissionDenied") >= 1
            }
            #expect(exporter.failures(.noIdentity) >= 1)
            #expect(await exporter.scrape().samples("spiffe_jwt_svid_valid").isEmpty)
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct CARotationIntegrationTests {
    @Test func bothRootsAppearDuringRotationAndTheOldOneLeaves() async throws {
        try await withTemporaryDirectory { dir in
            let config = SimulatorConfiguration(socketPath: dir + "/agent.sock")
            try await withSimulator(config) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: dir + "/agent.sock"), feeding: exporter) {
                    let td = ["trust_domain": "example.org"]
                    try await eventually("one root and the SVID") {
                        let scrape = await exporter.scrape()
                        return scrape.samples("spiffe_trust_bundle_ca_expiry_timestamp_seconds", td).count == 1
                            && scrape.value("spiffe_x509_svid_valid", ["source": "workload_api"]) == 1
                    }
                    let first = try #require(await exporter.scrape().samples("spiffe_trust_bundle_ca_expiry_timestamp_seconds", td).first?.labels["ca"])
                    #expect(await exporter.scrape().value("spiffe_trust_bundle_updates_total", td) == 1)

                    try simulator.prepareNextCA()
                    // Both streams carry the new bundle (the SVID stream's copy is what verifies the SVID).
                    try await eventually("two roots") {
                        await exporter.scrape().samples("spiffe_trust_bundle_ca_expiry_timestamp_seconds", td).count == 2
                            && exporter.store.entries(source: "workload_api").first?.bundles.own?.certificates.count == 2
                    }
                    // Two roots is a normal state: the SVID still verifies, nothing is a problem.
                    let during = await exporter.scrape()
                    #expect(during.value("spiffe_x509_svid_valid", ["source": "workload_api"]) == 1, "\(during.text)")
                    #expect(during.samples("spiffe_x509_svid_problem").isEmpty)
                    #expect(during.value("spiffe_trust_bundle_certificates", td) == 2)
                    #expect(exporter.failures(.malformedResponse) == 0)
                    try await exporter.expectValidExposition()
                    try simulator.activateNewestCA()
                    simulator.pruneOldestCA()
                    try await eventually("only the new root") {
                        let cas = await exporter.scrape().samples("spiffe_trust_bundle_ca_expiry_timestamp_seconds", td)
                        return cas.count == 1 && cas[0].labels["ca"] != first
                    }
                    try await eventually("the SVID issued by the new root is valid") {
                        await exporter.scrape().value("spiffe_x509_svid_valid", ["source": "workload_api"]) == 1
                    }
                    let scrape = await exporter.scrape()
                    #expect((scrape.value("spiffe_trust_bundle_updates_total", td) ?? 0) >= 3)
                    #expect(scrape.value("spiffe_trust_bundle_certificates", td) == 1)
                }
            }
        }
    }
}
