import Foundation
import ExporterTestKit
import NIOCore
import NIOPosix
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL upgrade's bytes, without I/O.
@Suite struct StartTLSNegotiationTests {
    @Test func postgresOpeningIsTheSSLRequest() {
        // Length 8, then 1234 << 16 | 5679, both big-endian (PostgreSQL protocol, "SSLRequest").
        #expect(StartTLSNegotiation(.postgres).opening == [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F])
    }

    @Test func postgresAnswers() {
        var accepted = StartTLSNegotiation(.postgres)
        #expect(accepted.receive([]) == .needMore)
        #expect(accepted.receive(Array("S".utf8)) == .upgrade)

        var refused = StartTLSNegotiation(.postgres)
        guard case .refused = refused.receive(Array("N".utf8)) else {
            Issue.record("'N' is a refusal")
            return
        }
        var error = StartTLSNegotiation(.postgres)
        guard case .refused = error.receive(Array("E\0\0\0\u{10}SFATAL".utf8)) else {
            Issue.record("an ErrorResponse is a refusal")
            return
        }
        var garbage = StartTLSNegotiation(.postgres)
        guard case .protocolError = garbage.receive(Array("220 smtp.example ESMTP\r\n".utf8)) else {
            Issue.record("an SMTP greeting is not PostgreSQL")
            return
        }
        // Bytes after the 'S' were sent before TLS: not from the server's TLS stack.
        var injected = StartTLSNegotiation(.postgres)
        guard case .protocolError = injected.receive(Array("S\u{16}\u{03}".utf8)) else {
            Issue.record("bytes after 'S' are an injection")
            return
        }
    }

    @Test func targetOption() throws {
        let target = try ProbeTarget(parsing: "db=10.0.0.5:5432,starttls=postgres")
        #expect(target.startTLS == .postgres)
        #expect(target.description == "db=10.0.0.5:5432,starttls=postgres")
        #expect(try ProbeTarget(parsing: "api=api:443").startTLS == nil)
        #expect(throws: ProbeConfigurationError(.invalidStartTLS, "")) {
            try ProbeTarget(parsing: "db=db:5432,starttls=imap")
        }
        #expect(throws: ProbeConfigurationError(.duplicateOption, "")) {
            try ProbeTarget(parsing: "db=db:5432,starttls=postgres,starttls=postgres")
        }
        let fromFile = try ProbeTarget(name: "db", address: "db:5432", spiffeID: nil, serverName: nil, startTLS: "postgres")
        #expect(fromFile.startTLS == .postgres)
    }
}

/// STARTTLS probes against a real PostgreSQL server and against plain servers that answer the
/// SSLRequest wrongly.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct StartTLSProbeTests {
    /// PostgreSQL serving spiffe-helper files: current; the files rotated without a reload:
    /// stale; after SIGHUP (what `pg_reload_conf()` sends): current again.
    @Test func postgresRotationWithoutAndWithReload() async throws {
        try await probeThroughRotation(startTLS: .postgres) { directory, write in
            try await TestPostgres.start(in: directory, writeCertificates: write)
        }
    }

    /// Plain servers answering the SSLRequest with `N`, garbage, nothing at all, or a close.
    @Test(arguments: [
        (PlainAnswer.bytes(Array("N".utf8)), ProbeFailureReason.startTLSRefused),
        (.bytes(Array("220 mail.example.org ESMTP\r\n".utf8)), .startTLSProtocolError),
        (.close, .startTLSProtocolError),
        (.stall, .timeout),
    ])
    func wrongAnswers(_ answer: PlainAnswer, _ expected: ProbeFailureReason) async throws {
        let clock = ShiftableClock()
        let registry = MetricsRegistry()
        let server = try await PlainServer.start(answer)
        defer { server.stop() }
        let target = ProbeTarget(name: "db", host: "127.0.0.1", port: server.port, startTLS: .postgres)
        let probe = makeStartTLSProbe(target, identities: NoProbeIdentities(), registry: registry, clock: clock, timeout: 1)
        let result = await probe.probe(target)
        #expect(result.failure == expected, "\(result.detail)")
        #expect(registry.value(MetricCatalog.probeFailures, ["db", expected.rawValue]) == 1)
        #expect(result.served == nil)
    }
}

/// Knows nothing: no client SVID, no bundles (the wrong-answer servers never get to TLS).
struct NoProbeIdentities: ProbeIdentitySource {
    func clientSVID() -> ClientSVID? { nil }
    func trustBundle(trustDomain: String) -> TrustBundle? { nil }
    func newestSVID(spiffeID: String) -> CertificateFacts? { nil }
}

