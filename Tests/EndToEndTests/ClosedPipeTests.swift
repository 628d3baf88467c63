import Foundation
import TestKit
import Testing

/// An exporter whose stdout and stderr go to pipes nobody reads any more (`| head`, a log
/// collector that restarted) keeps running and counts the lines it could not write.
@Suite("spiffe-exporter with closed stdout and stderr", .timeLimit(.minutes(2)))
struct ClosedPipeTests {
    /// The exporter on two pipes: stdout's read end is closed at once, stderr's after `pattern`
    /// appeared on it (at once when nil). Returns the process and what stderr said before.
    static func start(
        _ arguments: [String], environment: [String: String] = [:], closeStderrAfter pattern: String?
    ) async throws -> (process: Process, stderr: String) {
        let process = Process()
        process.executableURL = try exporterBinary()
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SPIFFE_ENDPOINT_SOCKET")
        process.environment = env.merging(environment) { $1 }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try stdout.fileHandleForReading.close()
        let reader = stderr.fileHandleForReading
        let seen = await offloaded { () -> String in
            var text = ""
            guard let pattern else { return text }
            while (try? captures(pattern, in: text)) == nil {
                let data = reader.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
            }
            return text
        }
        try reader.close()
        return (process, seen)
    }

    /// Scrapes until the exporter has counted a dropped line.
    static func expectDropsCounted(_ url: String, _ what: String) async throws {
        try await eventually("\(what): spiffe_exporter_log_lines_dropped_total > 0") {
            let scrape = Scrape(text: try await httpGet(url).body)
            return (scrape.value("spiffe_exporter_log_lines_dropped_total") ?? 0) > 0
        }
    }

    static func stop(_ process: Process) async -> (Process.TerminationReason, Int32) {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        await offloaded { process.waitUntilExit() }
        return (process.terminationReason, process.terminationStatus)
    }

    static let listening = #"msg=listening .*address=([0-9.]+):([0-9]+)"#

    @Test("serve: logs after stderr closed are dropped and counted; /metrics still answers")
    func serve() async throws {
        try await withTemporaryDirectory { directory in
            let config = directory + "/config.yml"
            try "log:\n  level: info\n".write(toFile: config, atomically: true, encoding: .utf8)
            let (process, stderr) = try await Self.start(
                [
                    "--web.listen-address", "127.0.0.1:0", "--config.file", config,
                    "--collector.workload-api.address", "unix://\(directory)/absent.sock",
                ],
                closeStderrAfter: Self.listening)
            let groups = try #require(try captures(Self.listening, in: stderr), "no listening line: \(stderr)")
            let url = "http://\(groups[0]):\(groups[1])/metrics"
            // Each reload logs a line, now into the closed pipe.
            try await eventually("a reload's log line is counted as dropped") {
                if process.isRunning { kill(process.processIdentifier, SIGHUP) }
                let scrape = Scrape(text: try await httpGet(url).body)
                return (scrape.value("spiffe_exporter_log_lines_dropped_total") ?? 0) > 0
            }
            #expect(process.isRunning)
            let (reason, status) = await Self.stop(process)
            #expect(reason == .exit && status == 0, "ended \(reason) \(status)")
        }
    }

    @Test("demo: the URL line on a closed stdout and logs on a closed stderr are counted; /metrics answers")
    func demo() async throws {
        try await withTemporaryDirectory { directory in
            let (process, stderr) = try await Self.start(
                ["demo", "--web.listen-address", "127.0.0.1:0"], environment: ["TMPDIR": directory],
                closeStderrAfter: Self.listening)
            let groups = try #require(try captures(Self.listening, in: stderr), "no listening line: \(stderr)")
            let url = "http://\(groups[0]):\(groups[1])/metrics"
            try await Self.expectDropsCounted(url, "demo")
            #expect(process.isRunning)
            let (reason, status) = await Self.stop(process)
            #expect(reason == .exit && status == 0, "ended \(reason) \(status)")
        }
    }

    @Test("check: the report on a closed stdout does not kill it; it exits with its own code")
    func check() async throws {
        try await withTemporaryDirectory { directory in
            let (process, _) = try await Self.start(
                ["check", "--address", "unix://\(directory)/absent.sock", "--timeout", "1s"],
                closeStderrAfter: nil)
            await offloaded { process.waitUntilExit() }
            // 3: cannot check (no agent there); a signal would be `.uncaughtSignal`.
            #expect(process.terminationReason == .exit)
            #expect(process.terminationStatus == 3)
        }
    }
}
