import Foundation
import ExporterTestKit
import NIOCore
import NIOPosix
import NIOSSL
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The MySQL and SMTP upgrades' bytes, without I/O.
@Suite struct MySQLAndSMTPNegotiationTests {
    /// A protocol-10 Initial Handshake packet as MariaDB sends it.
    static func mysqlGreeting(capabilities: UInt32, protocolVersion: UInt8 = 10, sequence: UInt8 = 0) -> [UInt8] {
        var payload: [UInt8] = [protocolVersion] + Array("10.11.19-MariaDB".utf8) + [0]
        payload += [7, 0, 0, 0]  // thread id
        payload += Array("abcdefgh".utf8) + [0]  // auth data part 1, filler
        payload += [UInt8(capabilities & 0xFF), UInt8(capabilities >> 8 & 0xFF)]
        payload += [45, 2, 0, UInt8(capabilities >> 16 & 0xFF), UInt8(capabilities >> 24 & 0xFF), 21]
        payload += [UInt8](repeating: 0, count: 10) + Array("ijklmnopqrst".utf8) + [0]
        payload += Array("mysql_native_password".utf8) + [0]
        return [UInt8(payload.count), 0, 0, sequence] + payload
    }

    static let withSSL: UInt32 = 0xFFFE | 0x0008_0000
    static let withoutSSL: UInt32 = withSSL & ~StartTLSNegotiation.MySQLCapability.ssl

    @Test func mysqlServerOfferingSSLGetsTheSSLRequestAndTLS() {
        var negotiation = StartTLSNegotiation(.mysql)
        #expect(negotiation.opening.isEmpty, "the server speaks first")
        let greeting = Self.mysqlGreeting(capabilities: Self.withSSL)
        // Split across reads: nothing is decided on half a packet.
        #expect(negotiation.receive(greeting.prefix(10)) == .needMore)
        guard case .sendThenUpgrade(let request) = negotiation.receive(greeting.dropFirst(10)) else {
            Issue.record("an SSL-capable greeting is answered with the SSLRequest")
            return
        }
        // 32-byte payload, sequence id 1, CLIENT_SSL and CLIENT_PROTOCOL_41 set, 23 zero bytes.
        #expect(request.count == 36)
        #expect(Array(request.prefix(4)) == [32, 0, 0, 1])
        let capabilities = UInt32(request[4]) | UInt32(request[5]) << 8 | UInt32(request[6]) << 16 | UInt32(request[7]) << 24
        #expect(capabilities & StartTLSNegotiation.MySQLCapability.ssl != 0)
        #expect(capabilities & StartTLSNegotiation.MySQLCapability.protocol41 != 0)
        #expect(request.suffix(23).allSatisfy { $0 == 0 })
    }

    @Test func mysqlRefusals() {
        var noSSL = StartTLSNegotiation(.mysql)
        guard case .refused(let detail) = noSSL.receive(Self.mysqlGreeting(capabilities: Self.withoutSSL)) else {
            Issue.record("a greeting without CLIENT_SSL is a refusal")
            return
        }
        #expect(detail.contains("10.11.19-MariaDB"))
        // ERR 1040 "Too many connections" in place of the greeting.
        let message = Array("#08004Too many connections".utf8)
        let err: [UInt8] = [UInt8(3 + message.count), 0, 0, 0, 0xFF, 0x10, 0x04] + message
        var tooMany = StartTLSNegotiation(.mysql)
        guard case .refused(let errDetail) = tooMany.receive(err) else {
            Issue.record("an ERR packet is a refusal")
            return
        }
        #expect(errDetail.contains("Too many connections"))
    }

    @Test(arguments: [
        ("an SMTP greeting", Array("220 mail.example.org ESMTP\r\n".utf8)),
        ("protocol 9", mysqlGreeting(capabilities: withSSL, protocolVersion: 9)),
        ("a second packet first", mysqlGreeting(capabilities: withSSL, sequence: 1)),
        ("bytes after the greeting", mysqlGreeting(capabilities: withSSL) + [0x16, 0x03, 0x01]),
        ("a truncated greeting", [UInt8(5), 0, 0, 0, 10, 0x41, 0x42, 0x43, 0x44]),
    ])
    func mysqlGarbage(_ what: String, _ bytes: [UInt8]) {
        var negotiation = StartTLSNegotiation(.mysql)
        guard case .protocolError = negotiation.receive(bytes) else {
            Issue.record("\(what) is not a MySQL handshake")
            return
        }
    }

