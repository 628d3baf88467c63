// In-process benchmarks for spiffe-exporter (docs/performance.md). Not a test: it prints figures and
// exits 0 whenever every benchmark ran; targets are compared by scripts/bench.sh. `--smoke` runs tiny
// sizes in a few seconds so CI can check the benchmarks still run.
import ExporterTestKit
import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import Synchronization
import WorkloadAPISimulator
import X509

struct Options {
    var smoke = false
    var json = false
    var files = 10_000
    var identities = 10_000
    var scrapes = 200
    var rotations = 20
    var outageSeconds = 60.0
    /// Where the generated SVID files go (kept for the Python baseline); a temp dir if nil.
    var directory: String?
    /// Where to write one /metrics body of the scrape benchmark (for the Python baseline).
    var expositionOut: String?
    var only: Set<String> = []
    /// Serve a Workload API simulator on this socket until killed (the idle-cost run of bench.sh).
    var simulatorSocket: String?

    static func parse(_ arguments: [String]) -> Options {
        var o = Options()
        var i = 0
        func value() -> String {
            i += 1
            guard i < arguments.count else {
                FileHandle.standardError.write(Data("missing value for \(arguments[i - 1])\n".utf8))
                exit(2)
            }
            return arguments[i]
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--smoke":
                o.smoke = true
                o.files = 200
                o.identities = 200
                o.scrapes = 10
                o.rotations = 3
                o.outageSeconds = 3
            case "--json": o.json = true
            case "--files": o.files = Int(value()) ?? o.files
            case "--identities": o.identities = Int(value()) ?? o.identities
            case "--scrapes": o.scrapes = Int(value()) ?? o.scrapes
            case "--rotations": o.rotations = Int(value()) ?? o.rotations
            case "--outage-seconds": o.outageSeconds = Double(value()) ?? o.outageSeconds
            case "--dir": o.directory = value()
            case "--exposition-out": o.expositionOut = value()
            case "--simulator": o.simulatorSocket = value()
            case "--only": o.only = Set(value().split(separator: ",").map(String.init))
            case "-h", "--help":
                print(
                    """
                    usage: spiffe-exporter-bench [--smoke] [--json] [--files N] [--identities N] [--scrapes N]
                                                 [--rotations N] [--outage-seconds S] [--dir PATH]
                                                 [--exposition-out PATH] [--only load,scrape,rotation,outage]
                           spiffe-exporter-bench --simulator SOCKET   (serve a simulator until killed)
                    """)
                exit(0)
            default:
                FileHandle.standardError.write(Data("unknown argument \(arguments[i])\n".utf8))
                exit(2)
            }
            i += 1
        }
        return o
    }

    func runs(_ name: String) -> Bool { only.isEmpty || only.contains(name) }
}

/// Results, printed as a table or as one JSON object.
final class Results: @unchecked Sendable {
    private(set) var values: [(String, Double)] = []
    func set(_ key: String, _ value: Double) {
        values.append((key, value))
        FileHandle.standardError.write(Data("  \(key) = \(Self.format(value))\n".utf8))
    }
    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(format: "%.6g", v)
    }
    func json() -> String {
        "{" + values.map { "\"\($0.0)\": \($0.1.isFinite ? Self.format($0.1) : "null")" }.joined(separator: ", ") + "}"
    }
}

func log(_ message: String) { FileHandle.standardError.write(Data("[bench] \(message)\n".utf8)) }


/// User + system CPU time of this process.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

var quietLogger: Logger {
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    return logger
}

// MARK: 1. Load SVID files

struct Generated {
    var directory: String
    var paths: [String]
    var bundlePath: String
    var ca: IssuedCA
}

