import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import Synchronization
import Testing
import WorkloadAPISimulator

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

// MARK: Waiting

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Polls `probe` every 20 ms until it returns a value; fails the test after `timeout`. Waits for an
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

// MARK: Directories

/// A fresh, short directory under /tmp (socket paths stay far below the `sun_path` limit),
/// removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/spxp-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    let path = try #require(made.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Writes an SVID the way spiffe-helper does (in place, cert → key → bundle).
func writeSVIDFiles(_ svid: IssuedSVID, bundle: [IssuedCA], to directory: String) throws {
    let bundlePEM = bundle.map { SVIDFactory.pem("CERTIFICATE", $0.der) }.joined()
    for (name, text) in [("svid.pem", svid.chainPEM), ("svid_key.pem", svid.keyPEM), ("svid_bundle.pem", bundlePEM)] {
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
    }
}

// MARK: Simulator and exporter

/// A wall clock that can be pushed forward, so a rotation gets a later (second-granular)
/// notBefore without waiting. The probe verifies with the same clock.
final class ShiftableClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)

    func advance(by seconds: TimeInterval) {
        offset.withLock { $0 += seconds }
    }

    var now: @Sendable () -> Date {
        { [self] in Date().addingTimeInterval(offset.withLock { $0 }) }
    }
}

let quietLogger = Logger(label: "probe-tests") { _ in SwiftLogNoOpLogHandler() }

let exporterID = "spiffe://example.org/exporter"
let serverID = "spiffe://example.org/server"

/// Runs a simulator issuing `exporterID` (first: the exporter's own, default SVID) and
/// `serverID` (the probed server's), and a Workload API collector feeding `store`, for the
/// duration of `body`; the collector ends before the simulator stops.
func withSimulatorAndCollector<T>(
    directory: String,
    clock: ShiftableClock,
    store: IdentityStore,
    registry: MetricsRegistry,
    _ body: (WorkloadAPISimulator) async throws -> T
) async throws -> T {
    let socket = directory + "/agent.sock"
    let simulator = try WorkloadAPISimulator(
        configuration: SimulatorConfiguration(socketPath: socket, spiffeIDs: [exporterID, serverID], svidTTL: 3600),
        clock: clock.now)
    try await simulator.start()
    let collector = WorkloadAPICollector(
        configuration: WorkloadAPICollectorConfiguration(
            address: .unix(path: socket), backoff: Backoff(initial: 0.05, multiplier: 2, cap: 0.5)),
        store: store, registry: registry, logger: quietLogger)
    do {
        let result = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await collector.run() }
            defer { group.cancelAll() }
            try await eventually("the Workload API SVIDs reach the store") {
                store.newestSVID(spiffeID: serverID) != nil && !store.entries(source: "workload_api").isEmpty
            }
            return try await body(simulator)
        }
        await simulator.stop()
        return result
    } catch {
        await simulator.stop()
        throw error
    }
}

extension WorkloadAPISimulator {
    func svid(_ spiffeID: String) throws -> IssuedSVID {
        try #require(currentSVIDs.first { $0.spiffeID == spiffeID })
    }
}

/// Renders what /metrics would show for the probe (store series excluded) at `now`.
func scrapeProbe(_ collector: ProbeCollector, registry: MetricsRegistry, now: Date) async -> Scrape {
    var builder = ScrapeBuilder()
    registry.collect(into: &builder)
    await collector.contributor.collect(now: now, into: &builder)
    return Scrape(text: String(decoding: builder.render(.prometheusText), as: UTF8.self))
}

// MARK: Reading the exposition

/// A parsed Prometheus text exposition (label values without escapes, which these tests never
/// produce), looked up by name and label subset.
struct Scrape: Sendable {
    struct Line: Sendable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let text: String
    let lines: [Line]

    init(text: String) {
        self.text = text
        lines = text.split(separator: "\n").compactMap(Self.parse)
    }

    /// The value of the single series matching `name` and `labels`; nil if none (or several).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = lines.filter { line in
            line.name == name && labels.allSatisfy { line.labels[$0.key] == $0.value }
        }
        return matching.count == 1 ? matching[0].value : nil
    }

    func has(_ name: String) -> Bool { lines.contains { $0.name == name } }

    static func parse(_ line: Substring) -> Line? {
        guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "),
            let value = Double(line[line.index(after: space)...])
        else { return nil }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else {
            return Line(name: String(series), labels: [:], value: value)
        }
        var labels: [String: String] = [:]
        for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: "\",") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            labels[String(pair[..<equals])] = String(pair[pair.index(equals, offsetBy: 2)...]).replacingOccurrences(
                of: "\"", with: "")
        }
        return Line(name: String(series[..<brace]), labels: labels, value: value)
    }
}
