import Foundation
import ExporterTestKit
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing
import WorkloadAPISimulator
import X509

/// The served-certificate probe against real TLS servers on 127.0.0.1 that serve SVID files from
/// a directory, with the exporter's view of identities fed by the Workload API simulator.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ServedCertificateProbeTests {
    func makeProbe(
        _ target: ProbeTarget, identities: any ProbeIdentitySource, registry: MetricsRegistry, clock: ShiftableClock,
        interval: Double = 30, timeout: Double = 5
    ) -> ProbeCollector {
        ProbeCollector(
            configuration: ProbeConfiguration(targets: [target], interval: .seconds(interval), timeout: .seconds(timeout)),
            identities: identities, registry: registry, logger: quietLogger, clock: clock.now)
    }

    func failures(_ registry: MetricsRegistry, _ target: String, _ reason: ProbeFailureReason) -> Double? {
        registry.value(MetricCatalog.probeFailures, [target, reason.rawValue])
    }

    /// A server whose reload works: after the simulator rotates and spiffe-helper rewrites the
    /// files, the server presents the new SVID and the probe reports it current.
    @Test func reloadingServerIsCurrentAfterRotation() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let exporter = ExporterHarness()
            let store = exporter.store
            let registry = exporter.registry
            try await withSimulatorAndCollector(directory: directory, clock: clock, exporter: exporter) {
                simulator in
                let serverDirectory = directory + "/server"
                try FileManager.default.createDirectory(atPath: serverDirectory, withIntermediateDirectories: true)
                let original = try simulator.svid(serverID)
                try writeSVIDFiles(original, bundle: [simulator.rootCA], to: serverDirectory)
                let server = try await TestTLSServer.start(directory: serverDirectory, reload: .onChange)
                defer { server.stop() }
                let target = ProbeTarget(name: "server", host: "127.0.0.1", port: server.port, spiffeID: serverID)
                let probe = makeProbe(
                    target, identities: StoreProbeIdentities(store: store, board: exporter.board), registry: registry, clock: clock)

                let first = await probe.probe(target)
                #expect(first.failure == nil, "\(first.detail)")
                #expect(first.served?.leaf.serialNumber == CertificateFacts(original.leaf).serialNumber)
                #expect(first.freshness == .current)

                // The agent rotates (a minute later); the exporter sees it on the Workload API.
                clock.advance(by: 120)
                try simulator.rotate()
                let rotated = try simulator.svid(serverID)
                let rotatedSerial = CertificateFacts(rotated.leaf).serialNumber
                try await eventually("the rotated SVID reaches the store") {
                    store.newestSVID(spiffeID: serverID)?.leaf.serialNumber == rotatedSerial
                }
                // Before spiffe-helper rewrote the files the server still serves the old one.
                let beforeRewrite = await probe.probe(target)
                #expect(beforeRewrite.freshness == .stale(since: rotated.leaf.notValidBefore))

                try writeSVIDFiles(rotated, bundle: [simulator.rootCA], to: serverDirectory)
                let afterReload = await probe.probe(target)
                #expect(afterReload.failure == nil, "\(afterReload.detail)")
                #expect(afterReload.served?.leaf.serialNumber == rotatedSerial)
                #expect(server.loads == 2)

                let scrape = await scrapeProbe(probe, registry: registry, now: clock.now())
                #expect(scrape.value("spiffe_probe_success", ["target": "server"]) == 1)
                #expect(scrape.value("spiffe_served_svid_current", ["target": "server", "spiffe_id": serverID]) == 1)
                #expect(scrape.value("spiffe_served_svid_stale_seconds", ["target": "server"]) == 0)
                #expect(
                    scrape.value(
                        "spiffe_served_svid_expiry_timestamp_seconds", ["target": "server", "spiffe_id": serverID])
                        == rotated.leaf.notValidAfter.timeIntervalSince1970)
                let duration = try #require(scrape.value("spiffe_probe_duration_seconds", ["target": "server"]))
                #expect(duration > 0 && duration < 5)
                for reason in ProbeFailureReason.allCases {
                    #expect(
                        scrape.value("spiffe_probe_failures_total", ["target": "server", "reason": reason.rawValue])
                            == 0)
                }
            }
        }
    }

    /// A server whose reload never fires keeps serving the old SVID after rotation: the probe loop
    /// reports it as not current, and the stale duration grows with the scrape time.
    @Test func serverIgnoringRotationIsStale() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let exporter = ExporterHarness()
            let store = exporter.store
            let registry = exporter.registry
            try await withSimulatorAndCollector(directory: directory, clock: clock, exporter: exporter) {
                simulator in
                let serverDirectory = directory + "/server"
                try FileManager.default.createDirectory(atPath: serverDirectory, withIntermediateDirectories: true)
                let original = try simulator.svid(serverID)
                let originalSerial = CertificateFacts(original.leaf).serialNumber
                try writeSVIDFiles(original, bundle: [simulator.rootCA], to: serverDirectory)
                let server = try await TestTLSServer.start(directory: serverDirectory, reload: .never)
                defer { server.stop() }
                let target = ProbeTarget(name: "server", host: "127.0.0.1", port: server.port, spiffeID: serverID)
                // The Service itself, probing every 100 ms.
                let probe = makeProbe(
                    target, identities: StoreProbeIdentities(store: store, board: exporter.board), registry: registry, clock: clock,
                    interval: 0.1, timeout: 5)

                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await probe.run() }
                    defer { group.cancelAll() }
                    try await eventually("a first successful probe") {
                        probe.contributor.result(target: "server")?.freshness == .current
                    }

                    clock.advance(by: 120)
                    try simulator.rotate()
                    let rotated = try simulator.svid(serverID)
                    try writeSVIDFiles(rotated, bundle: [simulator.rootCA], to: serverDirectory)
                    let stale = try await eventually("the probe sees the superseded SVID") { () -> ProbeResult? in
                        guard let result = probe.contributor.result(target: "server"), case .stale = result.freshness
                        else {
                            return nil
                        }
                        return result
                    }
                    #expect(stale.failure == nil, "\(stale.detail)")
                    #expect(stale.served?.leaf.serialNumber == originalSerial)
                    #expect(stale.freshness == .stale(since: rotated.leaf.notValidBefore))
                    #expect(server.loads == 1)

                    let supersededAt = rotated.leaf.notValidBefore
                    let early = await scrapeProbe(probe, registry: registry, now: supersededAt.addingTimeInterval(100))
                    let later = await scrapeProbe(probe, registry: registry, now: supersededAt.addingTimeInterval(160))
                    #expect(early.value("spiffe_probe_success", ["target": "server"]) == 1)
                    #expect(
                        early.value("spiffe_served_svid_current", ["target": "server", "spiffe_id": serverID]) == 0)
                    #expect(early.value("spiffe_served_svid_stale_seconds", ["target": "server"]) == 100)
                    #expect(later.value("spiffe_served_svid_stale_seconds", ["target": "server"]) == 160)
                    #expect(
                        early.value(
                            "spiffe_served_svid_expiry_timestamp_seconds", ["target": "server", "spiffe_id": serverID])
                            == original.leaf.notValidAfter.timeIntervalSince1970)

                    // Stuck through a second rotation: still superseded since the first one.
                    clock.advance(by: 120)
                    try simulator.rotate()
                    let second = CertificateFacts(try simulator.svid(serverID).leaf).serialNumber
                    try await eventually("the second rotation reaches the store") {
                        store.newestSVID(spiffeID: serverID)?.leaf.serialNumber == second
                    }
                    let mark = clock.now()
                    let afterSecond = try await eventually("a probe after the second rotation") { () -> ProbeResult? in
                        guard let result = probe.contributor.result(target: "server"), result.finishedAt > mark else {
                            return nil
                        }
                        return result
                    }
                    #expect(afterSecond.freshness == .stale(since: supersededAt))
                    #expect(afterSecond.served?.leaf.serialNumber == originalSerial)
                }
            }
        }
    }

    /// A server that requires client certificates: the probe presents the exporter's own SVID from
    /// the Workload API and succeeds; an exporter without an SVID of its own (it knows the server's
    /// SVID and bundle from spiffe-helper files only) fails with `no_client_svid`.
    @Test func mutualTLSPresentsTheExporterSVID() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let exporter = ExporterHarness()
            let store = exporter.store
            let registry = exporter.registry
            try await withSimulatorAndCollector(directory: directory, clock: clock, exporter: exporter) {
                simulator in
                let serverDirectory = directory + "/server"
                try FileManager.default.createDirectory(atPath: serverDirectory, withIntermediateDirectories: true)
                try writeSVIDFiles(try simulator.svid(serverID), bundle: [simulator.rootCA], to: serverDirectory)
                let server = try await TestTLSServer.start(
                    directory: serverDirectory, reload: .never, clientRoots: [simulator.rootCA.certificate])
                defer { server.stop() }
                let target = ProbeTarget(name: "mtls", host: "127.0.0.1", port: server.port, spiffeID: serverID)

                let withSVID = makeProbe(
                    target, identities: StoreProbeIdentities(store: store, board: exporter.board), registry: registry, clock: clock)
                let accepted = await withSVID.probe(target)
                #expect(accepted.failure == nil, "\(accepted.detail)")
                #expect(accepted.freshness == .current)
                #expect(server.acceptedClientIDs == [exporterID])

                // Another exporter: no Workload API identity, only the server's spiffe-helper files.
                let filesExporter = ExporterHarness()
                let filesStore = filesExporter.store
                let filesRegistry = filesExporter.registry
                let files = CertFilesCollector(
                    sources: try CertFilesFlags.makeConfigurations(
                        directories: ["server_files=\(serverDirectory)"], globs: []),
                    context: filesExporter.context)
                try await filesExporter.running([files]) {
                    try await eventually("the server's files are loaded") {
                        filesStore.newestSVID(spiffeID: serverID) != nil
                    }
                    let identities = StoreProbeIdentities(
                        store: filesStore, board: filesExporter.board, bundleSources: ["server_files"])
                    #expect(identities.clientSVID() == nil)
                    let withoutSVID = makeProbe(target, identities: identities, registry: filesRegistry, clock: clock)
                    let refused = await withoutSVID.probe(target)
                    #expect(refused.failure == .noClientSVID, "\(refused.detail)")
                    #expect(failures(filesRegistry, "mtls", .noClientSVID) == 1)
                    #expect(failures(filesRegistry, "mtls", .handshakeFailed) == 0)
                    let scrape = await scrapeProbe(withoutSVID, registry: filesRegistry, now: clock.now())
                    #expect(scrape.value("spiffe_probe_success", ["target": "mtls"]) == 0)
                    #expect(
                        scrape.value("spiffe_probe_failures_total", ["target": "mtls", "reason": "no_client_svid"]) == 1
                    )
                    // The server's own SVID was seen and checked before it refused the connection.
                    #expect(
                        scrape.value("spiffe_served_svid_current", ["target": "mtls", "spiffe_id": serverID]) == 1)
                }
                #expect(server.acceptedClientIDs == [exporterID])
            }
        }
    }

    /// TLS 1.2 rejects a missing client certificate inside the handshake rather than after it:
    /// the same two verdicts.
    @Test func mutualTLSOverTLS12() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let exporter = ExporterHarness()
            let store = exporter.store
            let registry = exporter.registry
            try await withSimulatorAndCollector(directory: directory, clock: clock, exporter: exporter) {
                simulator in
                let serverDirectory = directory + "/server"
                try FileManager.default.createDirectory(atPath: serverDirectory, withIntermediateDirectories: true)
                try writeSVIDFiles(try simulator.svid(serverID), bundle: [simulator.rootCA], to: serverDirectory)
                let server = try await TestTLSServer.start(
                    directory: serverDirectory, reload: .never, clientRoots: [simulator.rootCA.certificate],
                    maximumTLSVersion: .tlsv12)
                defer { server.stop() }
                let target = ProbeTarget(name: "mtls12", host: "127.0.0.1", port: server.port, spiffeID: serverID)
                let probe = makeProbe(
                    target, identities: StoreProbeIdentities(store: store, board: exporter.board), registry: registry, clock: clock)
                let accepted = await probe.probe(target)
                #expect(accepted.failure == nil, "\(accepted.detail)")
                #expect(server.acceptedClientIDs == [exporterID])

                // The same exporter view with its own SVID gone (the agent withdrew it).
                let bundleOnly = StoreProbeIdentities(
                    store: store, board: exporter.board, clientSource: "no_such_source", bundleSources: ["workload_api"])
                let refused = await makeProbe(target, identities: bundleOnly, registry: registry, clock: clock).probe(
                    target)
                #expect(refused.failure == .noClientSVID, "\(refused.detail)")
            }
        }
    }

    /// A server presenting a certificate from another trust domain's CA, or an impostor of the
    /// expected SPIFFE ID signed by a foreign CA, is `untrusted`.
    @Test func foreignTrustDomainIsUntrusted() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let exporter = ExporterHarness()
            let store = exporter.store
            let registry = exporter.registry
            try await withSimulatorAndCollector(directory: directory, clock: clock, exporter: exporter) {
                _ in
                let now = clock.now()
                let foreignCA = try SVIDFactory.rootCA(
                    trustDomain: "evil.example", notBefore: now.addingTimeInterval(-600),
                    notAfter: now.addingTimeInterval(86400))
                let foreign = try SVIDFactory.svid(
                    spiffeID: "spiffe://evil.example/server", issuer: foreignCA, notBefore: now.addingTimeInterval(-60),
                    notAfter: now.addingTimeInterval(3600))
                let serverDirectory = directory + "/server"
                try FileManager.default.createDirectory(atPath: serverDirectory, withIntermediateDirectories: true)
                try writeSVIDFiles(foreign, bundle: [foreignCA], to: serverDirectory)
                let server = try await TestTLSServer.start(directory: serverDirectory, reload: .onChange)
                defer { server.stop() }
                let expecting = ProbeTarget(name: "foreign", host: "127.0.0.1", port: server.port, spiffeID: serverID)
                let anyID = ProbeTarget(name: "foreign_any", host: "127.0.0.1", port: server.port)
                let probe = ProbeCollector(
                    configuration: ProbeConfiguration(targets: [expecting, anyID], timeout: .seconds(5)),
                    identities: StoreProbeIdentities(store: store, board: exporter.board), registry: registry, logger: quietLogger,
                    clock: clock.now)

                let result = await probe.probe(expecting)
                #expect(result.failure == .untrusted, "\(result.detail)")
                #expect(result.served == nil)
                #expect((await probe.probe(anyID)).failure == .untrusted)

                // The expected SPIFFE ID, but issued by the foreign CA.
                let impostor = try SVIDFactory.svid(
                    spiffeID: serverID, issuer: foreignCA, notBefore: now.addingTimeInterval(-60),
                    notAfter: now.addingTimeInterval(3600))
                try writeSVIDFiles(impostor, bundle: [foreignCA], to: serverDirectory)
                let impostorResult = await probe.probe(expecting)
                #expect(impostorResult.failure == .untrusted, "\(impostorResult.detail)")
                #expect(impostorResult.served == nil)

                #expect(failures(registry, "foreign", .untrusted) == 2)
                let scrape = await scrapeProbe(probe, registry: registry, now: clock.now())
                #expect(scrape.value("spiffe_probe_success", ["target": "foreign"]) == 0)
                #expect(!scrape.has("spiffe_served_svid_current"))
                #expect(!scrape.has("spiffe_served_svid_stale_seconds"))
                #expect(!scrape.has("spiffe_served_svid_expiry_timestamp_seconds"))
            }
        }
    }

    /// A trusted server presenting another SPIFFE ID than the target expects.
    @Test func otherSPIFFEIDIsWrongSPIFFEID() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let exporter = ExporterHarness()
            let store = exporter.store
            let registry = exporter.registry
            try await withSimulatorAndCollector(directory: directory, clock: clock, exporter: exporter) {
                simulator in
                let serverDirectory = directory + "/server"
                try FileManager.default.createDirectory(atPath: serverDirectory, withIntermediateDirectories: true)
                try writeSVIDFiles(try simulator.svid(serverID), bundle: [simulator.rootCA], to: serverDirectory)
                let server = try await TestTLSServer.start(directory: serverDirectory, reload: .never)
                defer { server.stop() }
                let target = ProbeTarget(
                    name: "server", host: "127.0.0.1", port: server.port, spiffeID: "spiffe://example.org/payments",
                    serverName: "server.example.org")
                let probe = makeProbe(
                    target, identities: StoreProbeIdentities(store: store, board: exporter.board), registry: registry, clock: clock)
                let result = await probe.probe(target)
                #expect(result.failure == .wrongSPIFFEID, "\(result.detail)")
                #expect(failures(registry, "server", .wrongSPIFFEID) == 1)
            }
        }
    }

    /// Nothing listening, and a listener that never speaks TLS.
    @Test func connectRefusedAndTimeout() async throws {
        let clock = ShiftableClock()
        let registry = MetricsRegistry()
        let refusedTarget = ProbeTarget(name: "closed", host: "127.0.0.1", port: try await closedPort())
        let silent = try await SilentServer.start()
        defer { silent.stop() }
        let silentTarget = ProbeTarget(name: "silent", host: "127.0.0.1", port: silent.port)
        let probe = ProbeCollector(
            configuration: ProbeConfiguration(
                targets: [refusedTarget, silentTarget], interval: .seconds(30), timeout: .milliseconds(500)),
            identities: StoreProbeIdentities(store: IdentityStore(), board: SourceBoard()), registry: registry, logger: quietLogger,
            clock: clock.now)

        let refused = await probe.probe(refusedTarget)
        #expect(refused.failure == .connectRefused, "\(refused.detail)")
        let timedOut = await probe.probe(silentTarget)
        #expect(timedOut.failure == .timeout, "\(timedOut.detail)")
        #expect(timedOut.duration >= 0.5 && timedOut.duration < 5)
        #expect(failures(registry, "closed", .connectRefused) == 1)
        #expect(failures(registry, "silent", .timeout) == 1)
        #expect(failures(registry, "silent", .connectRefused) == 0)
    }
}
