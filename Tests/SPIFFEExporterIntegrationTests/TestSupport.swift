import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import ExporterTestKit
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

/// The in-process exporter these tests feed.
typealias Exporter = ExporterHarness

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
    try await exporter.running([WorkloadAPICollector(configuration: configuration, context: exporter.context)], body)
}

// MARK: External tools

func gunzip(_ data: Data) async throws -> Data {
    let result = try await runTool("/usr/bin/env", ["gzip", "-dc"], input: data)
    try #require(result.status == 0, "gzip -dc failed: \(result.stderr)")
    return result.stdout
}