    @Test func smtpConversation() {
        var negotiation = StartTLSNegotiation(.smtp)
        #expect(negotiation.opening.isEmpty, "the server speaks first")
        #expect(negotiation.receive(Array("220-mail.example.org ESMTP\r\n220 no UCE".utf8)) == .needMore)
        #expect(negotiation.receive(Array("\r\n".utf8)) == .send(Array("EHLO spiffe-exporter\r\n".utf8)))
        let ehlo = "250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-starttls\r\n250 8BITMIME\r\n"
        #expect(negotiation.receive(Array(ehlo.utf8)) == .send(Array("STARTTLS\r\n".utf8)))
        #expect(negotiation.receive(Array("220 2.0.0 Ready to start TLS\r\n".utf8)) == .upgrade)
    }

    @Test(arguments: [
        ("554 greeting", ["554 5.3.2 not accepting mail\r\n"]),
        ("no STARTTLS in EHLO", ["220 mx\r\n", "250-mx\r\n250 PIPELINING\r\n"]),
        ("STARTTLS only in the greeting text", ["220 mx STARTTLS\r\n", "250 mx\r\n"]),
        ("EHLO rejected", ["220 mx\r\n", "502 5.5.2 command not recognized\r\n"]),
        ("STARTTLS declined", ["220 mx\r\n", "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 TLS not available\r\n"]),
    ])
    func smtpRefusals(_ what: String, _ replies: [String]) {
        guard case .refused = Self.lastStep(.smtp, replies) else {
            Issue.record("\(what) is a refusal, not \(Self.lastStep(.smtp, replies))")
            return
        }
    }

    /// What the negotiation says after the server's `replies`, fed one by one.
    static func lastStep(_ kind: StartTLSProtocol, _ replies: [String]) -> StartTLSNegotiation.Step {
        var negotiation = StartTLSNegotiation(kind)
        var last: StartTLSNegotiation.Step = .needMore
        for reply in replies { last = negotiation.receive(Array(reply.utf8)) }
        return last
    }

    @Test(arguments: [
        ("an HTTP answer", ["HTTP/1.1 400 Bad Request\r\n"]),
        ("a MySQL greeting", [String(decoding: mysqlGreeting(capabilities: withSSL), as: UTF8.self) + "\n"]),
        ("mixed codes", ["220-mx\r\n250 mx\r\n"]),
        ("a line that never ends", [String(repeating: "2", count: 2000)]),
        ("a pipelined greeting and EHLO answer", ["220 mx\r\n250 STARTTLS\r\n"]),
        // Bytes behind the 220 would be read as the server's TLS: the injection of CVE-2011-0411.
        ("bytes injected behind STARTTLS's 220", ["220 mx\r\n", "250-mx\r\n250 STARTTLS\r\n", "220 go ahead\r\n\u{16}\u{03}"]),
    ])
    func smtpGarbage(_ what: String, _ replies: [String]) {
        guard case .protocolError = Self.lastStep(.smtp, replies) else {
            Issue.record("\(what) is a protocol error, not \(Self.lastStep(.smtp, replies))")
            return
        }
    }

    @Test(arguments: StartTLSProtocol.allCases)
    func endlessPlainTextIsCutOff(_ kind: StartTLSProtocol) {
        // A multi-line SMTP reply that never ends, or a never-ending packet: bounded, not buffered.
        var negotiation = StartTLSNegotiation(kind)
        let chunk: [UInt8] = kind == .mysql ? [0xFF, 0xFF, 0x00, 0x00] : Array("220-more\r\n".utf8)
        var last: StartTLSNegotiation.Step = .needMore
        for _ in 0..<(StartTLSNegotiation.maximumPlainTextBytes / chunk.count + 2) {
            last = negotiation.receive(chunk)
            if last != .needMore { break }
        }
        guard case .protocolError = last else {
            Issue.record("\(kind) keeps buffering: \(last)")
            return
        }
    }

