import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import Synchronization
import Testing
import WorkloadAPISimulator

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

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

/// Polls a condition; see ``eventually(timeout:_:sourceLocation:_:)-generic``.
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

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

// MARK: Temporary directories and sockets

/// Runs `body` with a fresh directory under /tmp (short, so socket paths stay far below the
/// 108-byte `sun_path` limit) and removes it afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/spx-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    let path = try #require(made.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Leaves a Unix socket file at `path` that nobody listens on (a crashed agent's stale socket):
/// connecting to it fails with ECONNREFUSED.
func makeStaleSocket(at path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0, "socket() failed: errno \(errno)")
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    try #require(bytes.count < MemoryLayout.size(ofValue: address.sun_path), "socket path too long: \(path)")
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, b) in bytes.enumerated() { raw[i] = b }
        raw[bytes.count] = 0
    }
    let result = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    try #require(result == 0, "bind(\(path)) failed: errno \(errno)")
}

// MARK: Simulator and collector

/// A wall clock the simulator can be pushed forward on, so a rotation is guaranteed to produce a
/// different (second-granular) notAfter without waiting for the clock to tick.
final class ShiftableClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)

    func advance(by seconds: TimeInterval) {
        offset.withLock { $0 += seconds }
    }

    var now: @Sendable () -> Date {
        { [self] in Date().addingTimeInterval(offset.withLock { $0 }) }
    }
}

/// Creates a simulator, starts it unless `started` is false (the test starts it later, as an agent
/// that comes up late), runs `body`, and stops the simulator whether `body` succeeds or throws.
///
/// Keep collectors and clients inside `body` so they end before the simulator stops. Even then a
/// client's last frames or a diagnostic connect may still be queued at the server: `stop()` cancels
/// the gRPC server's serving task, and a connection or stream that arrives during that cancellation
/// traps in NIO ("Deinited NIOAsyncWriter without calling finish()", apple/swift-nio#3481). So the
/// teardown first waits until the server has accepted and closed every connection.
func withSimulator<T>(
    _ configuration: SimulatorConfiguration,
    clock: ShiftableClock? = nil,
    started: Bool = true,
    _ body: (WorkloadAPISimulator) async throws -> T
) async throws -> T {
    let simulator =
        if let clock {
            try WorkloadAPISimulator(configuration: configuration, clock: clock.now)
        } else {
            try WorkloadAPISimulator(configuration: configuration)
        }
    if started { try await simulator.start() }
    do {
        let result = try await body(simulator)
        try await stopQuietly(simulator)
        return result
    } catch {
        try? await stopQuietly(simulator)
        throw error
    }
}

/// Stops the simulator once no connection is left on its socket (see ``withSimulator``).
func stopQuietly(_ simulator: WorkloadAPISimulator) async throws {
    let path = simulator.configuration.socketPath
    do {
        try await eventually("every connection to \(path) is closed before the simulator stops") {
            (serverConnections(on: path) ?? 0) == 0
        }
    } catch {
        await simulator.stop()
        throw error
    }
    await simulator.stop()
}

/// Server-side connections on the Unix socket bound at `path`, queued or accepted but not yet
/// closed by the server, from Linux's /proc/net/unix; nil where that table is unavailable.
func serverConnections(on path: String) -> Int? {
    guard let table = try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8) else { return nil }
    // Num RefCount Protocol Flags Type St Inode Path; the listener has Flags 00010000 (accepting).
    return table.split(separator: "\n").dropFirst().filter { line in
        let fields = line.split(separator: " ")
        return fields.count >= 8 && fields[7...].joined(separator: " ") == path && fields[3] != "00010000"
    }.count
}

let quietLogger = Logger(label: "integration-tests") { _ in SwiftLogNoOpLogHandler() }

/// Reconnects fast so tests do not wait on production backoff.
let fastBackoff = Backoff(initial: 0.05, multiplier: 2, cap: 0.5)

/// The store, registry and /metrics view one collector feeds.
struct Exporter: Sendable {
    let source: String
    let store = IdentityStore()
    let registry = MetricsRegistry()
    var metrics: ExporterMetrics {
        ExporterMetrics(
            store: store, registry: registry, version: "test", revision: "test", includeProcessMetrics: false)
    }

    init(source: String = "workload_api") {
        self.source = source
    }

    func failures(_ reason: ConnectionFailureReason) -> Double {
        registry.value(MetricCatalog.workloadAPIConnectionFailures, [source, reason.rawValue]) ?? 0
    }

    func requests(_ rpc: String, code: String) -> Double {
        registry.value(MetricCatalog.workloadAPIRequests, [source, rpc, code]) ?? 0
    }

    var up: Double? { registry.value(MetricCatalog.workloadAPIUp, [source]) }

    func scrapeText(_ format: ExpositionFormat = .prometheusText, now: Date = Date()) async -> String {
        String(decoding: await metrics.scrape(format: format, now: now), as: UTF8.self)
    }

