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