func generate(count: Int, into directory: String, now: Date) throws -> Generated {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let ca = try SVIDFactory.rootCA(
        trustDomain: "bench.example.org", notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86400 * 30))
    let bundlePath = directory + "/bundle.pem"
    try Data(SVIDFactory.pem("CERTIFICATE", ca.der).utf8).write(to: URL(fileURLWithPath: bundlePath))
    var paths: [String] = []
    paths.reserveCapacity(count)
    for i in 0..<count {
        let path = directory + "/svid-\(String(format: "%05d", i)).pem"
        paths.append(path)
        if FileManager.default.fileExists(atPath: path) { continue }
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://bench.example.org/ns/bench/sa/workload-\(i)", issuer: ca,
            notBefore: now.addingTimeInterval(-60), notAfter: now.addingTimeInterval(3600 + Double(i)))
        try Data(svid.chainPEM.utf8).write(to: URL(fileURLWithPath: path))
    }
    return Generated(directory: directory, paths: paths, bundlePath: bundlePath, ca: ca)
}

func benchLoad(_ options: Options, results: Results) async throws -> [IdentityStore.Entry] {
    let now = Date()
    let directory = options.directory ?? NSTemporaryDirectory() + "spiffe-bench-\(getpid())"
    // A directory left by an earlier run holds files of another CA: start clean.
    try? FileManager.default.removeItem(atPath: directory)
    let started = ContinuousClock.now
    let generated = try generate(count: options.files, into: directory, now: now)
    log("generated \(options.files) P-256 SVIDs in \(String(format: "%.2f", (ContinuousClock.now - started).seconds)) s")
    defer { if options.directory == nil { try? FileManager.default.removeItem(atPath: directory) } }

    guard case .success(let (_, bundleBytes)) = CertFileReader.read(generated.bundlePath, maxSize: 1 << 20) else {
        throw BenchError("cannot read bundle")
    }
    let bundle = TrustBundle(trustDomain: "bench.example.org", pem: bundleBytes)
    let bundles = BundleSet(own: bundle)

    // One untimed pass first, so neither side measures files still being written back (the Python
    // baseline does the same); then each measurement is the median of three passes.
    for path in generated.paths { _ = CertFileReader.read(path, maxSize: 1 << 20) }
    func median(_ runs: [Double]) -> Double { runs.sorted()[runs.count / 2] }

    // Read + parse + validate (chain against the bundle, SPIFFE ID, SVID profile): the path of a
    // spiffe-helper source (SPIFFEHelperEvaluator -> X509SVIDMaterial.fromPEM -> X509SVIDAnalyzer).
    var entries: [IdentityStore.Entry] = []
    var validateRuns: [Double] = []
    var t0 = ContinuousClock.now
    for _ in 0..<3 {
        entries = []
        entries.reserveCapacity(generated.paths.count)
        var invalid = 0
        t0 = ContinuousClock.now
        for path in generated.paths {
            guard case .success(let (_, bytes)) = CertFileReader.read(path, maxSize: 1 << 20) else {
                throw BenchError("cannot read \(path)")
            }
            let material = X509SVIDMaterial.fromPEM(certificatePEM: bytes, keyPEM: nil)
            let report = await X509SVIDAnalyzer.analyze(material, bundles: bundles, now: now)
            if report.chainTrusted != true || report.trustDomain == nil { invalid += 1 }
            entries.append(IdentityStore.Entry(material: material, bundles: bundles, report: report))
        }
        validateRuns.append((ContinuousClock.now - t0).seconds)
        if invalid > 0 { throw BenchError("\(invalid) generated SVIDs did not validate") }
    }
    let validate = median(validateRuns)

    // Read + parse only (the glob path: CertificateFileSummary.parse), comparable to the baseline.
    var parseRuns: [Double] = []
    for _ in 0..<3 {
        t0 = ContinuousClock.now
        var parsed = 0
        for path in generated.paths {
            guard case .success(let (_, bytes)) = CertFileReader.read(path, maxSize: 1 << 20) else { continue }
            if case .success = CertificateFileSummary.parse(bytes) { parsed += 1 }
        }
        parseRuns.append((ContinuousClock.now - t0).seconds)
        if parsed != generated.paths.count { throw BenchError("only \(parsed) files parsed") }
    }
    let parse = median(parseRuns)

    // Where the time goes, phase by phase over the same files (each phase alone).
    var contents: [[UInt8]] = []
    contents.reserveCapacity(generated.paths.count)
    t0 = ContinuousClock.now
    for path in generated.paths {
        if case .success(let (_, bytes)) = CertFileReader.read(path, maxSize: 1 << 20) { contents.append(bytes) }
    }
    let readPhase = (ContinuousClock.now - t0).seconds
    var ders: [[UInt8]] = []
    ders.reserveCapacity(contents.count)
    t0 = ContinuousClock.now
    for bytes in contents {
        if let block = try? PEM.parse(bytes).first { ders.append(block.der) }
    }
    let pemPhase = (ContinuousClock.now - t0).seconds
    var certificates: [Certificate] = []
    certificates.reserveCapacity(ders.count)
    t0 = ContinuousClock.now
    for der in ders {
        if let certificate = try? Certificate(derEncoded: der) { certificates.append(certificate) }
    }
    let derPhase = (ContinuousClock.now - t0).seconds
    t0 = ContinuousClock.now
    for certificate in certificates {
        let material = X509SVIDMaterial(
            reportedSPIFFEID: nil, leaf: certificate, intermediates: [], privateKey: nil, keyExpected: false)
        _ = await X509SVIDAnalyzer.analyze(material, bundles: bundles, now: now)
    }
    let analyzePhase = (ContinuousClock.now - t0).seconds

    let n = Double(generated.paths.count)
    results.set("load_phase_read_us", readPhase / n * 1e6)
    results.set("load_phase_pem_us", pemPhase / n * 1e6)
    results.set("load_phase_der_us", derPhase / n * 1e6)
    results.set("load_phase_analyze_us", analyzePhase / n * 1e6)
    results.set("load_files", n)
    results.set("load_validate_total_s", validate)
    results.set("load_validate_us_per_cert", validate / n * 1e6)
    results.set("load_parse_total_s", parse)
    results.set("load_parse_us_per_cert", parse / n * 1e6)
    return entries
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: 2. Scrape with N identities

func benchScrape(_ options: Options, entries: [IdentityStore.Entry], results: Results) async throws {
    let store = IdentityStore()
    let registry = MetricsRegistry()
    let source = "workload_api"
    store.register(source: source)
    let identities = Array(entries.prefix(options.identities))
    let bundles = identities.first?.bundles.own.map { ["bench.example.org": $0] } ?? [:]
    store.replaceSVIDs(source: source, entries: identities, bundles: bundles, now: Date())
    let metrics = ExporterMetrics(store: store, board: SourceBoard(), registry: registry, version: "bench", revision: "bench")

    // Warm-up (first scrape may re-verify nothing, but touches every allocation path once).
    var body = await metrics.scrape(format: .prometheusText, now: Date())
    var latencies: [Double] = []
    latencies.reserveCapacity(options.scrapes)
    // CPU time next to wall time: on a shared 2-core machine the wall-clock tail is mostly other
    // processes; nothing else runs in this process during the loop, so its CPU time is the scrape's.
    var cpu: [Double] = []
    for _ in 0..<options.scrapes {
        let c0 = processCPUSeconds()
        let t0 = ContinuousClock.now
        body = await metrics.scrape(format: .prometheusText, now: Date())
        latencies.append((ContinuousClock.now - t0).seconds)
        cpu.append(processCPUSeconds() - c0)
    }
    cpu.sort()
    if ProcessInfo.processInfo.environment["BENCH_TRACE"] != nil {
        log("scrape latencies (ms, in order): \(latencies.map { String(format: "%.0f", $0 * 1000) }.joined(separator: " "))")
    }
    latencies.sort()
    let series = body.split(separator: UInt8(ascii: "\n")).filter { $0.first != UInt8(ascii: "#") }.count
    var openMetricsLatencies: [Double] = []
    for _ in 0..<max(3, options.scrapes / 10) {
        let t0 = ContinuousClock.now
        _ = await metrics.scrape(format: .openMetrics, now: Date())
        openMetricsLatencies.append((ContinuousClock.now - t0).seconds)
    }
    openMetricsLatencies.sort()
    // Cold: a fresh exporter (empty render cache) for each scrape, as right after every identity
    // rotated at once; the loop above is the steady state, where only countdowns are re-rendered.
    var coldLatencies: [Double] = []
    for _ in 0..<max(3, options.scrapes / 10) {
        let fresh = ExporterMetrics(store: store, board: SourceBoard(), registry: registry, version: "bench", revision: "bench")
        let t0 = ContinuousClock.now
        _ = await fresh.scrape(format: .prometheusText, now: Date())
        coldLatencies.append((ContinuousClock.now - t0).seconds)
    }
    coldLatencies.sort()
    if let out = options.expositionOut {
        try Data(body).write(to: URL(fileURLWithPath: out))
    }
    results.set("scrape_identities", Double(identities.count))
    results.set("scrape_series", Double(series))
    results.set("scrape_bytes", Double(body.count))
    results.set("scrape_runs", Double(latencies.count))
    results.set("scrape_p50_ms", percentile(latencies, 50) * 1000)
    results.set("scrape_p90_ms", percentile(latencies, 90) * 1000)
    results.set("scrape_p99_ms", percentile(latencies, 99) * 1000)
    results.set("scrape_max_ms", (latencies.last ?? .nan) * 1000)
    results.set("scrape_cpu_p50_ms", percentile(cpu, 50) * 1000)
    results.set("scrape_cpu_p99_ms", percentile(cpu, 99) * 1000)
    results.set("scrape_openmetrics_p50_ms", percentile(openMetricsLatencies, 50) * 1000)
    results.set("scrape_cold_p50_ms", percentile(coldLatencies, 50) * 1000)
    results.set("scrape_cold_p99_ms", percentile(coldLatencies, 99) * 1000)
}

// MARK: 3. Rotation latency

/// A clock that can be moved forward, so every rotation issues a different (second-precision) notAfter.
final class OffsetClock: Sendable {
    let offset = Mutex<TimeInterval>(0)
    func now() -> Date { Date().addingTimeInterval(offset.withLock { $0 }) }
    func advance(_ by: TimeInterval) { offset.withLock { $0 += by } }
}

/// The value text of the first sample line of `name` in a text exposition.
func firstSample(_ body: [UInt8], _ name: String, containing: String? = nil) -> String? {
    let text = String(decoding: body, as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        if let containing, !line.contains(containing) { continue }
        return line.split(separator: " ").last.map(String.init)
    }
    return nil
}

func waitUntil(timeout: Double, poll: Duration = .milliseconds(1), _ condition: () async -> Bool) async -> Double? {
    let t0 = ContinuousClock.now
    while (ContinuousClock.now - t0).seconds < timeout {
        if await condition() { return (ContinuousClock.now - t0).seconds }
        try? await Task.sleep(for: poll)
    }
    return nil
}

func socketPath(_ tag: String) -> String { "/tmp/sxb-\(getpid())-\(tag).sock" }

func benchSimulatorRotation(_ options: Options, results: Results) async throws {
    let clock = OffsetClock()
    let path = socketPath("rot")
    let simulator = try WorkloadAPISimulator(
        configuration: SimulatorConfiguration(socketPath: path, svidTTL: 3600), clock: clock.now)
    try await simulator.start()
    let exporter = ExporterHarness(logger: quietLogger)
    let metrics = exporter.metrics
    let collector = WorkloadAPICollector(
        configuration: WorkloadAPICollectorConfiguration(address: .unix(path: path)), context: exporter.context)
    let name = MetricCatalog.x509SVIDExpiry.name
    try await exporter.running([collector]) {
        guard
            await waitUntil(timeout: 10, {
                firstSample(await metrics.scrape(format: .prometheusText, now: Date()), name) != nil
            }) != nil
        else { throw BenchError("simulator SVID never showed up in /metrics") }
        var latencies: [Double] = []
        for _ in 0..<options.rotations {
            let before = firstSample(await metrics.scrape(format: .prometheusText, now: Date()), name)
            clock.advance(10)
            let t0 = ContinuousClock.now
            try simulator.rotate()
            guard
                await waitUntil(timeout: 5, poll: .microseconds(200), {
                    firstSample(await metrics.scrape(format: .prometheusText, now: Date()), name) != before
                }) != nil
            else { throw BenchError("rotation never showed up in /metrics") }
            latencies.append((ContinuousClock.now - t0).seconds)
        }
        latencies.sort()
        results.set("rotation_stream_runs", Double(latencies.count))
        results.set("rotation_stream_p50_ms", percentile(latencies, 50) * 1000)
        results.set("rotation_stream_max_ms", (latencies.last ?? .nan) * 1000)
    }
    await simulator.stop()
}

func benchFileRotation(_ options: Options, results: Results) async throws {
    let directory = NSTemporaryDirectory() + "spiffe-bench-rot-\(getpid())"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let now = Date()
    let ca = try SVIDFactory.rootCA(
        trustDomain: "bench.example.org", notBefore: now.addingTimeInterval(-60), notAfter: now.addingTimeInterval(86400))
    func writeLeaf(_ i: Int, to path: String) throws {
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://bench.example.org/rotating", issuer: ca, notBefore: now.addingTimeInterval(-60),
            notAfter: now.addingTimeInterval(3600 + Double(i) * 10))
        try Data(svid.chainPEM.utf8).write(to: URL(fileURLWithPath: path))
    }
    let target = directory + "/tls.pem"
    try writeLeaf(0, to: target)
    let exporter = ExporterHarness(logger: quietLogger)
    let source = CertFilesSourceConfiguration(name: "bench", kind: .glob(patterns: [directory + "/*.pem"]))
    let collector = CertFilesCollector(sources: [source], context: exporter.context)
    let metrics = exporter.metrics(contributors: [collector.contributor])
    let name = MetricCatalog.certificateExpiry.name
    try await exporter.running([collector]) {
        guard
            await waitUntil(timeout: 10, {
                firstSample(await metrics.scrape(format: .prometheusText, now: Date()), name) != nil
            }) != nil
        else { throw BenchError("certificate file never showed up in /metrics") }
        var latencies: [Double] = []
        for i in 1...options.rotations {
            let before = firstSample(await metrics.scrape(format: .prometheusText, now: Date()), name)
            let staged = directory + "/.tls.pem.tmp"
            try writeLeaf(i, to: staged)
            let t0 = ContinuousClock.now
            guard rename(staged, target) == 0 else { throw BenchError("rename failed: \(errno)") }
            guard
                await waitUntil(timeout: 5, poll: .microseconds(500), {
                    firstSample(await metrics.scrape(format: .prometheusText, now: Date()), name) != before
                }) != nil
            else { throw BenchError("file rotation never showed up in /metrics") }
            latencies.append((ContinuousClock.now - t0).seconds)
        }
        latencies.sort()
        results.set("rotation_file_runs", Double(latencies.count))
        results.set("rotation_file_p50_ms", percentile(latencies, 50) * 1000)
        results.set("rotation_file_max_ms", (latencies.last ?? .nan) * 1000)
    }
}

