import ExporterTestKit
import Foundation
import TestKit
import Testing
import WorkloadAPISimulator

#if canImport(Glibc)
    import Glibc
#endif

/// The real binary with the `--collector.delegated.*` and `--collector.agent-health.*` flags
/// against the simulator: wiring, readiness, /status, logs and secrets, end to end.
// Serialized: each case starts the binary, and a burst of process starts on 2 cores slows every
// other test in the run.
@Suite("Delegated Identity: end to end", .serialized, .timeLimit(.minutes(1)))
struct EndToEndDelegatedTests {
    static let delegatedFlags = [
        "--collector.delegated.subscription", "payments=k8s:ns:payments,k8s:sa:api",
        "--collector.delegated.subscription", "checkout=k8s:ns:checkout,k8s:sa:web",
        "--collector.agent-health.interval", "1s",
    ]

    @Test("serve: delegated subscriptions and agent health in /metrics and /status, no key anywhere, clean exit")
    func serve() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments, Workloads.checkout])
            try await withSimulator(node) { simulator in
                let run = try ExporterRun(
                    directory: directory,
                    arguments: [
                        "--web.listen-address", "127.0.0.1:0", "--log.level", "debug",
                        "--collector.workload-api.address", "unix://" + node.socketPath,
                        "--collector.delegated.address", "unix://" + node.adminSocketPath!,
                    ] + Self.delegatedFlags)
                do {
                    let base = try await run.baseURL()
                    let metrics = try await eventually("delegated SVIDs and agent health are exported") {
                        () async throws -> String? in
                        let text = try await httpGet(base + "/metrics").body
                        let scrape = Scrape(text: text)
                        let ready =
                            scrape.value(
                                "spiffe_x509_svid_valid", ["source": "payments", "spiffe_id": Workloads.paymentsID])
                            == 1
                            && scrape.value(
                                "spiffe_x509_svid_valid", ["source": "checkout", "spiffe_id": Workloads.checkoutID])
                                == 1
                            && scrape.value("spiffe_agent_healthy", ["source": "workload_api"]) == 1
                        return ready ? text : nil
                    }
                    let scrape = Scrape(text: metrics)
                    #expect(
                        scrape.value("spiffe_agent_health_check_duration_seconds", ["source": "workload_api"]) != nil)
                    #expect(scrape.value("spiffe_delegated_subscription_svids", ["source": "payments"]) == 1)
                    let check = try await runTool("/usr/bin/promtool", ["check", "metrics"], input: Data(metrics.utf8))
                    #expect(
                        check.status == 0, "promtool: \(String(decoding: check.stdout, as: UTF8.self)) \(check.stderr)")
                    #expect(try await httpGet(base + "/readyz").status == 200)
                    var outputs = [metrics]
                    for path in ["/status", "/status?format=json"] {
                        let page = try await httpGet(base + path)
                        #expect(page.status == 200)
                        #expect(page.body.contains("payments") && page.body.contains("checkout"), "\(path)")
                        outputs.append(page.body)
                    }

                    // The agent stops trusting the exporter as a delegate: the reason and its
                    // hint reach the log and /status.
                    simulator.setAuthorizedDelegate(false)
                    try await eventually("not_authorized_delegate is logged with its hint") {
                        run.stderr.contains("reason=not_authorized_delegate")
                            && run.stderr.contains("authorized_delegates")
                    }
                    let status = try await eventually("/status shows the hint") { () async throws -> String? in
                        let body = try await httpGet(base + "/status?format=json").body
                        return body.contains("not_authorized_delegate") && body.contains("authorized_delegates")
                            ? body : nil
                    }
                    outputs.append(status)

                    let exit = try await run.stop()
                    #expect(exit == 0, "exit status \(exit)\n\(run.stderr)")
                    outputs.append(run.stderr)
                    outputs.append(run.stdout)
                    #expect(run.stderr.contains("level=debug"))
                    let text = outputs.joined(separator: "\n")
                    #expect(!text.contains("PRIVATE KEY"))
                    for svid in simulator.currentDelegatedSVIDs.values {
                        for spelling in DelegatedSecretsTests.spellings(of: svid) where spelling.count >= 16 {
                            #expect(!text.contains(spelling), "key material of \(svid.spiffeID) in the outputs")
                        }
                    }
                } catch {
                    _ = try? await run.stop()
                    throw error
                }
            }
        }
    }

    @Test(
        "invalid delegated flags exit non-zero naming the flag",
        arguments: [
            ["--collector.delegated.subscription", "payments=k8s:ns:payments"],
            [
                "--collector.delegated.address", "unix:///tmp/admin.sock", "--collector.delegated.subscription",
                "payments=k8s",
            ],
            ["--collector.delegated.address", "unix:///tmp/admin.sock"],
            [
                "--collector.delegated.address", "unix:///tmp/admin.sock", "--collector.delegated.subscription",
                "workload_api=k8s:ns:a",
            ],
            ["--collector.delegated.address", "tcp://example.com:1", "--collector.delegated.process", "p=envoy"],
            ["--collector.agent-health.interval", "soon"],
        ])
    func badFlags(_ arguments: [String]) async throws {
        try await withTemporaryDirectory { directory in
            let run = try ExporterRun(
                directory: directory,
                arguments: [
                    "--web.listen-address", "127.0.0.1:0", "--collector.workload-api.address",
                    "unix://\(directory)/none.sock",
                ]
                    + arguments)
            let status = try await run.waitForExit()
            #expect(status != 0)
            let flag = arguments.first { $0.hasPrefix("--collector.agent-health") } ?? "--collector.delegated"
            #expect(run.stderr.contains(flag), "\(run.stderr)")
        }
    }
}

/// The exporter binary as a child process, its output going to files.
final class ExporterRun: @unchecked Sendable {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    init(directory: String, arguments: [String]) throws {
        stdoutPath = directory + "/exporter.out"
        stderrPath = directory + "/exporter.err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = try exporterBinary()
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// `http://host:port` once the exporter logged that it listens.
    func baseURL() async throws -> String {
        let groups = try await eventually("the exporter listens\n\(stderr)") { () -> [String]? in
            guard let match = stderr.firstMatch(of: #/msg=listening .*address=([0-9.]+):([0-9]+)/#) else { return nil }
            return [String(match.1), String(match.2)]
        }
        return "http://\(groups[0]):\(groups[1])"
    }

    func waitForExit() async throws -> Int32 {
        try await eventually("the exporter exits") { process.isRunning ? nil : process.terminationStatus }
    }

    /// SIGTERM, then the exit status.
    func stop() async throws -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        return try await waitForExit()
    }
}