    func scrape(now: Date = Date()) async -> Scrape {
        Scrape(text: await scrapeText(now: now))
    }
}

func collectorConfiguration(
    socketPath: String,
    source: String = "workload_api",
    firstResponseTimeout: Duration = .seconds(10),
    backoff: Backoff = fastBackoff
) -> WorkloadAPICollectorConfiguration {
    WorkloadAPICollectorConfiguration(
        source: source, address: .unix(path: socketPath), firstResponseTimeout: firstResponseTimeout,
        backoff: backoff)
}

/// Runs the collector in a child task for the duration of `body`, then cancels it.
func withCollector<T>(
    _ configuration: WorkloadAPICollectorConfiguration,
    feeding exporter: Exporter,
    _ body: () async throws -> T
) async throws -> T {
    let collector = WorkloadAPICollector(
        configuration: configuration, store: exporter.store, registry: exporter.registry, logger: quietLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await collector.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}

// MARK: Reading the exposition

/// One parsed sample line of the Prometheus text format.
struct ScrapedSample: Sendable, Hashable {
    var name: String
    var labels: [String: String]
    var value: Double
}

struct ExpositionParseError: Error, CustomStringConvertible {
    var line: String
    var description: String { "cannot parse exposition line: \(line)" }
}

/// A parsed scrape with lookups by name and label subset.
struct Scrape: Sendable {
    let text: String
    let samples: [ScrapedSample]

    init(text: String) {
        self.text = text
        self.samples = text.split(separator: "\n").compactMap { try? Self.parse(line: $0) }
    }

    func samples(_ name: String, _ labels: [String: String] = [:]) -> [ScrapedSample] {
        samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
    }

    /// The value of the single series matching `name` and `labels`, or nil if there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples(name, labels)
        return matching.count == 1 ? matching[0].value : nil
    }

    static func parse(line: Substring) throws -> ScrapedSample? {
        if line.hasPrefix("#") || line.isEmpty { return nil }
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " " { index = line.index(after: index) }
        let name = String(line[line.startIndex..<index])
        var labels: [String: String] = [:]
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while index < line.endIndex, line[index] != "}" {
                guard let equals = line[index...].firstIndex(of: "=") else {
                    throw ExpositionParseError(line: String(line))
                }
                let labelName = String(line[index..<equals])
                index = line.index(after: equals)
                guard index < line.endIndex, line[index] == "\"" else { throw ExpositionParseError(line: String(line)) }
                index = line.index(after: index)
                var value = ""
                while index < line.endIndex, line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        guard index < line.endIndex else { throw ExpositionParseError(line: String(line)) }
                        switch line[index] {
                        case "n": value.append("\n")
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        default: throw ExpositionParseError(line: String(line))
                        }
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                guard index < line.endIndex else { throw ExpositionParseError(line: String(line)) }
                index = line.index(after: index)  // closing quote
                labels[labelName] = value
                if index < line.endIndex, line[index] == "," { index = line.index(after: index) }
            }
            guard index < line.endIndex else { throw ExpositionParseError(line: String(line)) }
            index = line.index(after: index)  // closing brace
        }
        let rest = line[index...].trimmingCharacters(in: .whitespaces)
        let valueText = rest.split(separator: " ").first.map(String.init) ?? ""
        guard let value = Double(valueText) else { throw ExpositionParseError(line: String(line)) }
        return ScrapedSample(name: name, labels: labels, value: value)
    }
}

// MARK: External tools

struct ToolResult: Sendable {
    var status: Int32
    var stdout: Data
    var stderr: String
}

/// Runs blocking work on a Dispatch thread, never on the (2-thread) Swift concurrency pool.
func offloaded<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
}

/// Runs a tool to completion with `input` on stdin. All pipe I/O happens on Dispatch threads,
/// concurrently, so a large output cannot deadlock on a full pipe.
func runTool(_ path: String, _ arguments: [String], input: Data) async throws -> ToolResult {
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
    let result = ToolResult(status: 0, stdout: await out, stderr: String(decoding: await err, as: UTF8.self))
    let status = await offloaded {
        process.waitUntilExit()
        return process.terminationStatus
    }
    return ToolResult(status: status, stdout: result.stdout, stderr: result.stderr)
}

let promtoolPath = "/usr/bin/promtool"

/// `promtool check metrics` on an exposition; returns the tool's complaints (empty when clean).
func promtoolProblems(_ exposition: String) async throws -> (status: Int32, output: String) {
    try #require(FileManager.default.isExecutableFile(atPath: promtoolPath), "promtool not found at \(promtoolPath)")
    let result = try await runTool(promtoolPath, ["check", "metrics"], input: Data(exposition.utf8))
    return (result.status, String(decoding: result.stdout, as: UTF8.self) + result.stderr)
}

func gunzip(_ data: Data) async throws -> Data {
    let result = try await runTool("/usr/bin/env", ["gzip", "-dc"], input: data)
    try #require(result.status == 0, "gzip -dc failed: \(result.stderr)")
    return result.stdout
}