// MARK: 5. Agent load during an outage

/// Sum of the request counter per RPC, from the text exposition.
func requestCounts(_ body: [UInt8]) -> [String: Double] {
    let name = MetricCatalog.workloadAPIRequests.name
    var counts: [String: Double] = [:]
    for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name + "{") {
        guard let rpcStart = line.range(of: "rpc=\"") else { continue }
        let rest = line[rpcStart.upperBound...]
        guard let end = rest.firstIndex(of: "\""), let value = line.split(separator: " ").last.flatMap({ Double($0) }) else {
            continue
        }
        counts[String(rest[..<end]), default: 0] += value
    }
    return counts
}

/// The most attempts the backoff allows in `window` seconds: the record of the broken stream plus
/// every retry whose earliest (jitter 0) start falls inside the window.
func promisedAttempts(_ backoff: Backoff, window: Double) -> Int {
    var b = backoff
    var t = Duration.zero
    var n = 1
    while true {
        t += b.next(jitter: 0)
        if t > .seconds(window) { return n }
        n += 1
    }
}

func benchOutage(_ options: Options, results: Results) async throws {
    let path = socketPath("out")
    let simulator = try WorkloadAPISimulator(configuration: SimulatorConfiguration(socketPath: path))
    try await simulator.start()
    let exporter = ExporterHarness(logger: quietLogger)
    let metrics = exporter.metrics
    // Production backoff in the full run; a fast one in smoke mode so CI stays quick.
    let backoff = options.smoke ? Backoff(initial: .milliseconds(200), multiplier: 2, cap: .seconds(1)) : Backoff()
    let collector = WorkloadAPICollector(
        configuration: WorkloadAPICollectorConfiguration(address: .unix(path: path), backoff: backoff),
        context: exporter.context)
    let kinds = 2.0  // FetchX509SVID + FetchX509Bundles
    try await exporter.running([collector]) {
        guard await waitUntil(timeout: 10, { simulator.statistics.openStreams >= Int(kinds) }) != nil else {
            throw BenchError("collector never opened its streams")
        }
        try await Task.sleep(for: .seconds(options.smoke ? 0.5 : 3))
        let steady = simulator.statistics
        results.set("outage_steady_open_streams", Double(steady.openStreams))
        results.set("outage_steady_calls_max_per_rpc", Double(steady.calls.values.max() ?? 0))

        let before = requestCounts(await metrics.scrape(format: .prometheusText, now: Date()))
        let t0 = ContinuousClock.now
        await simulator.stop()
        try await Task.sleep(for: .seconds(options.outageSeconds))
        let during = requestCounts(await metrics.scrape(format: .prometheusText, now: Date()))
        let elapsed = (ContinuousClock.now - t0).seconds
        let attempts = during.map { $0.value - (before[$0.key] ?? 0) }.max() ?? 0
        results.set("outage_seconds", elapsed)
        results.set("outage_attempts_max_per_rpc", attempts)
        results.set("outage_attempts_promised_per_rpc", Double(promisedAttempts(backoff, window: elapsed)))

        // Recovery: back to exactly one stream per RPC kind (the retry may be up to one cap away).
        let callsBefore = simulator.statistics.calls
        try await simulator.start()
        let recovered = await waitUntil(timeout: backoff.cap.seconds + 10, poll: .milliseconds(20)) {
            simulator.statistics.openStreams >= Int(kinds)
        }
        try await Task.sleep(for: .seconds(options.smoke ? 0.5 : 3))
        let after = simulator.statistics
        results.set("outage_recovery_s", recovered ?? .nan)
        results.set("outage_recovered_open_streams", Double(after.openStreams))
        let newCalls = after.calls.map { $0.value - (callsBefore[$0.key] ?? 0) }.max() ?? 0
        results.set("outage_recovered_calls_max_per_rpc", Double(newCalls))
    }
    await simulator.stop()
}

