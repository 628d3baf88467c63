import Foundation
import Hummingbird
import Logging
import SPIFFEExporterCore
import SPIFFEExporterHTTP
import SVIDFactory
import ServiceLifecycle
import Synchronization
import TestKit
import Testing
import X509

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed exposition: these tests are about who may read it, not what it says.
struct StubMetrics: MetricsProvider {
    static let body = "# TYPE spiffe_exporter_stub gauge\nspiffe_exporter_stub 1\n"

    func scrape(format: ExpositionFormat, now: Date) async -> [UInt8] { Array(Self.body.utf8) }
    func unsyncedSources() -> [String] { [] }
}

// MARK: Files

func write(_ text: String, to path: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// Replaces a file the way certificate managers do: write aside, then rename over it.
func replace(_ path: String, with text: String) throws {
    let temporary = path + ".new"
    try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
    guard rename(temporary, path) == 0 else {
        throw TimedOut(description: "rename \(temporary) failed: errno \(errno)")
    }
}

// MARK: Certificates (all generated here, valid around now)

extension TestCA {
    /// Live TLS against curl and the TLS stack: valid around the wall clock.
    static func live(trustDomain: String = "example.org") throws -> TestCA {
        try TestCA(trustDomain: trustDomain, validity: .aroundNow)
    }

    var ca: IssuedCA { root }
    var pem: String { bundlePEM }
}

/// Writes an SVID's chain and key as PEM files; returns (certificate path, key path).
@discardableResult
func writeCredentials(_ svid: IssuedSVID, directory: String, name: String) throws -> (cert: String, key: String) {
    let cert = directory + "/\(name).pem"
    let key = directory + "/\(name)-key.pem"
    try write(svid.chainPEM, to: cert)
    try write(svid.keyPEM, to: key)
    return (cert, key)
}

// MARK: A live server

/// Serves the router with `security` on 127.0.0.1 (ephemeral port) for the duration of `body`.
func withLiveServer<T: Sendable>(
    security: WebSecurity, _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let port = Mutex<Int?>(nil)
    let app = buildApplication(
        configuration: HTTPConfiguration(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
        metrics: StubMetrics(), security: security, logger: quietLogger
    ) { bound in port.withLock { $0 = bound } }
    let group = ServiceGroup(configuration: .init(services: [app], logger: quietLogger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let bound = try await eventually("the server to listen") { port.withLock { $0 } }
            let result = try await body(bound)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

// MARK: curl

struct CurlResult: Sendable, CustomStringConvertible {
    var exitStatus: Int32
    /// 0 when no HTTP response arrived.
    var httpCode: Int
    var body: String
    /// `%{certs}` output: the server's chain as curl saw it.
    var certs: String
    var stderr: String

    var description: String { "curl exit \(exitStatus), HTTP \(httpCode), stderr: \(stderr)" }

    /// The DER of the first certificate the server presented.
    var servedLeafDER: [UInt8]? {
        guard let blocks = try? PEM.parse(certs), let first = blocks.first(where: { $0.type == "CERTIFICATE" }) else {
            return nil
        }
        return first.der
    }
}

/// `curl https://localhost:PORT/path` with `127.0.0.1` resolved for `localhost`, so hostname
/// verification against the generated certificates' DNS SAN works.
func curl(
    port: Int, path: String = "/metrics", cacert: String?, user: String? = nil,
    clientCert: (cert: String, key: String)? = nil,
    scheme: String = "https", directory: String
) async throws -> CurlResult {
    let bodyFile = directory + "/curl-body-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: bodyFile) }
    var arguments = [
        "--silent", "--show-error", "--noproxy", "*", "--max-time", "10",
        "--resolve", "localhost:\(port):127.0.0.1",
        "--output", bodyFile, "--write-out", "%{http_code}\n%{certs}",
    ]
    if let cacert { arguments += ["--cacert", cacert] }
    if let user { arguments += ["--user", user] }
    if let clientCert { arguments += ["--cert", clientCert.cert, "--key", clientCert.key] }
    arguments.append("\(scheme)://localhost:\(port)\(path)")
    let result = try await runTool("/usr/bin/curl", arguments)
    let lines = String(decoding: result.stdout, as: UTF8.self).split(
        separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let body = (try? String(contentsOfFile: bodyFile, encoding: .utf8)) ?? ""
    return CurlResult(
        exitStatus: result.status, httpCode: lines.first.flatMap { Int($0) } ?? 0, body: body,
        certs: lines.count > 1 ? String(lines[1]) : "", stderr: result.stderr)
}
