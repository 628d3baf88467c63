import ExporterTestKit
import Foundation
import TestKit
import Testing
import WorkloadAPISimulator

/// The wrk run of issue #8 in CI: /metrics of an exporter holding 1,000 X.509-SVID identities
/// (one simulated agent serving 1,000 SVIDs) under 50 paced connections (up to 250 requests/s
/// offered) for 60 s: every request answered without error; the rate and latency are printed and
/// recorded in docs/performance.md, never asserted. scripts/test.sh runs this suite in a pass of its own: wrk and the
/// exporter need both cores, and nothing else may compete for them.
@Suite("wrk load on /metrics", .timeLimit(.minutes(3)))
struct WrkLoadTests {
    static let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static let identities = 1000
    static let connections = 50
    static let seconds = 60
    /// Each connection pauses this long after a response: 50 connections then offer at most
    /// 250 requests/s, so the exporter must answer in under 50 ms on average to sustain 200/s
    /// (Debian's wrk has no fixed-rate mode).
    static let pauseMilliseconds = 200

    @Test("50 paced connections for 60 s with 1,000 identities: 0 errors, rate and p99 recorded")
    func sustainedRate() async throws {
        let wrk = try #require(Self.wrk, "wrk is not installed (bash .ci/run installs it)")
        try await withTemporaryDirectory { directory in
            let spiffeIDs = (0..<Self.identities).map { "spiffe://example.org/ns/load/sa/w\($0)" }
            let configuration = SimulatorConfiguration(socketPath: directory + "/agent.sock", spiffeIDs: spiffeIDs, svidTTL: 6 * 3600)
            let simulator = try WorkloadAPISimulator(configuration: configuration)
            try await simulator.start()
            do {
                try await Self.run(wrk, against: simulator, socketPath: configuration.socketPath, directory: directory)
                await simulator.stop()
            } catch {
                await simulator.stop()
                throw error
            }
        }
    }

