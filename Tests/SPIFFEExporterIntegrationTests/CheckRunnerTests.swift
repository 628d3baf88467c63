import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing
import WorkloadAPISimulator

/// `spiffe-exporter check` against the simulator's fault modes: each maps to the documented exit code.
@Suite(.timeLimit(.minutes(1))) struct CheckRunnerTests {
    /// The check returns as soon as it has an answer; the timeout only matters for the slow agent.
    func check(_ fault: SimulatorFault, audiences: [[String]] = [], timeout: Double = 15) async throws -> CheckReport {
        try await withTemporaryDirectory { dir in
            let config = SimulatorConfiguration(socketPath: dir + "/agent.sock", fault: fault)
            return try await withSimulator(config) { _ in
                let result = await WorkloadAPICheck.run(
                    address: .unix(path: dir + "/agent.sock"), timeout: timeout, audiences: audiences, thresholds: CheckThresholds())
                return CheckReport(checkedAt: Date(), identities: result.identities, failures: result.failures)
            }
        }
    }

    @Test func healthyAgentIsOK() async throws {
        let report = try await check(.none, audiences: [["db"]])
        #expect(report.status == .ok, "\(report.identities.map { "\($0.kind) \($0.status) \($0.summary) \($0.problems)" }) \(report.failures)")
        #expect(report.identities.map(\.kind).sorted() == ["jwt", "x509"])
        #expect(report.identities.first { $0.kind == "x509" }?.bundleCAExpiresAt != nil)
    }

    @Test(arguments: [
        (SimulatorFault.expiredSVID, "expired"), (.mismatchedKey, "key_mismatch"),
        (.wrongTrustDomain, "trust_domain_mismatch"), (.garbageDER, "parse_error"),
    ])
    func brokenSVIDsAreCritical(_ fault: SimulatorFault, _ problem: String) async throws {
        let report = try await check(fault)
        #expect(report.status == .critical)
        #expect(report.identities.contains { $0.problems.contains(problem) })
    }

    @Test func notAttestedCannotBeChecked() async throws {
        let report = try await check(.noIdentity)
        #expect(report.status == .unknown)
        #expect(report.failures.first?.reason == "no_identity")
        #expect(report.failures.first?.hint.contains("registration entry") == true)
    }

    @Test func slowAgentTimesOut() async throws {
        // The simulator's stop waits for the held-back response, so keep the delay short.
        let report = try await check(.slowFirstResponse(.seconds(4)), timeout: 1)
        #expect(report.status == .unknown)
        #expect(report.failures.first?.reason == "timeout")
    }

    @Test func missingSocket() async throws {
        let result = await WorkloadAPICheck.run(
            address: .unix(path: "/tmp/spx-no-such-dir/agent.sock"), timeout: 15, audiences: [], thresholds: CheckThresholds())
        #expect(result.identities.isEmpty)
        #expect(result.failures.map(\.reason) == ["socket_not_found"])
    }

    /// `check --dir A --dir B`: two helper directories whose bundles differ give a row for the one
    /// that lacks a root, naming the other.
    @Test func bundleDisagreementBetweenDirectories() async throws {
        try await withTemporaryDirectory { dir in
            let now = Date()
            let old = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now.addingTimeInterval(-60), notAfter: now.addingTimeInterval(86400))
            let new = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now.addingTimeInterval(-60), notAfter: now.addingTimeInterval(86400))
            let svid = try SVIDFactory.svid(
                spiffeID: "spiffe://example.org/web", issuer: old, notBefore: now.addingTimeInterval(-10), notAfter: now.addingTimeInterval(3600))
            let store = IdentityStore()
            for (name, roots) in [("ahead", [old, new]), ("behind", [old])] {
                let path = dir + "/" + name
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                try svid.chainPEM.write(toFile: path + "/svid.pem", atomically: true, encoding: .utf8)
                try svid.keyPEM.write(toFile: path + "/svid_key.pem", atomically: true, encoding: .utf8)
                try roots.map { SVIDFactory.pem("CERTIFICATE", $0.der) }.joined()
                    .write(toFile: path + "/svid_bundle.pem", atomically: true, encoding: .utf8)
                _ = await DirectoryCheck.run(name: name, path: path, thresholds: CheckThresholds(), store: store)
            }
            let rows = await BundleConsistencyCheck.run(store: store, now: now)
            #expect(rows.map(\.source) == ["behind"])
            #expect(rows.first?.summary == "lacks 1 root that ahead holds")
            #expect(rows.first?.status == .warning)
            #expect(CheckReport(checkedAt: now, identities: rows, failures: []).status == .warning)
        }
    }

    @Test func spiffeHelperDirectory() async throws {
        try await withTemporaryDirectory { dir in
            let now = Date()
            let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now.addingTimeInterval(-60), notAfter: now.addingTimeInterval(86400))
            let svid = try SVIDFactory.svid(
                spiffeID: "spiffe://example.org/web", issuer: root, notBefore: now.addingTimeInterval(-10), notAfter: now.addingTimeInterval(3600))
            try svid.chainPEM.write(toFile: dir + "/svid.pem", atomically: true, encoding: .utf8)
            try svid.keyPEM.write(toFile: dir + "/svid_key.pem", atomically: true, encoding: .utf8)
            try SVIDFactory.pem("CERTIFICATE", root.der).write(toFile: dir + "/svid_bundle.pem", atomically: true, encoding: .utf8)
            let ok = await DirectoryCheck.run(name: "helper", path: dir, thresholds: CheckThresholds())
            #expect(ok.failures.isEmpty)
            #expect(ok.identities.map(\.status) == [.ok])
            // A key from another SVID: critical key_mismatch.
            let other = try SVIDFactory.svid(
                spiffeID: "spiffe://example.org/web", issuer: root, notBefore: now, notAfter: now.addingTimeInterval(3600))
            try other.keyPEM.write(toFile: dir + "/svid_key.pem", atomically: true, encoding: .utf8)
            let bad = await DirectoryCheck.run(name: "helper", path: dir, thresholds: CheckThresholds())
            #expect(bad.identities.first?.problems == ["key_mismatch"])
            let missing = await DirectoryCheck.run(name: "helper", path: dir + "/nope", thresholds: CheckThresholds())
            #expect(missing.failures.map(\.reason) == ["not_found"])
        }
    }
}

