import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import ExporterTestKit
import TestKit
import Testing
import WorkloadAPISimulator

/// A CA rotation seen through three channels: the Workload API gets the new root first, the
/// spiffe-helper bundle file and a bootstrap bundle file later. Scrapes pass their own `now`, so
/// the time behind is exact without waiting for it.
@Suite(.timeLimit(.minutes(2))) struct BundleConsistencyIntegrationTests {
    static let trustDomain = ["trust_domain": "example.org"]

    static func channel(_ source: String) -> [String: String] { ["source": source, "trust_domain": "example.org"] }

    @Test func filesBehindTheWorkloadAPIAfterARotationCatchUp() async throws {
        try await withTemporaryDirectory { dir in
            let socket = dir + "/agent.sock"
            let helper = dir + "/helper"
            let bootstrap = dir + "/bootstrap/bundle.crt"
            try FileManager.default.createDirectory(atPath: helper, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/bootstrap", withIntermediateDirectories: true)
            try await withSimulator(SimulatorConfiguration(socketPath: socket)) { simulator in
                func bundlePEM() -> String { simulator.bundleRoots.map { SVIDFactory.pem("CERTIFICATE", $0.der) }.joined() }
                // What spiffe-helper writes on each Workload API update.
                func writeHelperFiles() throws {
                    let svid = try #require(simulator.currentSVIDs.first)
                    try svid.chainPEM.write(toFile: helper + "/svid.pem", atomically: true, encoding: .utf8)
                    try svid.keyPEM.write(toFile: helper + "/svid_key.pem", atomically: true, encoding: .utf8)
                    try bundlePEM().write(toFile: helper + "/svid_bundle.pem", atomically: true, encoding: .utf8)
                }
                try writeHelperFiles()
                try bundlePEM().write(toFile: bootstrap, atomically: true, encoding: .utf8)
                let exporter = Exporter()
                let certFiles = CertFilesCollector(
                    sources: [
                        CertFilesSourceConfiguration(name: "helper", kind: .spiffeHelperDirectory(path: helper, files: SPIFFEHelperFileNames())),
                        CertFilesSourceConfiguration(name: "bootstrap", kind: .bundleFile(path: bootstrap, trustDomain: "example.org")),
                    ],
                    context: exporter.context)
                let workloadAPI = WorkloadAPICollector(configuration: collectorConfiguration(socketPath: socket), context: exporter.context)
                try await exporter.running([workloadAPI, certFiles]) {
                    try await eventually("the three copies agree") {
                        let scrape = await exporter.scrape()
                        return scrape.samples("spiffe_trust_bundle_missing_roots").count == 3
                            && scrape.value("spiffe_trust_bundle_consistent", Self.trustDomain) == 1
                    }

                    try simulator.prepareNextCA()
                    let base = Date()
                    try await eventually("the Workload API holds the new root, the files do not") {
                        let scrape = await exporter.scrape(now: base)
                        return scrape.value("spiffe_trust_bundle_missing_roots", Self.channel("helper")) == 1
                            && scrape.value("spiffe_trust_bundle_missing_roots", Self.channel("bootstrap")) == 1
                            && scrape.value("spiffe_trust_bundle_missing_roots", Self.channel("workload_api")) == 0
                    }
                    let behind = await exporter.scrape(now: base.addingTimeInterval(120))
                    #expect(behind.value("spiffe_trust_bundle_consistent", Self.trustDomain) == 0)
                    #expect(behind.value("spiffe_trust_bundle_behind_seconds", Self.channel("helper")) == 120)
                    #expect(behind.value("spiffe_trust_bundle_behind_seconds", Self.channel("bootstrap")) == 120)
                    #expect(behind.value("spiffe_trust_bundle_behind_seconds", Self.channel("workload_api")) == 0)
                    #expect(behind.value("spiffe_trust_bundle_cannot_verify_peers", Self.channel("helper")) == 0)

                    // spiffe-helper catches up; the bootstrap bundle is still behind.
                    try writeHelperFiles()
                    try await eventually("the helper's bundle file holds the new root") {
                        await exporter.scrape(now: base.addingTimeInterval(180))
                            .value("spiffe_trust_bundle_missing_roots", Self.channel("helper")) == 0
                    }
                    let partly = await exporter.scrape(now: base.addingTimeInterval(180))
                    #expect(partly.value("spiffe_trust_bundle_behind_seconds", Self.channel("helper")) == 0)
                    #expect(partly.value("spiffe_trust_bundle_behind_seconds", Self.channel("bootstrap")) == 180)
                    #expect(partly.value("spiffe_trust_bundle_consistent", Self.trustDomain) == 0)
                    let status = await exporter.metrics.status(now: base.addingTimeInterval(180))
                    let rows = status.check.identities.filter { $0.kind == CheckEvaluator.trustBundleKind }
                    #expect(rows.map(\.source) == ["bootstrap"])
                    #expect(rows.first?.summary == "lacks 1 root that helper, workload_api hold, behind for 3m0s")
                    #expect(rows.first?.status == .warning)

                    try bundlePEM().write(toFile: bootstrap, atomically: true, encoding: .utf8)
                    try await eventually("every copy agrees again") {
                        await exporter.scrape(now: base.addingTimeInterval(240)).value("spiffe_trust_bundle_consistent", Self.trustDomain)
                            == 1
                    }
                    try await exporter.expectValidExposition()
                }
            }
        }
    }
}