    @Test func targetOptions() throws {
        #expect(try ProbeTarget(parsing: "db=db:3306,starttls=mysql").startTLS == .mysql)
        #expect(try ProbeTarget(parsing: "mx=10.0.0.25:25,starttls=smtp").description == "mx=10.0.0.25:25,starttls=smtp")
        #expect(try ProbeTarget(name: "mx", address: "mx:587", spiffeID: nil, serverName: nil, startTLS: "smtp").startTLS == .smtp)
    }
}

/// STARTTLS probes against a real MariaDB server and a small SMTP server.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct StartTLSMySQLSMTPProbeTests {
    /// MariaDB serving spiffe-helper files: current; the files rotated without a reload: stale;
    /// after `FLUSH SSL`: current again.
    @Test func mariadbRotationWithoutAndWithFlushSSL() async throws {
        try await probeThroughRotation(startTLS: .mysql) { directory, write in
            try await TestMariaDB.start(in: directory, writeCertificates: write)
        }
    }

    /// The SMTP upgrade against a server with STARTTLS (the SVID checks run as for any TLS
    /// target), one without it, and one whose files rotated without a reload.
    @Test func smtpStartTLS() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let exporter = ExporterHarness()
            let store = exporter.store
            try await withSimulatorAndCollector(directory: directory, clock: clock, exporter: exporter) { simulator in
                let original = try simulator.svid(serverID)
                let files = directory + "/mx"
                try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
                try writeSVIDFiles(original, bundle: [simulator.rootCA], to: files)
                let server = try await TestTLSServer.start(directory: files, reload: .never, smtp: .startTLS)
                defer { server.stop() }
                let target = ProbeTarget(name: "mx", host: "127.0.0.1", port: server.port, spiffeID: serverID, startTLS: .smtp)
                let probe = makeStartTLSProbe(
                    target, identities: StoreProbeIdentities(store: store, board: exporter.board),
                    registry: exporter.registry, clock: clock)
                let first = await probe.probe(target)
                #expect(first.failure == nil, "\(first.detail)")
                #expect(first.served?.leaf.serialNumber == CertificateFacts(original.leaf).serialNumber)
                #expect(first.freshness == .current)
                #expect(first.tlsVersion != nil)

                clock.advance(by: 120)
                try simulator.rotate()
                let rotated = try simulator.svid(serverID)
                try await eventually("the rotated SVID reaches the store") {
                    store.newestSVID(spiffeID: serverID)?.leaf.serialNumber == CertificateFacts(rotated.leaf).serialNumber
                }
                try writeSVIDFiles(rotated, bundle: [simulator.rootCA], to: files)
                #expect(await probe.probe(target).freshness == .stale(since: rotated.leaf.notValidBefore))

                let plain = try await TestTLSServer.start(directory: files, reload: .never, smtp: .withoutStartTLS)
                defer { plain.stop() }
                let plainTarget = ProbeTarget(name: "mx2", host: "127.0.0.1", port: plain.port, startTLS: .smtp)
                let refused = await probe.probe(plainTarget)
                #expect(refused.failure == .startTLSRefused, "\(refused.detail)")
                #expect(refused.served == nil)
            }
        }
    }
}

