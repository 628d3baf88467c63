import ExporterTestKit
import Foundation
import SVIDFactory
import TestKit
import Testing
import WorkloadAPISimulator

#if canImport(Glibc)
    import Glibc
#endif

/// The exporter needs only read access: it runs as `nobody` (uid/gid 65534, no supplementary
/// groups) against a Workload API socket it may connect to and a spiffe-helper directory it may
/// read. This is also the real permission test that root-run tests cannot do: root bypasses file
/// modes, `nobody` gets EACCES for a 0600 key and the collector reports `permission_denied`.
@Suite("Running as an unprivileged user", .timeLimit(.minutes(1)))
struct UnprivilegedUserTests {
    static let setpriv = "/usr/bin/setpriv"
    static var canDropPrivileges: Bool { geteuid() == 0 && FileManager.default.isExecutableFile(atPath: setpriv) }

    @Test(
        "as nobody: Workload API and cert files work; an unreadable key is permission_denied",
        .enabled(if: canDropPrivileges, "needs root and setpriv(1) to switch to nobody"))
    func runsAsNobody() async throws {
        try await Self.withAgent { directory, _, socketPath in
            // Connecting to a unix socket needs write permission on it; the agent's is 0777.
            #expect(chmod(socketPath, 0o777) == 0)
            try await Self.scrapeAsNobody(directory: directory, socketPath: socketPath)
        }
    }