/// The `check` row of the served-certificate probe: a TLS server that reloads is current, one that
/// does not is a warning after a rotation.
@Suite(.timeLimit(.minutes(1))) struct ProbeCheckTests {
    @Test(arguments: [true, false])
    func servedCertificateRow(reloads: Bool) async throws {
        try await withTemporaryDirectory { dir in
            let config = SimulatorConfiguration(socketPath: dir + "/agent.sock")
            // The first SVID is issued a minute in the past, the rotated one now: both valid, and
            // their notBefore differ (certificate times have one-second resolution).
            let clock = ShiftableClock()
            clock.advance(by: -60)
            try await withSimulator(config, clock: clock) { simulator in
                let id = "spiffe://example.org/workload"
                let server = try await DemoTLSServer.start(
                    reloads: reloads, logger: quietLogger,
                    identity: { simulator.currentSVIDs.first.map { ($0.chainPEM, $0.keyPEM) } },
                    clientRootsPEM: { SVIDFactory.pem("CERTIFICATE", simulator.rootCA.der) })
                let serving = Task { try await server.run() }
                defer { serving.cancel() }
                let target = try ProbeTarget(parsing: "api=127.0.0.1:\(server.port),spiffe_id=\(id)")
                func check() async -> [CheckIdentity] {
                    let store = IdentityStore()
                    _ = await WorkloadAPICheck.run(
                        address: .unix(path: dir + "/agent.sock"), timeout: 15, audiences: [], thresholds: CheckThresholds(),
                        store: store)
                    return await ProbeCheck.run(targets: [target], store: store, timeout: 10, thresholds: CheckThresholds())
                }
                let before = try #require(await check().first)
                #expect(before.status == .ok)
                #expect(before.summary == "serves the newest SVID")
                #expect(before.spiffeID == id)
                clock.advance(by: 60)
                try simulator.rotate()
                let after = try #require(await check().first)
                #expect(after.status == (reloads ? .ok : .warning))
                #expect(after.summary.contains(reloads ? "newest" : "superseded"))
            }
        }
    }

    @Test func unreachableTargetIsCritical() async throws {
        let target = try ProbeTarget(parsing: "api=127.0.0.1:1")
        let row = try #require(await ProbeCheck.run(targets: [target], store: IdentityStore(), timeout: 5, thresholds: CheckThresholds()).first)
        #expect(row.status == .critical)
        #expect(row.problems == ["connect_refused"])
    }
}