enum PlainAnswer: Sendable, CustomTestStringConvertible {
    case bytes([UInt8])
    /// Sent as soon as a client connects, before it says anything (where MySQL and SMTP greet).
    case greet([UInt8])
    case close
    case stall

    var testDescription: String {
        switch self {
        case .bytes(let bytes): "\(String(decoding: bytes, as: UTF8.self).debugDescription)"
        case .greet(let bytes): "greeting \(String(decoding: bytes, as: UTF8.self).debugDescription)"
        case .close: "close"
        case .stall: "stall"
        }
    }
}

/// A TCP server on 127.0.0.1 that answers whatever comes first with a fixed `PlainAnswer`.
final class PlainServer: Sendable {
    let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start(_ answer: PlainAnswer) async throws -> PlainServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PlainAnswerHandler(answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return PlainServer(port: try #require(channel.localAddress?.port), channel: channel)
    }

    func stop() { channel.close(promise: nil) }
}

final class PlainAnswerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let answer: PlainAnswer

    init(answer: PlainAnswer) { self.answer = answer }

    func channelActive(context: ChannelHandlerContext) {
        if case .greet(let bytes) = answer {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch answer {
        case .bytes(let bytes):
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        case .greet:
            break
        case .close:
            context.close(promise: nil)
        case .stall:
            break
        }
    }
}

/// A real PostgreSQL server (Debian's `postgresql` package) on 127.0.0.1, run as nobody in a
/// fresh cluster under `directory`, with `ssl = on` and spiffe-helper's three files in
/// `certificates`; the PostgreSQL binaries are required (`.ci/run` installs them).
final class TestPostgres: Sendable {
    let port: Int
    let certificates: String
    private let process: Process

    private init(port: Int, certificates: String, process: Process) {
        self.port = port
        self.certificates = certificates
        self.process = process
    }

    static let nobody: UInt32 = 65534

    static func binaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        let version = try #require(
            versions.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.last,
            "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
        return "\(root)/\(version)/bin"
    }

