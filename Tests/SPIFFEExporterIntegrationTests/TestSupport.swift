import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import TestKit
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

// MARK: Sockets

/// Leaves a Unix socket file at `path` that nobody listens on (a crashed agent's stale socket):
/// connecting to it fails with ECONNREFUSED.
func makeStaleSocket(at path: String) throws {
    close(try boundUnixSocket(at: path))
}

/// A socket bound to `path`, not yet listening.
func boundUnixSocket(at path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0, "socket() failed: errno \(errno)")
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
        close(fd)
        throw POSIXFailure(call: "socket path too long: \(path)")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, b) in bytes.enumerated() { raw[i] = b }
        raw[bytes.count] = 0
    }
    let result = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard result == 0 else {
        let failure = POSIXFailure(call: "bind(\(path)): errno \(errno)")
        close(fd)
        throw failure
    }
    return fd
}

struct POSIXFailure: Error, CustomStringConvertible {
    var call: String
    var description: String { call }
}

/// Something that is not a SPIRE agent listening on the agent's socket path: every connection it
/// accepts gets `reply` (nothing if empty) and is then closed, or held open if `hold` is set.
final class ImpostorSocketServer: Sendable {
    let path: String
    private let fd: Int32
    private let held = Mutex<[Int32]>([])
    private let accepted = Atomic<Int>(0)

    init(path: String, reply: [UInt8], hold: Bool) throws {
        self.path = path
        fd = try boundUnixSocket(at: path)
        guard listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXFailure(call: "listen: errno \(errno)")
        }
        let fd = self.fd
        Thread { [self] in
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 { return }  // shut down
                accepted.add(1, ordering: .relaxed)
                if !reply.isEmpty {
                    _ = reply.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
                }
                if hold { held.withLock { $0.append(connection) } } else { close(connection) }
            }
        }.start()
    }

    var connections: Int { accepted.load(ordering: .relaxed) }

    private let stopped = Atomic<Bool>(false)

    /// Stops accepting, closes every held connection and removes the socket file (once).
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        for connection in held.withLock({ $0 }) { close(connection) }
        unlink(path)
    }
}

// MARK: Simulator and collector

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
    // A clock never advanced reads the wall clock, as the simulator's default does.
    let simulator = try WorkloadAPISimulator(configuration: configuration, clock: (clock ?? ShiftableClock()).now)
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

    /// `promtool check metrics` finds nothing to complain about in the current exposition.
    func expectValidExposition(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectPromtoolClean(await scrapeText(), sourceLocation: sourceLocation)
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
    return try await whileRunning(collector.run, body)
}

// MARK: External tools

func gunzip(_ data: Data) async throws -> Data {
    let result = try await runTool("/usr/bin/env", ["gzip", "-dc"], input: data)
    try #require(result.status == 0, "gzip -dc failed: \(result.stderr)")
    return result.stdout
}
