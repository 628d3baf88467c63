import Foundation
import TestKit
import Testing

/// What a new user sees of `spiffe-exporter demo`: where it listens, what it prints.
@Suite("spiffe-exporter demo", .timeLimit(.minutes(2)))
struct DemoTests {
    @Test("demo listens on 127.0.0.1:9841 by default and prints its URLs and a working check line")
    func loopbackDefaultAndBanner() async throws {
        try await withTemporaryDirectory { directory in
            try await withExporter(["demo"], environment: ["TMPDIR": directory]) { demo in
                let printed = try await eventually("the demo prints its check line\n\(demo.transcript)") {
                    try captures(#"try: +spiffe-exporter check --address (unix://\S+)"#, in: demo.stdout)
                }
                let stdout = demo.stdout
                for url in ["http://127.0.0.1:9841/", "http://127.0.0.1:9841/status", "http://127.0.0.1:9841/metrics"] {
                    #expect(stdout.contains(url + "\n") || stdout.contains(url + " "), "\(url) not printed: \(stdout)")
                }
                #expect(demo.stderr.contains("address=127.0.0.1:9841"), "\(demo.transcript)")
                #expect(try await httpGet("http://127.0.0.1:9841/status").status == 200)
                let agent = printed[0]
                #expect(stdout.contains("simulated agent: \(agent)"))
                #expect(agent.hasPrefix("unix://\(directory)/spiffe-exporter-demo-"), "\(agent)")

                let check = try await runTool(try exporterBinary().path, ["check", "--address", agent])
                let report = String(decoding: check.stdout, as: UTF8.self)
                #expect(check.status == 0, "\(report)\(check.stderr)")
                #expect(report.contains("spiffe://example.org/ns/demo/sa/frontend"), "\(report)")
                demo.signal(SIGTERM)
                _ = try await demo.waitForExit()
            }
        }
    }
}

extension DemoTests {
    static func demoDirectories(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("spiffe-exporter-demo-") }
    }

    @Test("demo removes its temporary directory when stopped by a signal", arguments: [SIGTERM, SIGINT])
    func removesDirectoryOnSignal(_ signal: Int32) async throws {
        try await withTemporaryDirectory { directory in
            try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"], environment: ["TMPDIR": directory]) {
                demo in
                try await eventually("the demo is ready\n\(demo.transcript)") { demo.stdout.contains("try:") }
                #expect(try Self.demoDirectories(in: directory).count == 1)
                demo.signal(signal)
                let exit = try await demo.waitForExit()
                #expect(exit.reason == .exit && exit.status == 0, "\(demo.transcript)")
                #expect(try Self.demoDirectories(in: directory) == [])
            }
        }
    }

    @Test("demo removes its temporary directory when it fails to start")
    func removesDirectoryOnError() async throws {
        try await withTemporaryDirectory { directory in
            // A socket path longer than sun_path's 108 bytes: the simulated agent cannot listen.
            let deep = directory + "/" + String(repeating: "d", count: 110)
            try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
            try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"], environment: ["TMPDIR": deep]) {
                demo in
                let exit = try await demo.waitForExit()
                #expect(exit.reason == .exit && exit.status != 0, "\(demo.transcript)")
                #expect(try Self.demoDirectories(in: deep) == [], "\(demo.transcript)")
            }
        }
    }
}

extension DemoTests {
    @Test("demo /status lists every source kind /metrics reports, each with its state")
    func statusListsEverySourceKind() async throws {
        try await withTemporaryDirectory { directory in
            try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"], environment: ["TMPDIR": directory]) {
                demo in
                let base = try await eventually("the demo prints its status URL\n\(demo.transcript)") {
                    try captures(#"status: +(http://\S+)/status"#, in: demo.stdout)?[0]
                }
                // Every source label and probe target on /metrics, with its kind and state on /status.
                let expected: [String: (kind: String, up: Bool?)] = [
                    "workload_api": ("workload_api", true), "spiffe_helper": ("cert_files", nil),
                    "demo_files": ("cert_files", nil), "payments": ("delegated", true),
                    "delegated": ("delegated_bundles", true), "demo_backend": ("probe", true),
                    "agent": ("agent", true), "demo_envoy": ("envoy", true), "partner": ("federation", true),
                ]
                try await eventually("every demo source is synced and up on /status") {
                    let body = try await httpGet(base + "/status?format=json").body
                    let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                    let sources = (object?["sources"] as? [[String: Any]]) ?? []
                    let byName = Dictionary(sources.map { ($0["source"] as? String ?? "", $0) }) { first, _ in first }
                    return expected.allSatisfy { name, want in
                        guard let source = byName[name] else { return false }
                        return source["kind"] as? String == want.kind && source["up"] as? Bool == want.up
                            && source["synced"] as? Bool == true
                    }
                }
                let metrics = Scrape(text: try await httpGet(base + "/metrics").body)
                let labelled = Set(metrics.samples.compactMap { $0.labels["source"] ?? $0.labels["target"] })
                #expect(labelled.subtracting(expected.keys).subtracting(["checkout", "exporter_process"]) == [])
                let html = try await httpGet(base + "/status").body
                for (name, want) in expected {
                    #expect(
                        html.contains("<td data-label=\"source\">\(name)</td><td data-label=\"kind\">\(want.kind)</td>"),
                        "\(name) missing from /status")
                }
            }
        }
    }
}
