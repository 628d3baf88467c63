import Foundation
import Testing

// MARK: Blocking work

/// Runs blocking work (pipe reads, `waitUntilExit`) on a thread of its own, never on the (2-thread)
/// Swift concurrency pool nor on Dispatch's global pool, which has as many threads as cores on
/// Linux: pipe reads parked there would starve everything else that uses it.
public func offloaded<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}

// MARK: External tools

public struct ToolResult: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: String
}

/// Runs a tool to completion with `input` on stdin. All pipe I/O happens off the concurrency pool,
/// concurrently, so a large output cannot deadlock on a full pipe.
public func runTool(_ path: String, _ arguments: [String], input: Data = Data()) async throws -> ToolResult {
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

// MARK: HTTP

public struct HTTPResult: Sendable {
    public var status: Int
    public var body: String
}

/// GET with curl (URLSession on Linux needs FoundationNetworking and is less predictable).
public func httpGet(_ url: String) async throws -> HTTPResult {
    let marker = "\n--http-status--"
    let result = try await runTool(
        "/usr/bin/env", ["curl", "-sS", "--max-time", "5", "-w", "\(marker)%{http_code}", url])
    try #require(result.status == 0, "curl \(url) failed (\(result.status)): \(result.stderr)")
    let text = String(decoding: result.stdout, as: UTF8.self)
    let range = try #require(text.range(of: marker, options: .backwards), "no status in curl output")
    let status = try #require(Int(text[range.upperBound...]), "bad status in curl output")
    return HTTPResult(status: status, body: String(text[..<range.lowerBound]))
}

// MARK: promtool

public let promtoolPath = "/usr/bin/promtool"

/// `promtool check metrics` on an exposition: its exit status and complaints (stdout then stderr;
/// empty when clean).
public func promtoolCheck(_ exposition: String) async throws -> (status: Int32, output: String) {
    try #require(FileManager.default.isExecutableFile(atPath: promtoolPath), "promtool not found at \(promtoolPath)")
    let result = try await runTool(promtoolPath, ["check", "metrics"], input: Data(exposition.utf8))
    return (result.status, String(decoding: result.stdout, as: UTF8.self) + result.stderr)
}

/// Expects `promtool check metrics` (lint included) to find nothing to complain about.
public func expectPromtoolClean(_ exposition: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let (status, output) = try await promtoolCheck(exposition)
    #expect(status == 0 && output.isEmpty, "promtool check metrics: \(output)", sourceLocation: sourceLocation)
}

// MARK: Text

/// Finds the first match of `pattern` in `text` and returns its capture groups.
public func captures(_ pattern: String, in text: String) throws -> [String]? {
    let regex = try Regex(pattern)
    guard let match = text.firstMatch(of: regex) else { return nil }
    return (1..<match.output.count).map { index in match.output[index].substring.map(String.init) ?? "" }
}
