import Foundation
import TestKit
import Testing

/// The built `spiffe-exporter` binary as an operator runs it: flags in, HTTP and logs out, signals
/// to stop.
@Suite("spiffe-exporter binary", .timeLimit(.minutes(2)))
struct EndToEndTests {
    static let demoIDs = ["spiffe://example.org/ns/demo/sa/frontend", "spiffe://example.org/ns/demo/sa/backend"]

    /// Labels of an identity from the demo's Workload API source (the demo has other sources too).
    static func workloadAPI(_ spiffeID: String) -> [String: String] {
        ["source": "workload_api", "spiffe_id": spiffeID]
    }

    /// Waits for the demo's "metrics at" line and returns the metrics URL.
    static func demoMetricsURL(_ exporter: ExporterProcess) async throws -> String {
        let groups = try await eventually("the demo prints its metrics URL on stdout\n\(exporter.transcript)") {
            try captures(#"spiffe-exporter demo: metrics at (http://([^\s/:]+):([0-9]+)/metrics)"#, in: exporter.stdout)
        }
        let port = try #require(Int(groups[2]))
        #expect(port > 0 && port != 9841, "asked for port 0, got \(port)")
        #expect(groups[1] == "127.0.0.1")
        return groups[0]
    }

    /// Waits for the logfmt `msg=listening address=HOST:PORT` line on stderr and returns HOST:PORT.
    static func listeningAddress(_ exporter: ExporterProcess) async throws -> String {
        let groups = try await eventually("the exporter logs msg=listening on stderr\n\(exporter.transcript)") {
            try captures(#"msg=listening .*address=([0-9.]+):([0-9]+)"#, in: exporter.stderr)
        }
        let port = try #require(Int(groups[1]))
        #expect(port > 0)
        return "\(groups[0]):\(port)"
    }

    /// Scrapes until both demo SVIDs are exported, returning that scrape.
    static func scrapeWhenDemoSynced(_ url: String) async throws -> Scrape {
        try await eventually("both demo SVIDs appear in /metrics") { () async throws -> Scrape? in
            let response = try await httpGet(url)
            guard response.status == 200 else { return nil }
            let scrape = Scrape(text: response.body)
            let found = Self.demoIDs.compactMap { scrape.value("spiffe_x509_svid_valid", Self.workloadAPI($0)) }
            return found.count == Self.demoIDs.count ? scrape : nil
        }
    }

    @Test("demo: serves both demo SVIDs as valid, passes promtool, stops on SIGTERM")
    func demo() async throws {
        try await withTemporaryDirectory { directory in
            // The demo puts its agent socket under $TMPDIR: keep it in this test's directory.
            try await withExporter(
                ["demo", "--web.listen-address", "127.0.0.1:0"], environment: ["TMPDIR": directory]
            ) { exporter in
                let url = try await Self.demoMetricsURL(exporter)
                let scrape = try await Self.scrapeWhenDemoSynced(url)
                for id in Self.demoIDs {
                    #expect(scrape.value("spiffe_x509_svid_valid", Self.workloadAPI(id)) == 1, "\(id)")
                    let expiresIn = try #require(
                        scrape.value("spiffe_x509_svid_expires_in_seconds", Self.workloadAPI(id)))
                    #expect(expiresIn > 0 && expiresIn <= 121, "default demo TTL is 2m; expires_in \(expiresIn)")
                }
                #expect(scrape.value("spiffe_workload_api_up", ["source": "workload_api"]) == 1)
                #expect(
                    scrape.value(
                        "spiffe_trust_bundle_certificates",
                        ["source": "workload_api", "trust_domain": "partner.example"]) == 1)
                #expect(scrape.samples("spiffe_exporter_build_info").count == 1)

                // Every kind of source shows up in the demo: spiffe-helper files written from the
                // simulator, a glob over them, the node's workloads through the Delegated Identity
                // API, the agent's health, and a probed TLS server serving the rotating backend SVID.
                let full = try await eventually("every demo source delivers\n\(exporter.transcript)") { () async throws -> Scrape? in
                    let scrape = Scrape(text: try await httpGet(url).body)
                    let ready =
                        scrape.value("spiffe_x509_svid_valid", ["source": "spiffe_helper"]) == 1
                        && scrape.samples("spiffe_certificate_expires_in_seconds", ["source": "demo_files"]).count == 2
                        && scrape.samples("spiffe_x509_svid_valid", ["source": "payments"]).count == 2
                        && scrape.samples("spiffe_x509_svid_valid", ["source": "checkout"]).count == 1
                        && scrape.samples("spiffe_x509_svid_valid", ["source": "exporter_process"]).count == 1
                        && scrape.value("spiffe_agent_healthy", ["source": "workload_api"]) == 1
                        && scrape.value("spiffe_probe_success", ["target": "demo_backend"]) == 1
                    return ready ? scrape : nil
                }
                for source in ["spiffe_helper", "payments", "checkout", "exporter_process"] {
                    for sample in full.samples("spiffe_x509_svid_valid", ["source": source]) {
                        #expect(sample.value == 1, "\(source) \(sample.labels)")
                    }
                }
                #expect(full.value("spiffe_served_svid_current", ["target": "demo_backend"]) == 1)
                let check = try await promtoolCheck(full.text)
                #expect(check.status == 0, "promtool check metrics: \(check.output)")

                let ready = try await httpGet(url.replacingOccurrences(of: "/metrics", with: "/readyz"))
                #expect(ready.status == 200)

                exporter.signal(SIGTERM)
                let exit = try await exporter.waitForExit(timeout: .seconds(10))
                #expect(exit.reason == .exit, "terminated by a signal instead of exiting\n\(exporter.transcript)")
                #expect(exit.status == 0, "exit status \(exit.status)\n\(exporter.transcript)")
                // The simulated agent's socket directory is cleaned up on shutdown.
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
                #expect(leftovers.isEmpty, "left behind in $TMPDIR: \(leftovers)")
            }
        }
    }

