import Dispatch
import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import Synchronization
import Testing
import X509

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

// MARK: Time

/// Certificates are built relative to this instant and the collector's clock is pinned to it, so
/// nothing expires and expiry values are exact.
let referenceTime = Date(timeIntervalSince1970: 1_893_456_000)  // 2030-01-01T00:00:00Z

func at(_ offset: TimeInterval) -> Date { referenceTime.addingTimeInterval(offset) }

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Polls `probe` every 5 ms until it returns a value; fails the test after `timeout`. Waits for an
/// event, never for time to pass.
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
        try await Task.sleep(for: .milliseconds(5))
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

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

// MARK: Files

/// A fresh directory under /tmp, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/certfiles-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    let path = try #require(made.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    defer {
        // Restore permissions a test may have removed so the cleanup can descend.
        _ = chmod(path, 0o755)
        try? FileManager.default.removeItem(atPath: path)
    }
    return try await body(path)
}

enum Files {
    /// Like Go's `os.WriteFile`, which spiffe-helper uses: open with O_TRUNC, write, close, in place.
    static func writeInPlace(_ path: String, _ text: String) throws {
        try writeInPlace(path, Array(text.utf8))
    }

    static func writeInPlace(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXFailure(call: "open \(path)", code: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw POSIXFailure(call: "write \(path)", code: errno) }
            offset += written
        }
    }

    /// Writes a temporary file next to `path` and renames it into place (a new inode).
    static func writeAtomically(_ path: String, _ text: String) throws {
        let temporary = path + ".tmp-\(UInt32.random(in: 0...UInt32.max))"
        try writeInPlace(temporary, text)
        guard rename(temporary, path) == 0 else { throw POSIXFailure(call: "rename \(temporary)", code: errno) }
    }

    static func symlink(_ target: String, at path: String) throws {
        guard Glibc.symlink(target, path) == 0 else { throw POSIXFailure(call: "symlink \(path)", code: errno) }
    }

    static func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A sparse file of `size` bytes: large on paper, no disk or memory used.
    static func makeSparse(_ path: String, size: Int64) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXFailure(call: "open \(path)", code: errno) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(size)) == 0 else { throw POSIXFailure(call: "ftruncate \(path)", code: errno) }
    }
}

struct POSIXFailure: Error, CustomStringConvertible {
    var call: String
    var code: Int32
    var description: String { "\(call) failed: errno \(code)" }
}

/// Resident set size of this process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

// MARK: Certificates

/// A SPIRE-like CA issuing SVIDs relative to ``referenceTime``; each SVID gets a distinct notAfter
/// (`lifetime` seconds after the reference time) so tests can tell rotations apart by expiry.
struct TestCA {
    let trustDomain: String
    let root: IssuedCA

    init(trustDomain: String = "example.org") throws {
        self.trustDomain = trustDomain
        root = try SVIDFactory.rootCA(trustDomain: trustDomain, notBefore: at(-3600), notAfter: at(48 * 3600))
    }

    func svid(
        _ path: String = "/workload", lifetime: TimeInterval = 3600, keyKind: KeyKind = .p256
    ) throws -> IssuedSVID {
        try SVIDFactory.svid(
            spiffeID: "spiffe://\(trustDomain)\(path)", issuer: root, notBefore: at(-10), notAfter: at(lifetime),
            profile: LeafProfile(keyKind: keyKind))
    }

    var bundlePEM: String { SVIDFactory.pem("CERTIFICATE", root.der) }
}

/// spiffe-helper's three files for `svid`, written in its order (cert → key → bundle), in place.
func writeHelperFiles(_ directory: String, _ svid: IssuedSVID, ca: TestCA, atomically: Bool = false) throws {
    let files = [("svid.pem", svid.chainPEM), ("svid_key.pem", svid.keyPEM), ("svid_bundle.pem", ca.bundlePEM)]
    for (name, text) in files {
        if atomically {
            try Files.writeAtomically(directory + "/" + name, text)
        } else {
            try Files.writeInPlace(directory + "/" + name, text)
        }
    }
}

// MARK: Collector harness

let quietLogger = Logger(label: "cert-files-tests") { _ in SwiftLogNoOpLogHandler() }

/// One collector with its store, registry and /metrics view.
struct Harness: Sendable {
    let store = IdentityStore()
    let registry = MetricsRegistry()
    let collector: CertFilesCollector

    init(_ sources: [CertFilesSourceConfiguration], settings: CertFilesCollectorSettings = CertFilesCollectorSettings())
    {
        collector = CertFilesCollector(
            sources: sources, store: store, registry: registry, logger: quietLogger, settings: settings,
            clock: { referenceTime })
    }

    var metrics: ExporterMetrics {
        ExporterMetrics(
            store: store, registry: registry, version: "test", revision: "test", includeProcessMetrics: false,
            contributors: [collector.contributor])
    }

    func scrape() async -> Scrape {
        Scrape(text: String(decoding: await metrics.scrape(format: .prometheusText, now: referenceTime), as: UTF8.self))
    }

