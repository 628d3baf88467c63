import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import Synchronization
import TestKit
import Testing
import X509

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

// MARK: Files

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

/// One cert-files collector on the shared exporter harness.
struct Harness: Sendable {
    let exporter: ExporterHarness
    let collector: CertFilesCollector
    var store: IdentityStore { exporter.store }
    var board: SourceBoard { exporter.board }
    var registry: MetricsRegistry { exporter.registry }

    init(
        _ sources: [CertFilesSourceConfiguration], settings: CertFilesCollectorSettings = CertFilesCollectorSettings(),
        clock: @escaping @Sendable () -> Date = { referenceTime }
    ) {
        exporter = ExporterHarness(now: clock)
        collector = CertFilesCollector(sources: sources, context: exporter.context, settings: settings)
    }

    var metrics: ExporterMetrics { exporter.metrics(contributors: [collector.contributor]) }

    func scrape(now: Date = referenceTime) async -> Scrape {
        Scrape(text: String(decoding: await metrics.scrape(format: .prometheusText, now: now), as: UTF8.self))
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
        try await exporter.running([collector], body)
    }

    /// `promtool check metrics` finds nothing to complain about in the current exposition.
    func expectValidExposition(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectPromtoolClean(await scrape().text, sourceLocation: sourceLocation)
    }
}

/// A directory source with test-friendly timing: events do the work (the periodic rescan is an
/// hour away unless asked for), settle delay 200 ms unless asked otherwise.
func directorySource(
    _ name: String = "helper", path: String, files: SPIFFEHelperFileNames = SPIFFEHelperFileNames(),
    refresh: TimeInterval = 3600, settleDelay: TimeInterval = 0.2, maxSettle: TimeInterval? = nil
) -> CertFilesSourceConfiguration {
    CertFilesSourceConfiguration(
        name: name, kind: .spiffeHelperDirectory(path: path, files: files), refreshInterval: .seconds(refresh),
        settleDelay: .seconds(settleDelay), maxSettle: maxSettle.map { .seconds($0) })
}

func globSource(
    _ patterns: [String], name: String = "certs", refresh: TimeInterval = 3600, settleDelay: TimeInterval = 0.2
) -> CertFilesSourceConfiguration {
    CertFilesSourceConfiguration(
        name: name, kind: .glob(patterns: patterns), refreshInterval: .seconds(refresh), settleDelay: .seconds(settleDelay))
}
