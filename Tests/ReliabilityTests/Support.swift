import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// A copy of Tests/EndToEndTests/ExporterProcess.swift (test targets cannot share sources) with one
// addition: `executable:` runs the exporter through a wrapper such as setpriv(1).

// MARK: Waiting

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Polls `probe` every 20 ms until it returns a value, and fails the test with `what` if it has not
/// after `timeout`. Waiting is always for an event, never for time to pass.
@discardableResult
func eventually<T>(
    timeout: Duration = .seconds(10),
    _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ probe: () async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if let value = try await probe() { return value }
        if clock.now >= deadline {
            let message = "timed out after \(timeout) waiting for: \(what())"
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
            throw TimedOut(description: message)
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

func eventually(
    timeout: Duration = .seconds(10),
    _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    try await eventually(timeout: timeout, what(), sourceLocation: sourceLocation) {
        try await condition() ? true : nil
    }
}

// MARK: Locating the binary

/// The `spiffe-exporter` binary built by `swift build --build-tests`: `$SPIFFE_EXPORTER_BINARY`,
/// else next to the test bundle, else in the package's `.build/debug`.
func exporterBinary(sourceLocation: SourceLocation = #_sourceLocation) throws -> URL {
    var candidates: [URL] = []
    if let explicit = ProcessInfo.processInfo.environment["SPIFFE_EXPORTER_BINARY"], !explicit.isEmpty {
        candidates.append(URL(fileURLWithPath: explicit))
    }
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    candidates.append(bundleDirectory.appendingPathComponent("spiffe-exporter"))
    // On macOS the runner sits inside the .xctest bundle: .../debug/X.xctest/Contents/MacOS/X.
    candidates.append(
        bundleDirectory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("spiffe-exporter"))
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    candidates.append(packageRoot.appendingPathComponent(".build/debug/spiffe-exporter"))
    let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    return try #require(
        found,
        """
        spiffe-exporter binary not found: run `swift build --build-tests` first, or set \
        SPIFFE_EXPORTER_BINARY; looked at \(candidates.map(\.path))
        """,
        sourceLocation: sourceLocation)
}

// MARK: Temporary directories

func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/spx-e2e-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    let path = try #require(made.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Runs blocking work on a Dispatch thread, never on the (2-thread) Swift concurrency pool.
func offloaded<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
}

// MARK: The exporter as a child process

/// A running `spiffe-exporter` with its stdout and stderr collected as they arrive.
final class ExporterProcess: Sendable {
    let process: Process
    private let stdoutBuffer = OutputBuffer()
    private let stderrBuffer = OutputBuffer()

    private final class OutputBuffer: Sendable {
        let data = Mutex(Data())
    }

    init(arguments: [String], environment: [String: String] = [:], executable: String? = nil) throws {
        process = Process()
        process.executableURL = try executable.map(URL.init(fileURLWithPath:)) ?? exporterBinary()
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SPIFFE_ENDPOINT_SOCKET")
        env.merge(environment) { $1 }
        process.environment = env
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        Self.collect(stdout, into: stdoutBuffer)
        Self.collect(stderr, into: stderrBuffer)
        try process.run()
    }

    private static func collect(_ pipe: Pipe, into buffer: OutputBuffer) {
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                buffer.data.withLock { $0.append(data) }
            }
        }
    }

    var stdout: String { String(decoding: stdoutBuffer.data.withLock { $0 }, as: UTF8.self) }
    var stderr: String { String(decoding: stderrBuffer.data.withLock { $0 }, as: UTF8.self) }

    /// Output for failure messages.
    var transcript: String { "--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)" }

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Waits for the process to exit and returns its exit status, failing the test if it does not
    /// exit within `timeout`.
    func waitForExit(
        timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (reason: Process.TerminationReason, status: Int32) {
        try await eventually(timeout: timeout, "spiffe-exporter exits\n\(transcript)", sourceLocation: sourceLocation) {
            !process.isRunning
        }
        // isRunning turns false when the child is reaped; terminationStatus is then final.
        return (process.terminationReason, process.terminationStatus)
    }

    /// Kills the process if it is still running and waits for it (cleanup path).
    func stop() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        let process = self.process
        await offloaded { process.waitUntilExit() }
    }
}

