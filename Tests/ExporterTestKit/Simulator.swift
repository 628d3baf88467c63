import Foundation
import TestKit
import Testing
import WorkloadAPISimulator

/// Creates a simulator, starts it unless `started` is false (the test starts it later, as an agent
/// that comes up late), runs `body`, and stops the simulator whether `body` succeeds or throws.
///
/// Keep collectors and the harness's connections inside `body` (``ExporterHarness/running(_:_:)``
/// closes them on return) so they end before the simulator stops. Even then a client's last
/// frames may still be queued at the server: `stop()` cancels the gRPC server's serving task, and
/// a connection or stream that arrives during that cancellation traps in NIO ("Deinited
/// NIOAsyncWriter without calling finish()", apple/swift-nio#3481). So the teardown first waits
/// until the server has accepted and closed every connection on each of its sockets.
public func withSimulator<T>(
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

/// Stops the simulator once no connection is left on its sockets (see ``withSimulator``).
public func stopQuietly(_ simulator: WorkloadAPISimulator) async throws {
    let paths = [simulator.configuration.socketPath] + (simulator.configuration.adminSocketPath.map { [$0] } ?? [])
    do {
        for path in paths {
            try await eventually("every connection to \(path) is closed before the simulator stops") {
                (serverConnections(on: path) ?? 0) == 0
            }
        }
    } catch {
        await simulator.stop()
        throw error
    }
    await simulator.stop()
}

/// Server-side connections on the Unix socket bound at `path`, queued or accepted but not yet
/// closed by the server, from Linux's /proc/net/unix; nil where that table is unavailable.
public func serverConnections(on path: String) -> Int? {
    guard let table = try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8) else { return nil }
    // Num RefCount Protocol Flags Type St Inode Path; the listener has Flags 00010000 (accepting).
    return table.split(separator: "\n").dropFirst().filter { line in
        let fields = line.split(separator: " ")
        return fields.count >= 8 && fields[7...].joined(separator: " ") == path && fields[3] != "00010000"
    }.count
}