    /// A simulated agent in a fresh directory that `nobody` may search, stopped after `body`.
    static func withAgent(_ body: (String, WorkloadAPISimulator, String) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            #expect(chmod(directory, 0o755) == 0)
            let configuration = SimulatorConfiguration(socketPath: directory + "/agent.sock")
            let simulator = try WorkloadAPISimulator(configuration: configuration)
            try await simulator.start()
            do {
                try await body(directory, simulator, configuration.socketPath)
                await simulator.stop()
            } catch {
                await simulator.stop()
                throw error
            }
        }
    }

    @Test(
        "as nobody: a socket it may not connect to is permission_denied, and a chmod recovers it",
        .enabled(if: canDropPrivileges, "needs root and setpriv(1) to switch to nobody"))
    func socketWithoutPermission() async throws {
        try await Self.withAgent { _, simulator, socketPath in
            // Root's socket, mode 0700: nobody gets EACCES on connect.
            #expect(chmod(socketPath, 0o700) == 0)
            try await withExporter([
                "--reuid=65534", "--regid=65534", "--clear-groups", "--", try exporterBinary().path,
                "--web.listen-address", "127.0.0.1:0",
                "--collector.workload-api.address", "unix://" + socketPath,
            ], executable: Self.setpriv) { exporter in
                let groups = try await eventually("the exporter listens as nobody\n\(exporter.transcript)") {
                    try captures(#"msg=listening .*address=([0-9.]+):([0-9]+)"#, in: exporter.stderr)
                }
                let url = "http://\(groups[0]):\(groups[1])/metrics"
                let failures = ["source": "workload_api", "reason": "permission_denied"]
                let denied = try await eventually("permission_denied counted twice\n\(exporter.transcript)") {
                    () -> Scrape? in
                    let scrape = Scrape(text: try await httpGet(url).body)
                    return (scrape.value("spiffe_workload_api_connection_failures_total", failures) ?? 0) >= 2
                        ? scrape : nil
                }
                #expect(denied.value("spiffe_workload_api_up", ["source": "workload_api"]) == 0)
                #expect(denied.samples("spiffe_x509_svid_valid").isEmpty)
                try await expectPromtoolClean(denied.text)
                // The agent never saw a call: the connect itself was refused by the kernel.
                #expect(simulator.statistics.calls["FetchX509SVID", default: 0] == 0)
                #expect(exporter.process.isRunning)

                // Fixing the mode is enough: the next attempt (backoff cap 30 s) connects.
                #expect(chmod(socketPath, 0o777) == 0)
                try await eventually(timeout: .seconds(40), "the identity is exported after the chmod") {
                    let scrape = Scrape(text: try await httpGet(url).body)
                    return scrape.value("spiffe_workload_api_up", ["source": "workload_api"]) == 1
                        && scrape.value("spiffe_x509_svid_valid", ["source": "workload_api"]) == 1
                }
                #expect(simulator.statistics.calls["FetchX509SVID", default: 0] == 1)
            }
        }
    }

    static func writeHelperDirectory(_ path: String, id: String, keyMode: mode_t) throws {
        let now = Date()
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now - 60, notAfter: now + 7200)
        let svid = try SVIDFactory.svid(spiffeID: id, issuer: root, notBefore: now - 60, notAfter: now + 3600)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o755)
        for (name, text) in [
            ("svid.pem", svid.chainPEM), ("svid_key.pem", svid.keyPEM),
            ("svid_bundle.pem", SVIDFactory.pem("CERTIFICATE", root.der)),
        ] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/" + name))
            chmod(path + "/" + name, name == "svid_key.pem" ? keyMode : 0o644)
        }
    }

    static func scrapeAsNobody(directory: String, socketPath: String) async throws {
        try writeHelperDirectory(directory + "/readable", id: "spiffe://example.org/readable", keyMode: 0o644)
        try writeHelperDirectory(directory + "/locked", id: "spiffe://example.org/locked", keyMode: 0o600)
        let binary = try exporterBinary().path
        try await withExporter([
            "--reuid=65534", "--regid=65534", "--clear-groups", "--", binary,
            "--web.listen-address", "127.0.0.1:0", "--collector.workload-api.address", "unix://" + socketPath,
            "--collector.cert-files.dir", "readable=" + directory + "/readable",
            "--collector.cert-files.dir", "locked=" + directory + "/locked",
            "--collector.cert-files.refresh-interval", "1s",
        ], executable: setpriv) { exporter in
            let groups = try await eventually("the exporter listens as nobody\n\(exporter.transcript)") {
                try captures(#"msg=listening .*address=([0-9.]+):([0-9]+)"#, in: exporter.stderr)
            }
            let url = "http://\(groups[0]):\(groups[1])/metrics"
            let scrape = try await eventually("all three sources report\n\(exporter.transcript)") { () -> Scrape? in
                let scrape = Scrape(text: try await httpGet(url).body)
                let ready = scrape.value("spiffe_x509_svid_valid", ["source": "workload_api"]) == 1
                    && scrape.value("spiffe_x509_svid_valid", ["source": "readable"]) == 1
                    && (scrape.value("spiffe_cert_file_load_errors_total", ["source": "locked", "reason": "permission_denied"]) ?? 0) >= 1
                return ready ? scrape : nil
            }
            // The certificate of the locked directory is still monitored; only the key is unreadable.
            #expect(scrape.value("spiffe_x509_svid_valid", ["source": "locked"]) != nil)
            let status = try String(contentsOfFile: "/proc/\(exporter.process.processIdentifier)/status", encoding: .utf8)
            #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"), "not running as nobody: \(status)")
            #expect(status.contains("CapEff:\t0000000000000000"), "the exporter holds capabilities")

            // Making the key readable recovers the source at the next re-read: the key check runs
            // again and the load succeeds.
            #expect(scrape.value("spiffe_cert_file_last_load_success_timestamp_seconds", ["source": "locked"]) == 0)
            #expect(chmod(directory + "/locked/svid_key.pem", 0o644) == 0)
            try await eventually(timeout: .seconds(10), "the locked source recovers\n\(exporter.transcript)") {
                let scrape = Scrape(text: try await httpGet(url).body)
                return scrape.value("spiffe_x509_svid_valid", ["source": "locked"]) == 1
                    && (scrape.value("spiffe_cert_file_last_load_success_timestamp_seconds", ["source": "locked"]) ?? 0) > 0
            }
        }
    }
}