/// Runs the exporter for the duration of `body`, killing it afterwards if `body` left it running.
func withExporter<T>(
    _ arguments: [String], environment: [String: String] = [:], executable: String? = nil,
    _ body: (ExporterProcess) async throws -> T
) async throws -> T {
    let exporter = try ExporterProcess(arguments: arguments, environment: environment, executable: executable)
    do {
        let result = try await body(exporter)
        await exporter.stop()
        return result
    } catch {
        await exporter.stop()
        throw error
    }
}

// MARK: HTTP and tools

struct ToolResult: Sendable {
    var status: Int32
    var stdout: Data
    var stderr: String
}

/// Runs a tool to completion with `input` on stdin; all pipe I/O happens on Dispatch threads.
func runTool(_ path: String, _ arguments: [String], input: Data = Data()) async throws -> ToolResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let writer = stdin.fileHandleForWriting
    async let written: Void = offloaded {
        try? writer.write(contentsOf: input)
        try? writer.close()
    }
    async let out = offloaded { stdout.fileHandleForReading.readDataToEndOfFile() }
    async let err = offloaded { stderr.fileHandleForReading.readDataToEndOfFile() }
    _ = await written
    let output = await out
    let errors = String(decoding: await err, as: UTF8.self)
    let status = await offloaded {
        process.waitUntilExit()
        return process.terminationStatus
    }
    return ToolResult(status: status, stdout: output, stderr: errors)
}

struct HTTPResult: Sendable {
    var status: Int
    var body: String
}

/// GET with curl (URLSession on Linux needs FoundationNetworking and is less predictable).
func httpGet(_ url: String) async throws -> HTTPResult {
    let marker = "\n--http-status--"
    let result = try await runTool(
        "/usr/bin/env", ["curl", "-sS", "--max-time", "5", "-w", "\(marker)%{http_code}", url])
    try #require(result.status == 0, "curl \(url) failed (\(result.status)): \(result.stderr)")
    let text = String(decoding: result.stdout, as: UTF8.self)
    let range = try #require(text.range(of: marker, options: .backwards), "no status in curl output")
    let status = try #require(Int(text[range.upperBound...]), "bad status in curl output")
    return HTTPResult(status: status, body: String(text[..<range.lowerBound]))
}

let promtoolPath = "/usr/bin/promtool"

func promtoolCheck(_ exposition: String) async throws -> (status: Int32, output: String) {
    try #require(FileManager.default.isExecutableFile(atPath: promtoolPath), "promtool not found at \(promtoolPath)")
    let result = try await runTool(promtoolPath, ["check", "metrics"], input: Data(exposition.utf8))
    return (result.status, String(decoding: result.stdout, as: UTF8.self) + result.stderr)
}

// MARK: Exposition

/// Sample lines of the Prometheus text format, looked up by name and label subset. Label values in
/// these tests never contain escapes, so a light parser is enough.
struct Scrape: Sendable {
    struct Sample: Sendable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let text: String
    let samples: [Sample]

    init(_ text: String) {
        self.text = text
        var samples: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let series = line[..<space]
            var labels: [String: String] = [:]
            var name = String(series)
            if let open = series.firstIndex(of: "{"), series.hasSuffix("}") {
                name = String(series[..<open])
                let body = series[series.index(after: open)..<series.index(before: series.endIndex)]
                for pair in body.split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
                }
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        self.samples = samples
    }

    func samples(_ name: String, _ labels: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples(name, labels)
        return matching.count == 1 ? matching[0].value : nil
    }
}

/// Finds the first match of `pattern` in `text` and returns its capture groups.
func captures(_ pattern: String, in text: String) throws -> [String]? {
    let regex = try Regex(pattern)
    guard let match = text.firstMatch(of: regex) else { return nil }
    return (1..<match.output.count).map { index in match.output[index].substring.map(String.init) ?? "" }
}