/// Servers that greet wrongly, not at all, or hang up, for the protocols where the server speaks first.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct StartTLSServerFirstWrongAnswerTests {
    @Test(arguments: [
        (StartTLSProtocol.mysql, PlainAnswer.greet(Array("220 mail.example.org ESMTP\r\n".utf8)), ProbeFailureReason.startTLSProtocolError),
        (.mysql, .greet(MySQLAndSMTPNegotiationTests.mysqlGreeting(capabilities: MySQLAndSMTPNegotiationTests.withoutSSL)), .startTLSRefused),
        (.mysql, .stall, .timeout),
        (.mysql, .greet([]), .timeout),
        (.smtp, .greet(MySQLAndSMTPNegotiationTests.mysqlGreeting(capabilities: MySQLAndSMTPNegotiationTests.withSSL) + [10]), .startTLSProtocolError),
        (.smtp, .greet(Array("554 5.3.2 go away\r\n".utf8)), .startTLSRefused),
        (.smtp, .greet(Array("220 mx\r\n250 STARTTLS\r\n".utf8)), .startTLSProtocolError),
        (.smtp, .stall, .timeout),
    ])
    func wrongGreetings(_ kind: StartTLSProtocol, _ answer: PlainAnswer, _ expected: ProbeFailureReason) async throws {
        let registry = MetricsRegistry()
        let server = try await PlainServer.start(answer)
        defer { server.stop() }
        let target = ProbeTarget(name: "db", host: "127.0.0.1", port: server.port, startTLS: kind)
        let probe = makeStartTLSProbe(
            target, identities: NoProbeIdentities(), registry: registry, clock: ShiftableClock(), timeout: 1)
        let result = await probe.probe(target)
        #expect(result.failure == expected, "\(result.detail)")
        #expect(registry.value(MetricCatalog.probeFailures, ["db", expected.rawValue]) == 1)
        #expect(result.served == nil)
    }
}

/// A real MariaDB server (Debian's `mariadb-server`) on 127.0.0.1, run as nobody with a fresh
/// data directory under `directory` and spiffe-helper's files in `certificates`.
final class TestMariaDB: SpiffeHelperServer {
    let port: Int
    let certificates: String
    let socket: String
    private let process: Process

    private init(port: Int, certificates: String, socket: String, process: Process) {
        self.port = port
        self.certificates = certificates
        self.socket = socket
        self.process = process
    }

    static func start(in directory: String, writeCertificates: (String) throws -> Void) async throws -> TestMariaDB {
        let server = "/usr/sbin/mariadbd"
        try #require(
            FileManager.default.isExecutableFile(atPath: server),
            "MariaDB is not installed (apt-get install mariadb-server; .ci/run does)")
        let base = directory + "/mariadb"
        let data = base + "/data"
        let certificates = base + "/certs"
        let socket = base + "/mysqld.sock"
        try FileManager.default.createDirectory(atPath: certificates, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        try TestPostgres.run(["/usr/bin/chown", "-R", "\(TestPostgres.nobody):\(TestPostgres.nobody)", base])
        try TestPostgres.runAsNobody([
            "/usr/bin/mariadb-install-db", "--no-defaults", "--datadir=\(data)", "--auth-root-authentication-method=normal",
            "--skip-test-db", "--skip-name-resolve",
        ])
        let mariadb = TestMariaDB(port: 0, certificates: certificates, socket: socket, process: Process())
        try mariadb.writeCertificates(writeCertificates)

        let port = try await TestPostgres.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = TestPostgres.nobodyArguments + [
            server, "--no-defaults", "--datadir=\(data)", "--socket=\(socket)", "--pid-file=\(base)/mysqld.pid",
            "--port=\(port)", "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
            // spiffe-helper's three files; with ssl_ca MariaDB asks for a client certificate
            // and verifies the exporter's SVID against the bundle.
            "--ssl-cert=\(certificates)/svid.pem", "--ssl-key=\(certificates)/svid_key.pem",
            "--ssl-ca=\(certificates)/svid_bundle.pem",
        ]
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let started = TestMariaDB(port: port, certificates: certificates, socket: socket, process: process)
        do {
            try await eventually(timeout: .seconds(60), "MariaDB accepts connections") {
                guard process.isRunning else { throw MariaDBExited() }
                return (try? started.sql("SELECT 1")) != nil
            }
        } catch {
            started.stop()
            throw error
        }
        return started
    }

    struct MariaDBExited: Error {}

    /// Runs one statement as MariaDB's root over the Unix socket.
    func sql(_ statement: String) throws {
        try TestPostgres.run(["/usr/bin/mariadb", "--no-defaults", "-S", socket, "-u", "root", "-e", statement])
    }

    /// What MariaDB offers to reload the certificate files without a restart.
    func reload() throws { try sql("FLUSH SSL") }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}