    func errors(_ source: String, _ reason: CertFileLoadReason) -> Double {
        registry.value(MetricCatalog.certFileLoadErrors, [source, reason.rawValue]) ?? -1
    }

    func loads(_ source: String, _ result: String) -> Double {
        registry.value(MetricCatalog.certFileLoads, [source, result]) ?? -1
    }

    func statistics(_ source: String) -> CertFilesSourceStatistics { collector.statistics(source: source) }

    /// The exported expiry of the source's SVID, if exactly one is exported.
    func svidExpiry(_ source: String) async -> Double? {
        await scrape().value("spiffe_x509_svid_expiry_timestamp_seconds", ["source": source])
    }

    /// Runs the collector for the duration of `body`, then cancels it and waits for it to stop.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        let collector = self.collector
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await collector.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// `promtool check metrics` finds nothing to complain about in the current exposition.
    func expectValidExposition(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let text = await scrape().text
        let (status, output) = try await promtool(text)
        #expect(status == 0 && output.isEmpty, "promtool check metrics: \(output)", sourceLocation: sourceLocation)
    }
}

/// A directory source with test-friendly timing: events do the work (the periodic rescan is an
/// hour away unless asked for), settle delay 200 ms unless asked otherwise.
func directorySource(
    _ name: String = "helper", path: String, files: SPIFFEHelperFileNames = SPIFFEHelperFileNames(),
    refresh: TimeInterval = 3600, settleDelay: TimeInterval = 0.2, maxSettle: TimeInterval? = nil
) -> CertFilesSourceConfiguration {
    CertFilesSourceConfiguration(
        name: name, kind: .spiffeHelperDirectory(path: path, files: files), refreshInterval: refresh,
        settleDelay: settleDelay, maxSettle: maxSettle)
}

func globSource(
    _ patterns: [String], name: String = "certs", refresh: TimeInterval = 3600, settleDelay: TimeInterval = 0.2
) -> CertFilesSourceConfiguration {
    CertFilesSourceConfiguration(
        name: name, kind: .glob(patterns: patterns), refreshInterval: refresh, settleDelay: settleDelay)
}

// MARK: Exposition

struct ScrapedSample: Sendable, Hashable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// A parsed Prometheus text exposition (enough of the format for these tests).
struct Scrape: Sendable {
    let text: String
    let samples: [ScrapedSample]

    init(text: String) {
        self.text = text
        samples = text.split(separator: "\n").compactMap(Self.parse)
    }

    func samples(_ name: String, _ labels: [String: String] = [:]) -> [ScrapedSample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    /// The value of the single series matching, or nil when there is none (or several).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples(name, labels)
        return matching.count == 1 ? matching[0].value : nil
    }

    static func parse(_ line: Substring) -> ScrapedSample? {
        if line.isEmpty || line.hasPrefix("#") { return nil }
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
            return nil
        }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else {
            return ScrapedSample(name: String(series), labels: [:], value: value)
        }
        var labels: [String: String] = [:]
        var rest = series[series.index(after: brace)...].dropLast()  // without the closing brace
        while let equals = rest.firstIndex(of: "=") {
            let name = String(rest[..<equals])
            var index = rest.index(equals, offsetBy: 2)  // skip `="`
            var text = ""
            while index < rest.endIndex, rest[index] != "\"" {
                if rest[index] == "\\" {
                    index = rest.index(after: index)
                    text.append(rest[index] == "n" ? "\n" : rest[index])
                } else {
                    text.append(rest[index])
                }
                index = rest.index(after: index)
            }
            labels[name] = text
            rest = rest[min(rest.endIndex, rest.index(after: index))...]
            if rest.hasPrefix(",") { rest = rest.dropFirst() }
        }
        return ScrapedSample(name: String(series[..<brace]), labels: labels, value: value)
    }
}

// MARK: promtool

/// Runs blocking work on a Dispatch thread, never on the Swift concurrency pool.
func offloaded<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
}

let promtoolPath = "/usr/bin/promtool"

/// `promtool check metrics` on `exposition`: its exit status and complaints.
func promtool(_ exposition: String) async throws -> (status: Int32, output: String) {
    try #require(FileManager.default.isExecutableFile(atPath: promtoolPath), "promtool not found at \(promtoolPath)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: promtoolPath)
    process.arguments = ["check", "metrics"]
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let writer = stdin.fileHandleForWriting
    let input = Data(exposition.utf8)
    async let written: Void = offloaded {
        try? writer.write(contentsOf: input)
        try? writer.close()
    }
    async let out = offloaded { stdout.fileHandleForReading.readDataToEndOfFile() }
    async let err = offloaded { stderr.fileHandleForReading.readDataToEndOfFile() }
    _ = await written
    let output = String(decoding: await out, as: UTF8.self) + String(decoding: await err, as: UTF8.self)
    let status = await offloaded {
        process.waitUntilExit()
        return process.terminationStatus
    }
    return (status, output)
}