    static func run(_ wrk: String, against simulator: WorkloadAPISimulator, socketPath: String, directory: String) async throws {
            try await withExporter([
                "--web.listen-address", "127.0.0.1:0",
                "--collector.workload-api.address", "unix://" + socketPath,
            ]) { exporter in
                let groups = try await eventually("the exporter listens\n\(exporter.transcript)") {
                    try captures(#"msg=listening .*address=([0-9.]+):([0-9]+)"#, in: exporter.stderr)
                }
                let url = "http://\(groups[0]):\(groups[1])/metrics"
                let loaded = try await eventually(timeout: .seconds(60), "1,000 identities exported\n\(exporter.transcript)") {
                    () -> Scrape? in
                    let scrape = Scrape(text: try await httpGet(url).body)
                    return scrape.samples("spiffe_x509_svid_expiry_timestamp_seconds").count == Self.identities ? scrape : nil
                }
                #expect(loaded.samples("spiffe_x509_svid_valid").allSatisfy { $0.value == 1 })

                let script = directory + "/pace.lua"
                try "function delay() return \(Self.pauseMilliseconds) end\n".write(toFile: script, atomically: true, encoding: .utf8)
                // What this run must show is correctness under sustained load: every request answered,
                // no error, a valid page afterwards. How fast is measured, not asserted: on these
                // shared 2-core machines, with wrk on the same cores as a debug build, the rate moves
                // by 20% from one minute to the next (docs/performance.md has the numbers and the
                // benchmark that tracks the render cost).
                let run = try await runTool(wrk, [
                    "-t2", "-c\(Self.connections)", "-d\(Self.seconds)s", "--timeout", "10s", "--latency", "-s", script, url,
                ])
                let output = String(decoding: run.stdout, as: UTF8.self)
                #expect(run.status == 0, "wrk failed: \(run.stderr)")
                let report = try #require(WrkReport(output), "unreadable wrk output:\n\(output)")
                print("WrkLoadTests: \(report.requests) requests in \(report.duration) s = \(report.rate) requests/s; "
                    + "latency p50 \(String(format: "%.2f", report.p50 * 1000)) ms, "
                    + "p99 \(String(format: "%.2f", report.p99 * 1000)) ms; errors \(report.errors)")
                #expect(report.errors == 0, "\(output)")
                #expect(report.duration >= Double(Self.seconds) - 1)
                // Sustained: the connections kept getting answers for the whole minute (a stall or a
                // deadlock leaves wrk with a handful of requests and timeouts).
                #expect(report.requests >= Self.connections * Self.seconds, "\(output)")

                // Still serving, and the page is still valid after the run.
                let after = try await httpGet(url)
                #expect(after.status == 200)
                try await expectPromtoolClean(after.body)
                #expect(exporter.process.isRunning)
                // One stream per RPC kind however hard /metrics is hit.
                #expect(simulator.statistics.calls["FetchX509SVID", default: 0] == 1)
            }
    }

    @Test("wrk's report is read as written")
    func parsesReport() throws {
        let report = try #require(WrkReport(Self.sample))
        #expect(report.requests == 12289)
        #expect(report.duration == 60)
        #expect(report.rate == 204.61)
        #expect(report.p50 == 0.00436)
        #expect(report.p99 == 0.00912)
        #expect(report.errors == 0)
        let failing = Self.sample.replacingOccurrences(
            of: "Requests/sec", with: "  Socket errors: connect 0, read 2, write 0, timeout 3\n  Non-2xx or 3xx responses: 4\nRequests/sec")
        #expect(try #require(WrkReport(failing)).errors == 9)
        #expect(WrkReport("garbage") == nil)
    }

    static let sample = """
        Running 1m test @ http://127.0.0.1:9841/metrics
          2 threads and 50 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency     4.74ms    1.74ms  31.40ms   86.59%
            Req/Sec   102.55     11.09   141.00     72.36%
          Latency Distribution
             50%    4.36ms
             75%    5.21ms
             90%    6.50ms
             99%    9.12ms
          12289 requests in 1.00m, 2.48GB read
        Requests/sec:    204.61
        Transfer/sec:     42.27MB
        """
}

/// What a `wrk --latency` run reports: totals, latency percentiles in seconds, and every error
/// (socket connect/read/write/timeout errors plus non-2xx/3xx responses).
struct WrkReport: Equatable {
    var requests: Int
    var duration: Double
    var rate: Double
    var p50: Double
    var p99: Double
    var errors: Int

    init?(_ text: String) {
        guard let totals = try? captures(#"(\d+) requests in ([0-9.]+)(us|ms|s|m|h),"#, in: text),
            let requests = Int(totals[0]), let duration = Self.seconds(totals[1], totals[2]),
            let rateText = try? captures(#"Requests/sec:\s+([0-9.]+)"#, in: text), let rate = Double(rateText[0]),
            let p50 = Self.percentile("50", in: text), let p99 = Self.percentile("99", in: text)
        else { return nil }
        self.requests = requests
        self.duration = duration
        self.rate = rate
        self.p50 = p50
        self.p99 = p99
        var errors = 0
        if let socket = try? captures(#"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"#, in: text) {
            errors += socket.compactMap { Int($0) }.reduce(0, +)
        }
        if let non2xx = try? captures(#"Non-2xx or 3xx responses: (\d+)"#, in: text) {
            errors += Int(non2xx[0]) ?? 0
        }
        self.errors = errors
    }

    private static func percentile(_ p: String, in text: String) -> Double? {
        guard let groups = try? captures(#"\n\s*\#(p)%\s+([0-9.]+)(us|ms|s|m)"#, in: text) else { return nil }
        return seconds(groups[0], groups[1])
    }

    /// wrk prints durations with a unit: 812.00us, 4.36ms, 1.06s, 1.00m.
    private static func seconds(_ number: String, _ unit: String) -> Double? {
        guard let value = Double(number) else { return nil }
        let scale: Double = switch unit {
        case "us": 1e-6
        case "ms": 1e-3
        case "s": 1
        case "m": 60
        case "h": 3600
        default: 0
        }
        return scale == 0 ? nil : (value * scale * 1e9).rounded() / 1e9
    }
}
