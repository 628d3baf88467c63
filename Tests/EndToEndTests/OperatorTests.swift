import Foundation
import TestKit
import Testing

/// Operator-facing behaviour of the binary: config file, reload, --strict, check, shutdown.
@Suite("operator experience", .timeLimit(.minutes(2)))
struct OperatorTests {
    /// Runs the demo and returns its simulated agent's socket path.
    static func demoSocket(_ demo: ExporterProcess) async throws -> String {
        try await eventually("the demo logs its socket\n\(demo.transcript)") {
            try captures(#"socket=(\S+agent\.sock)"#, in: demo.stderr)?.first
        }
    }

    static func metricsURL(_ exporter: ExporterProcess) async throws -> String {
        "http://\(try await EndToEndTests.listeningAddress(exporter))/metrics"
    }

    @Test("config file: reload by POST /-/reload and SIGHUP; a bad file keeps the running config")
    func configReload() async throws {
        try await withTemporaryDirectory { dir in
            try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"]) { demo in
                let socket = try await Self.demoSocket(demo)
                let config = dir + "/config.yml"
                func write(_ source: String, probe: Bool = false) throws {
                    // A probe target nothing listens on: its failure counter lives in the registry.
                    let probes = probe ? "probes:\n  interval: 1s\n  targets:\n    - name: gone\n      address: 127.0.0.1:1\n" : ""
                    try "workload_api:\n  - name: \(source)\n    address: unix://\(socket)\nweb:\n  listen_address: 127.0.0.1:0\n\(probes)"
                        .write(toFile: config, atomically: true, encoding: .utf8)
                }
                try write("agent_a", probe: true)
                try await withExporter(["--config.file", config]) { exporter in
                    let url = try await Self.metricsURL(exporter)
                    let base = String(url.dropLast("/metrics".count))
                    try await eventually("agent_a synced, probe target failing") {
                        let scrape = Scrape(text: try await httpGet(url).body)
                        return scrape.samples("spiffe_x509_svid_valid", ["source": "agent_a"]).count == 2
                            && !scrape.samples("spiffe_probe_failures_total", ["target": "gone"]).isEmpty
                    }
                    #expect(Scrape(text: try await httpGet(url).body).value("spiffe_exporter_config_last_reload_successful") == 1)

                    try write("agent_b")
                    let reload = try await runTool("/usr/bin/env", ["curl", "-sS", "-X", "POST", base + "/-/reload"])
                    #expect(String(decoding: reload.stdout, as: UTF8.self) == "config reloaded\n")
                    try await eventually("agent_b replaces agent_a") {
                        let scrape = Scrape(text: try await httpGet(url).body)
                        return scrape.samples("spiffe_x509_svid_valid", ["source": "agent_b"]).count == 2
                            && scrape.samples("spiffe_x509_svid_valid", ["source": "agent_a"]).isEmpty
                    }
                    // Nothing of the removed source or probe target stays behind.
                    let reloaded = try await httpGet(url).body
                    #expect(!reloaded.contains(#"source="agent_a""#))
                    #expect(!reloaded.contains(#"target="gone""#))

                    try "workload_api: [unclosed".write(toFile: config, atomically: true, encoding: .utf8)
                    let bad = try await runTool("/usr/bin/env", ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", base + "/-/reload"])
                    #expect(String(decoding: bad.stdout, as: UTF8.self) == "500")
                    let after = Scrape(text: try await httpGet(url).body)
                    #expect(after.value("spiffe_exporter_config_last_reload_successful") == 0)
                    #expect(after.samples("spiffe_x509_svid_valid", ["source": "agent_b"]).count == 2)

                    try write("agent_c")
                    exporter.signal(SIGHUP)
                    try await eventually("SIGHUP reloads to agent_c") {
                        let scrape = Scrape(text: try await httpGet(url).body)
                        return scrape.samples("spiffe_x509_svid_valid", ["source": "agent_c"]).count == 2
                            && scrape.value("spiffe_exporter_config_last_reload_successful") == 1
                    }
                }
            }
        }
    }

    @Test("--config.check reports every problem with file and line, exit 1; a good file exits 0")
    func configCheck() async throws {
        try await withTemporaryDirectory { dir in
            let bad = dir + "/bad.yml"
            try "web:\n  listen_adress: x\nlog:\n  level: loud\n".write(toFile: bad, atomically: true, encoding: .utf8)
            try await withExporter(["--config.file", bad, "--config.check"]) { exporter in
                let exit = try await exporter.waitForExit()
                #expect(exit.status == 1)
                #expect(exporter.stderr.contains("bad.yml:2: web: unknown key \"listen_adress\""))
                #expect(exporter.stderr.contains("bad.yml:4: log.level"))
            }
            let good = dir + "/good.yml"
            try "web:\n  listen_address: 127.0.0.1:0\nrenewal:\n  deadline_fraction: 0.6\n".write(toFile: good, atomically: true, encoding: .utf8)
            try await withExporter(["--config.file", good, "--config.check"]) { exporter in
                let status = try await exporter.waitForExit().status
                #expect(status == 0)
                #expect(exporter.stdout == "configuration OK\n")
            }
        }
    }

    @Test("--strict exits non-zero when the agent is unreachable")
    func strictFailsFast() async throws {
        try await withExporter([
            "--strict", "--web.listen-address", "127.0.0.1:0", "--collector.workload-api.timeout", "1s",
            "--collector.workload-api.address", "unix:///tmp/spx-strict-missing/agent.sock",
        ]) { exporter in
            let exit = try await exporter.waitForExit(timeout: .seconds(20))
            #expect(exit.status != 0)
            #expect(exporter.stderr.contains("strict"))
        }
    }

    @Test("--strict keeps running when every source syncs with valid SVIDs; SIGTERM stops it within 5 s")
    func strictHealthyAndGracefulShutdown() async throws {
        try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"]) { demo in
            let socket = try await Self.demoSocket(demo)
            try await withExporter([
                "--strict", "--web.listen-address", "127.0.0.1:0", "--collector.workload-api.address", "unix://\(socket)",
            ]) { exporter in
                let url = try await Self.metricsURL(exporter)
                try await eventually("strict check passed\n\(exporter.transcript)") {
                    exporter.stderr.contains("every source synced with valid SVIDs")
                }
                #expect(try await httpGet(url).status == 200)
                exporter.signal(SIGTERM)
                // The bounded wait is the check that the exporter exits promptly.
                let exit = try await exporter.waitForExit(timeout: .seconds(5))
                #expect(exit.status == 0)
            }
        }
    }