    static func start(in directory: String, writeCertificates: (String) throws -> Void) async throws -> TestPostgres {
        let bin = try binaries()
        let base = directory + "/postgres"
        let data = base + "/data"
        let certificates = base + "/certs"
        try FileManager.default.createDirectory(atPath: certificates, withIntermediateDirectories: true)
        // nobody must reach its directory through the test's temporary directory.
        chmod(directory, 0o755)
        try run(["/usr/bin/chown", "-R", "\(nobody):\(nobody)", base])
        try runAsNobody([bin + "/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "--no-locale", "-E", "UTF8"])
        let postgres = TestPostgres(port: 0, certificates: certificates, process: Process())
        try postgres.writeCertificates(writeCertificates)

        let port = try await freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = nobodyArguments + [
            bin + "/postgres", "-D", data, "-k", base, "-p", String(port),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "ssl=on",
            // spiffe-helper's three files; with ssl_ca_file PostgreSQL asks for a client
            // certificate and verifies the exporter's SVID against the bundle.
            "-c", "ssl_cert_file=\(certificates)/svid.pem", "-c", "ssl_key_file=\(certificates)/svid_key.pem",
            "-c", "ssl_ca_file=\(certificates)/svid_bundle.pem",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let server = TestPostgres(port: port, certificates: certificates, process: process)
        do {
            try await eventually(timeout: .seconds(30), "PostgreSQL accepts connections") {
                guard process.isRunning else { throw PostgresExited() }
                return (try? run([bin + "/pg_isready", "-q", "-h", "127.0.0.1", "-p", String(port)])) != nil
            }
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    struct PostgresExited: Error {}

    /// What `SELECT pg_reload_conf()` does: SIGHUP to the postmaster, which reloads the SSL files.
    func reload() { kill(process.processIdentifier, SIGHUP) }

    /// Fast shutdown, and waits for it.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
    }

    static let nobodyArguments = ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", "--"]

    static func runAsNobody(_ arguments: [String]) throws {
        try run(["/usr/bin/setpriv"] + nobodyArguments + arguments)
    }

    struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        // Not inherited from the test's working directory, which nobody may not read.
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        try process.run()
        let text = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(
                description: "\(arguments.joined(separator: " ")): \(String(decoding: text, as: UTF8.self))")
        }
    }

    /// A port the kernel just handed out on 127.0.0.1, released for PostgreSQL to bind.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        return port
    }
}

/// A probe of one STARTTLS target, probed only when a test asks.
func makeStartTLSProbe(
    _ target: ProbeTarget, identities: any ProbeIdentitySource, registry: MetricsRegistry, clock: ShiftableClock,
    timeout: Double = 5
) -> ProbeCollector {
    ProbeCollector(
        configuration: ProbeConfiguration(targets: [target], interval: .seconds(30), timeout: .seconds(timeout)),
        identities: identities, registry: registry, logger: quietLogger, clock: clock.now)
}

/// A database server reading spiffe-helper's files, started by a test.
protocol SpiffeHelperServer: Sendable {
    var port: Int { get }
    /// The directory of spiffe-helper's three files.
    var certificates: String { get }
    /// What the server offers to reload its certificate files without a restart.
    func reload() throws
    func stop()
}

extension SpiffeHelperServer {
    /// Writes the files (as root), then hands them to nobody, the server's user: PostgreSQL and
    /// MariaDB refuse a key file that others can read or that another user owns.
    func writeCertificates(_ write: (String) throws -> Void) throws {
        try write(certificates)
        try TestPostgres.run(["/usr/bin/chown", "-R", "\(TestPostgres.nobody):\(TestPostgres.nobody)", certificates])
        chmod(certificates + "/svid_key.pem", 0o600)
    }
}

extension TestPostgres: SpiffeHelperServer {}

/// A server on the simulator's SVID for `serverID`, probed with `startTLS`: current; the files
/// rotated without a reload: stale; after the server's reload: current again, and the scrape says so.
func probeThroughRotation<Server: SpiffeHelperServer>(
    startTLS: StartTLSProtocol,
    start: (_ directory: String, _ write: (String) throws -> Void) async throws -> Server
) async throws {
    try await withTemporaryDirectory { directory in
        let clock = ShiftableClock()
        let exporter = ExporterHarness()
        let store = exporter.store
        try await withSimulatorAndCollector(directory: directory, clock: clock, exporter: exporter) { simulator in
            let original = try simulator.svid(serverID)
            let server = try await start(directory) { try writeSVIDFiles(original, bundle: [simulator.rootCA], to: $0) }
            defer { server.stop() }
            let target = ProbeTarget(name: "db", host: "127.0.0.1", port: server.port, spiffeID: serverID, startTLS: startTLS)
            let probe = makeStartTLSProbe(
                target, identities: StoreProbeIdentities(store: store, board: exporter.board), registry: exporter.registry,
                clock: clock)

            let first = await probe.probe(target)
            #expect(first.failure == nil, "\(first.detail)")
            #expect(first.served?.leaf.serialNumber == CertificateFacts(original.leaf).serialNumber)
            #expect(first.freshness == .current)

            // The server verifies the exporter's client SVID (ssl_ca) against the wall clock: the
            // rotation is issued 2 s ahead (inside SPIRE's 10 s backdating), enough for a newer notBefore.
            clock.advance(by: 2)
            try simulator.rotate()
            let rotated = try simulator.svid(serverID)
            let rotatedSerial = CertificateFacts(rotated.leaf).serialNumber
            try await eventually("the rotated SVID reaches the store") {
                store.newestSVID(spiffeID: serverID)?.leaf.serialNumber == rotatedSerial
            }
            try server.writeCertificates { try writeSVIDFiles(rotated, bundle: [simulator.rootCA], to: $0) }
            // Rewritten files, no reload: the server keeps the SSL context it loaded.
            let withoutReload = await probe.probe(target)
            #expect(withoutReload.failure == nil, "\(withoutReload.detail)")
            #expect(withoutReload.freshness == .stale(since: rotated.leaf.notValidBefore))

            try server.reload()
            try await eventually("the server presents the rotated SVID after its reload") {
                await probe.probe(target).served?.leaf.serialNumber == rotatedSerial
            }
            let afterReload = await probe.probe(target)
            #expect(afterReload.failure == nil, "\(afterReload.detail)")
            #expect(afterReload.freshness == .current)
            let scrape = await scrapeProbe(probe, registry: exporter.registry, now: clock.now())
            #expect(scrape.value("spiffe_probe_success", ["target": "db"]) == 1)
            #expect(scrape.value("spiffe_served_svid_current", ["target": "db", "spiffe_id": serverID]) == 1)
            for reason in ProbeFailureReason.allCases {
                #expect(scrape.value("spiffe_probe_failures_total", ["target": "db", "reason": reason.rawValue]) == 0)
            }
        }
    }
}