// MARK: main

@main
struct Bench {
    static func main() async {
        let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
        if let socket = options.simulatorSocket {
            do {
                let simulator = try WorkloadAPISimulator(configuration: SimulatorConfiguration(socketPath: socket, svidTTL: 3600))
                try await simulator.start()
                log("simulator serving on \(socket)")
                while true { try await Task.sleep(for: .seconds(3600)) }
            } catch {
                log("FAILED: \(error)")
                exit(1)
            }
        }
        let results = Results()
        let started = ContinuousClock.now
        do {
            var entries: [IdentityStore.Entry] = []
            if options.runs("load") || options.runs("scrape") {
                log("1. load \(options.files) SVID files")
                entries = try await benchLoad(options, results: results)
            }
            if options.runs("scrape") {
                log("2. scrape with \(options.identities) identities")
                try await benchScrape(options, entries: entries, results: results)
            }
            if options.runs("rotation") {
                log("3. rotation latency (\(options.rotations) rotations)")
                try await benchSimulatorRotation(options, results: results)
                try await benchFileRotation(options, results: results)
            }
            if options.runs("outage") {
                log("5. simulator outage of \(options.outageSeconds) s")
                try await benchOutage(options, results: results)
            }
        } catch {
            log("FAILED: \(error)")
            exit(1)
        }
        results.set("bench_wall_s", (ContinuousClock.now - started).seconds)
        if options.json {
            print(results.json())
        } else {
            for (key, value) in results.values { print("\(key)\t\(Results.format(value))") }
        }
    }
}
