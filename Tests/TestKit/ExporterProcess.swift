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

// MARK: Locating the binary

/// The `spiffe-exporter` binary built by `swift build --build-tests`: `$SPIFFE_EXPORTER_BINARY`,
/// else next to the test bundle, else in the package's `.build/debug`.
public func exporterBinary(sourceLocation: SourceLocation = #_sourceLocation) throws -> URL {
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
    // This file is Tests/TestKit/ExporterProcess.swift.
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

// MARK: The exporter as a child process

/// A running `spiffe-exporter` with its stdout and stderr collected as they arrive.
public final class ExporterProcess: Sendable {
    public let process: Process
    private let stdoutBuffer = OutputBuffer()
    private let stderrBuffer = OutputBuffer()

    private final class OutputBuffer: Sendable {
        let data = Mutex(Data())
    }

    /// Starts the exporter with `arguments`; `executable` runs it through a wrapper such as
    /// setpriv(1) instead (then `arguments` name the exporter binary themselves).
    public init(arguments: [String], environment: [String: String] = [:], executable: String? = nil) throws {
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

    public var stdout: String { String(decoding: stdoutBuffer.data.withLock { $0 }, as: UTF8.self) }
    public var stderr: String { String(decoding: stderrBuffer.data.withLock { $0 }, as: UTF8.self) }

    /// Output for failure messages.
    public var transcript: String { "--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)" }

    public func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Waits for the process to exit and returns its exit status, failing the test if it does not
    /// exit within `timeout`.
    public func waitForExit(
        timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (reason: Process.TerminationReason, status: Int32) {
        try await eventually(timeout: timeout, "spiffe-exporter exits\n\(transcript)", sourceLocation: sourceLocation) {
            !process.isRunning
        }
        // isRunning turns false when the child is reaped; terminationStatus is then final.
        return (process.terminationReason, process.terminationStatus)
    }

    /// Stops the process if it is still running and waits for it (cleanup path): SIGTERM first, so
    /// that it removes what it created (the demo's temporary directory), SIGKILL if it has not
    /// exited after 10 s.
    public func stop() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while process.isRunning && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        let process = self.process
        await offloaded { process.waitUntilExit() }
    }
}

/// Runs the exporter for the duration of `body`, killing it afterwards if `body` left it running.
public func withExporter<T>(
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