    @Test("check: exit 0 against a healthy agent, 3 when it cannot connect, JSON output parses")
    func checkExitCodes() async throws {
        try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"]) { demo in
            let socket = try await Self.demoSocket(demo)
            try await withExporter(["check", "--address", "unix://\(socket)", "--jwt-audience", "spiffe-exporter-demo"]) { check in
                let status = try await check.waitForExit().status
                #expect(status == 0)
                #expect(check.stdout.contains("OK: 4 identities checked"))
            }
            try await withExporter(["check", "--address", "unix://\(socket)", "--output", "json"]) { check in
                let status = try await check.waitForExit().status
                #expect(status == 0)
                let object = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any]
                #expect(object?["status"] as? String == "OK")
            }
        }
        try await withExporter(["check", "--address", "unix:///tmp/spx-no-agent/agent.sock", "--timeout", "2s"]) { check in
            let status = try await check.waitForExit().status
                #expect(status == 3)
            #expect(check.stdout.contains("socket_not_found"))
            #expect(check.stdout.contains("hint:"))
        }
        try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0", "--demo.fault", "expired-svid"]) { demo in
            let socket = try await Self.demoSocket(demo)
            try await withExporter(["check", "--address", "unix://\(socket)"]) { check in
                let status = try await check.waitForExit().status
                #expect(status == 2)
                #expect(check.stdout.contains("CRITICAL"))
            }
        }
    }
}