    @Test("serve without an agent: /metrics 200 with socket_not_found, /readyz 503")
    func serveWithoutAgent() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/nope.sock"
            try await withExporter([
                "--web.listen-address", "127.0.0.1:0", "--collector.workload-api.address", "unix://" + socket,
            ]) { exporter in
                let address = try await Self.listeningAddress(exporter)
                let scrape = try await eventually("socket_not_found is counted") { () async throws -> Scrape? in
                    let response = try await httpGet("http://\(address)/metrics")
                    #expect(response.status == 200)
                    let scrape = Scrape(text: response.body)
                    let failures = scrape.value(
                        "spiffe_workload_api_connection_failures_total",
                        ["source": "workload_api", "reason": "socket_not_found"])
                    return (failures ?? 0) > 0 ? scrape : nil
                }
                #expect(scrape.value("spiffe_workload_api_up", ["source": "workload_api"]) == 0)
                #expect(scrape.samples("spiffe_x509_svid_valid").isEmpty)
                // Every reason exists from the start, so rate() and alerts work before a failure.
                #expect(scrape.samples("spiffe_workload_api_connection_failures_total").count >= 10)
                let check = try await promtoolCheck(scrape.text)
                #expect(check.status == 0, "promtool check metrics: \(check.output)")

                let ready = try await httpGet("http://\(address)/readyz")
                #expect(ready.status == 503)
                #expect(ready.body.contains("workload_api"))
                let health = try await httpGet("http://\(address)/healthz")
                #expect(health.status == 200)
                #expect(exporter.stderr.contains("reason=socket_not_found"))

                exporter.signal(SIGTERM)
                let exit = try await exporter.waitForExit(timeout: .seconds(10))
                #expect(exit.reason == .exit && exit.status == 0, "\(exporter.transcript)")
            }
        }
    }

    struct BadFlag: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        /// What the error must name so the operator knows what to fix.
        var mentions: [String]
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let badFlags: [BadFlag] = [
        BadFlag(
            arguments: ["--collector.workload-api.address", "tcp://example.com:80"],
            mentions: ["--collector.workload-api.address", "tcp://example.com:80", "IP"]),
        BadFlag(arguments: ["--web.listen-address", "nonsense"], mentions: ["--web.listen-address", "nonsense"]),
        BadFlag(arguments: ["--web.listen-address", "127.0.0.1:99999"], mentions: ["--web.listen-address"]),
        BadFlag(arguments: ["demo", "--web.listen-address", "nonsense"], mentions: ["--web.listen-address"]),
        BadFlag(arguments: ["--log.level", "verbose"], mentions: ["--log.level", "verbose"]),
        BadFlag(
            arguments: ["--collector.workload-api.timeout", "soon"], mentions: ["--collector.workload-api.timeout"]),
    ]

    @Test("bad flags exit non-zero with an error that names the flag", arguments: badFlags)
    func badFlag(_ flag: BadFlag) async throws {
        // A listen address that cannot collide if validation were skipped and the server started.
        var arguments = flag.arguments
        if !arguments.contains("--web.listen-address") { arguments += ["--web.listen-address", "127.0.0.1:0"] }
        try await withExporter(arguments) { exporter in
            let exit = try await exporter.waitForExit(timeout: .seconds(10))
            #expect(exit.reason == .exit)
            #expect(exit.status != 0, "exit status 0\n\(exporter.transcript)")
            let errors = exporter.stderr
            #expect(errors.contains("Error:"), "\(exporter.transcript)")
            for text in flag.mentions {
                #expect(errors.contains(text), "the error does not mention \(text): \(errors)")
            }
            // Nothing was served.
            #expect(!errors.contains("msg=listening"))
        }
    }

    @Test("demo with a 10 s SVID TTL rotates at half-life and the exported expiry moves")
    func demoRotation() async throws {
        try await withTemporaryDirectory { directory in
            try await withExporter(
                ["demo", "--web.listen-address", "127.0.0.1:0", "--demo.svid-ttl", "10s"],
                environment: ["TMPDIR": directory]
            ) { exporter in
                let url = try await Self.demoMetricsURL(exporter)
                let first = try await Self.scrapeWhenDemoSynced(url)
                let id = Self.demoIDs[0]
                let initialExpiry = try #require(
                    first.value("spiffe_x509_svid_expiry_timestamp_seconds", Self.workloadAPI(id)))
                let rotated = try await eventually(timeout: .seconds(20), "the expiry of \(id) changes") {
                    () async throws -> Scrape? in
                    let scrape = Scrape(text: try await httpGet(url).body)
                    let expiry = scrape.value("spiffe_x509_svid_expiry_timestamp_seconds", Self.workloadAPI(id))
                    return expiry.map { $0 != initialExpiry } == true ? scrape : nil
                }
                let newExpiry = try #require(
                    rotated.value("spiffe_x509_svid_expiry_timestamp_seconds", Self.workloadAPI(id)))
                // Rotation at half of 10 s moves the expiry on by about 5 s.
                #expect(newExpiry > initialExpiry)
                #expect(newExpiry - initialExpiry <= 11, "expiry moved by \(newExpiry - initialExpiry) s")
                for id in Self.demoIDs {
                    #expect(rotated.value("spiffe_x509_svid_valid", Self.workloadAPI(id)) == 1, "\(id)")
                }
                let updates = try #require(
                    rotated.value(
                        "spiffe_workload_api_updates_total", ["source": "workload_api", "rpc": "FetchX509SVID"]))
                #expect(updates >= 2)

                exporter.signal(SIGTERM)
                let exit = try await exporter.waitForExit(timeout: .seconds(10))
                #expect(exit.status == 0, "\(exporter.transcript)")
            }
        }
    }
}
