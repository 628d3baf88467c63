import Foundation
import SVIDFactory
import TestKit
import Testing

/// The operator contract in full: where the agent address comes from (flag > environment > config
/// file > default), --strict over every kind of source, JSON logs, SIGINT, the reload timestamp,
/// and renamed Workload API sources feeding the probe and the agent health check.
@Suite("operator matrix", .timeLimit(.minutes(3)))
struct OperatorMatrixTests {
    static let nowhere = "unix:///tmp/spx-matrix-nowhere/agent.sock"

    /// Starts the exporter and waits until the source named `source` holds the demo's two SVIDs.
    static func expectSyncs(
        _ arguments: [String], environment: [String: String] = [:], source: String = "workload_api",
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        try await withExporter(arguments + ["--web.listen-address", "127.0.0.1:0"], environment: environment) { exporter in
            let url = try await OperatorTests.metricsURL(exporter)
            try await eventually("\(source) holds the demo's SVIDs\n\(exporter.transcript)", sourceLocation: sourceLocation) {
                Scrape(text: try await httpGet(url).body).samples("spiffe_x509_svid_valid", ["source": source]).count == 2
            }
        }
    }

    @Test("the agent address: flag over SPIFFE_ENDPOINT_SOCKET over the config file over the default")
    func addressPrecedence() async throws {
        try await withTemporaryDirectory { dir in
            try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"]) { demo in
                let socket = "unix://" + (try await OperatorTests.demoSocket(demo))
                let env = "SPIFFE_ENDPOINT_SOCKET"
                func config(_ address: String) throws -> String {
                    let path = dir + "/\(UUID().uuidString).yml"
                    try "workload_api:\n  - name: workload_api\n    address: \(address)\n".write(toFile: path, atomically: true, encoding: .utf8)
                    return path
                }
                // The environment alone, as the SPIFFE spec has workloads find the agent.
                try await Self.expectSyncs([], environment: [env: socket])
                // The flag wins over the environment.
                try await Self.expectSyncs(["--collector.workload-api.address", socket], environment: [env: Self.nowhere])
                // The environment wins over the config file.
                try await Self.expectSyncs(["--config.file", try config(Self.nowhere)], environment: [env: socket])
                // The config file alone.
                try await Self.expectSyncs(["--config.file", try config(socket)])
                // The flag wins over the config file.
                try await Self.expectSyncs(["--config.file", try config(Self.nowhere), "--collector.workload-api.address", socket])
            }
            // Nothing given: SPIRE's default socket, which is not there on a test machine.
            try await withExporter(["--web.listen-address", "127.0.0.1:0"]) { exporter in
                try await eventually("the default address is used\n\(exporter.transcript)") {
                    exporter.stderr.contains("unix:///tmp/spire-agent/public/api.sock")
                }
            }
        }
    }

    @Test("several agents from flags alone: --collector.workload-api.source adds named sources")
    func severalAgentsByFlag() async throws {
        try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"]) { first in
            try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"]) { second in
                let a = "unix://" + (try await OperatorTests.demoSocket(first))
                let b = "unix://" + (try await OperatorTests.demoSocket(second))
                try await withExporter([
                    "--web.listen-address", "127.0.0.1:0", "--collector.workload-api.address", a,
                    "--collector.workload-api.source", "node_b=\(b)",
                ]) { exporter in
                    let url = try await OperatorTests.metricsURL(exporter)
                    try await eventually("both agents' SVIDs and health\n\(exporter.transcript)") {
                        let scrape = Scrape(text: try await httpGet(url).body)
                        return scrape.samples("spiffe_x509_svid_valid", ["source": "workload_api"]).count == 2
                            && scrape.samples("spiffe_x509_svid_valid", ["source": "node_b"]).count == 2
                            && scrape.value("spiffe_agent_healthy", ["source": "node_b"]) == 1
                            && scrape.value("spiffe_workload_api_up", ["source": "node_b"]) == 1
                    }
                }
            }
        }
        for (arguments, message) in [
            (["--collector.workload-api.source", "workload_api=\(Self.nowhere)"], "is used twice"),
            (["--collector.workload-api.source", "no-address"], "expected NAME=ADDRESS"),
            (["--collector.workload-api.source", "b=tcp://example.org:1"], "--collector.workload-api.source"),
            (
                ["--collector.workload-api.source", "x=\(Self.nowhere)", "--collector.cert-files.dir", "x=/tmp"],
                "already a Workload API source"
            ),
        ] {
            try await withExporter(arguments + ["--config.check"]) { exporter in
                let exit = try await exporter.waitForExit()
                #expect(exit.status != 0)
                #expect(exporter.stderr.contains(message), "\(exporter.transcript)")
            }
        }
    }

    @Test("--log.format=json writes one JSON object per line with an RFC 3339 UTC timestamp")
    func jsonLogs() async throws {
        try await withExporter([
            "--web.listen-address", "127.0.0.1:0", "--log.format", "json", "--collector.workload-api.address", Self.nowhere,
        ]) { exporter in
            try await eventually("a connection failure is logged\n\(exporter.transcript)") {
                exporter.stderr.contains("socket_not_found")
            }
            let lines = exporter.stderr.split(separator: "\n")
            #expect(lines.count >= 2)
            for line in lines {
                let object = try #require(
                    try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
                let ts = try #require(object["ts"] as? String)
                #expect(ts.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "ts \(ts)")
                #expect(object["level"] is String)
                #expect(object["msg"] is String)
            }
        }
    }

    @Test("SIGINT stops the exporter cleanly within 5 s, like SIGTERM")
    func sigint() async throws {
        try await withExporter(["--web.listen-address", "127.0.0.1:0", "--collector.workload-api.address", Self.nowhere]) { exporter in
            _ = try await EndToEndTests.listeningAddress(exporter)
            exporter.signal(SIGINT)
            // The bounded wait is the check that the exporter exits promptly.
            let exit = try await exporter.waitForExit(timeout: .seconds(5))
            #expect(exit.reason == .exit && exit.status == 0, "\(exporter.transcript)")
        }
    }

    @Test("--strict covers certificate-file sources: a directory without an SVID fails the start, a good one passes")
    func strictCertFiles() async throws {
        func strictOn(_ directory: String) -> [String] {
            [
                "--strict", "--no-collector.workload-api", "--web.listen-address", "127.0.0.1:0",
                "--collector.cert-files.dir", "helper=\(directory)",
            ]
        }
        func expectRefused(_ directory: String, mentioning text: String) async throws {
            try await withExporter(strictOn(directory)) { exporter in
                let exit = try await exporter.waitForExit(timeout: .seconds(20))
                #expect(exit.status != 0)
                #expect(exporter.stderr.contains(text), "\(exporter.transcript)")
            }
        }
        try await withTemporaryDirectory { dir in
            let empty = dir + "/empty"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
            try await expectRefused(empty, mentioning: "helper")

            let good = dir + "/good"
            try FileManager.default.createDirectory(atPath: good, withIntermediateDirectories: true)
            let now = Date()
            let root = try SVIDFactory.rootCA(
                trustDomain: "example.org", notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86400))
            func writeSVID(notBefore: TimeInterval, notAfter: TimeInterval) throws {
                let svid = try SVIDFactory.svid(
                    spiffeID: "spiffe://example.org/web", issuer: root, notBefore: now.addingTimeInterval(notBefore),
                    notAfter: now.addingTimeInterval(notAfter))
                try svid.chainPEM.write(toFile: good + "/svid.pem", atomically: true, encoding: .utf8)
                try svid.keyPEM.write(toFile: good + "/svid_key.pem", atomically: true, encoding: .utf8)
            }
            try writeSVID(notBefore: -10, notAfter: 3600)
            try SVIDFactory.pem("CERTIFICATE", root.der).write(toFile: good + "/svid_bundle.pem", atomically: true, encoding: .utf8)
            try await withExporter(strictOn(good)) { exporter in
                try await eventually("strict check passed\n\(exporter.transcript)") {
                    exporter.stderr.contains("every source synced with valid SVIDs")
                }
            }

            // An expired SVID is synced but not valid: the start fails too.
            try writeSVID(notBefore: -7200, notAfter: -3600)
            try await expectRefused(good, mentioning: "expired")
        }
    }

    @Test("a renamed Workload API source: the probe presents its SVID, agent health carries its name, reloads are timestamped")
    func renamedSourceFeedsProbeAndHealth() async throws {
        try await withTemporaryDirectory { dir in
            try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"]) { demo in
                let socket = try await OperatorTests.demoSocket(demo)
                // The demo's TLS server requires a client SVID of its trust domain (mTLS).
                let port = try await eventually("the demo TLS server logs its port\n\(demo.transcript)") {
                    try captures(#"demo TLS server listening.*port=(\d+)"#, in: demo.stderr)?.first
                }
                let config = dir + "/config.yml"
                try """
                    workload_api:
                      - name: agent_a
                        address: unix://\(socket)
                    probes:
                      interval: 1s
                      targets:
                        - name: backend
                          address: 127.0.0.1:\(port)
                          spiffe_id: spiffe://example.org/ns/demo/sa/backend
                    web:
                      listen_address: 127.0.0.1:0

                    """.write(toFile: config, atomically: true, encoding: .utf8)
                let started = Date().timeIntervalSince1970
                try await withExporter(["--config.file", config]) { exporter in
                    let url = try await OperatorTests.metricsURL(exporter)
                    try await eventually("the probe succeeds with agent_a's SVID; agent_a's agent is healthy\n\(exporter.transcript)") {
                        let scrape = Scrape(text: try await httpGet(url).body)
                        return scrape.value("spiffe_probe_success", ["target": "backend"]) == 1
                            && scrape.value("spiffe_agent_healthy", ["source": "agent_a"]) == 1
                    }
                    let scrape = Scrape(text: try await httpGet(url).body)
                    #expect(scrape.samples("spiffe_agent_healthy", ["source": "workload_api"]).isEmpty)
                    let loaded = try #require(scrape.value("spiffe_exporter_config_last_reload_success_timestamp_seconds"))
                    #expect(loaded >= started.rounded(.down) && loaded <= Date().timeIntervalSince1970 + 1)

                    // A failed reload leaves the success timestamp where it was.
                    try "workload_api: [unclosed".write(toFile: config, atomically: true, encoding: .utf8)
                    exporter.signal(SIGHUP)
                    try await eventually("the failed reload is reported") {
                        Scrape(text: try await httpGet(url).body).value("spiffe_exporter_config_last_reload_successful") == 0
                    }
                    let after = Scrape(text: try await httpGet(url).body)
                    #expect(after.value("spiffe_exporter_config_last_reload_success_timestamp_seconds") == loaded)
                }
            }
        }
    }
}
