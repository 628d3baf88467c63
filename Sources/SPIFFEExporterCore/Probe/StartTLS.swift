/// The plain-text protocol a probe speaks before its TLS handshake (`starttls=` of a target).
public enum StartTLSProtocol: String, Sendable, Hashable, CaseIterable {
    /// PostgreSQL's SSLRequest: 8 bytes, answered by one byte, `S` or `N`.
    case postgres
    /// MySQL/MariaDB: the server's Initial Handshake must offer CLIENT_SSL; the client answers
    /// with an SSLRequest packet and starts TLS at once.
    case mysql
    /// SMTP (RFC 3207): greeting 220, EHLO listing STARTTLS, STARTTLS answered 220.
    case smtp
}

/// Byte-level STARTTLS negotiation, without I/O: the caller sends ``opening`` once connected (it
/// is empty where the server speaks first), then feeds everything the server sends to
/// ``receive(_:)`` and does what each step says until it upgrades or gives up.
public struct StartTLSNegotiation: Sendable {
    public enum Step: Sendable, Equatable {
        /// The reply is not complete yet.
        case needMore
        /// Send these bytes, then keep feeding the server's answer.
        case send([UInt8])
        /// Start the TLS handshake now.
        case upgrade
        /// Send these bytes, then start the TLS handshake without waiting for an answer.
        case sendThenUpgrade([UInt8])
        /// The server answered properly but will not speak TLS (`starttls_refused`).
        case refused(String)
        /// The server sent something that is not an answer of this protocol
        /// (`starttls_protocol_error`).
        case protocolError(String)
    }

    public let protocolKind: StartTLSProtocol
    private var received: [UInt8] = []
    private var smtpPhase = SMTPPhase.greeting
    /// The complete lines of the SMTP reply being read, and how far `received` is split into
    /// them: each read parses only what is new.
    private var smtpLinesSoFar: [SMTPLine] = []
    private var smtpScanned = 0
    private var finished = false

    private enum SMTPPhase {
        case greeting, ehlo, startTLS
    }

    /// The most a server may send before the upgrade: far more than any greeting, EHLO list or
    /// handshake packet, so a server streaming garbage is cut off instead of buffered.
    public static let maximumPlainTextBytes = 64 * 1024

    /// The name the probe gives itself in SMTP's EHLO.
    public static let ehloName = "spiffe-exporter"

    public init(_ protocolKind: StartTLSProtocol) {
        self.protocolKind = protocolKind
    }

    /// PostgreSQL's SSLRequest code (1234 << 16 | 5679).
    public static let postgresSSLRequestCode: UInt32 = 80_877_103

    /// What the client sends as soon as the connection is up.
    public var opening: [UInt8] {
        switch protocolKind {
        case .postgres:
            // Int32 length 8 (itself included), Int32 request code, both big-endian.
            return Self.bigEndian(8) + Self.bigEndian(Self.postgresSSLRequestCode)
        case .mysql, .smtp:
            return []
        }
    }

    /// Adds `bytes` from the server and decides.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> Step {
        guard !finished else { return .protocolError("the server sent more after the upgrade was decided") }
        received.append(contentsOf: bytes)
        let step: Step
        if received.count > Self.maximumPlainTextBytes {
            step = .protocolError("more than \(Self.maximumPlainTextBytes) bytes before the TLS upgrade")
        } else {
            switch protocolKind {
            case .postgres: step = postgresStep()
            case .mysql: step = mysqlStep()
            case .smtp: step = smtpStep()
            }
        }
        switch step {
        case .needMore, .send: break
        case .upgrade, .sendThenUpgrade, .refused, .protocolError: finished = true
        }
        return step
    }

    // MARK: PostgreSQL

    private func postgresStep() -> Step {
        guard let first = received.first else { return .needMore }
        switch first {
        case UInt8(ascii: "S"):
            // Anything after the 'S' arrived before the handshake and is not from TLS
            // (the CVE-2021-23214 injection); a real server sends nothing more.
            guard received.count == 1 else {
                return .protocolError("\(received.count - 1) unexpected bytes after the SSLRequest answer 'S'")
            }
            return .upgrade
        case UInt8(ascii: "N"):
            return .refused("the server answered the SSLRequest with 'N' (ssl = off)")
        case UInt8(ascii: "E"):
            // Servers older than 7.0 or refusing the request outright send an ErrorResponse.
            return .refused("the server answered the SSLRequest with an ErrorResponse")
        default:
            return .protocolError("the server answered the SSLRequest with byte 0x\(String(first, radix: 16))")
        }
    }

    // MARK: MySQL / MariaDB

    /// Capability bits of the client/server protocol (MySQL's `CLIENT_*`).
    public enum MySQLCapability {
        public static let longPassword: UInt32 = 0x0000_0001
        public static let protocol41: UInt32 = 0x0000_0200
        public static let ssl: UInt32 = 0x0000_0800
        public static let secureConnection: UInt32 = 0x0000_8000
        public static let pluginAuth: UInt32 = 0x0008_0000
    }

    /// The SSLRequest packet: the first 32 bytes of a HandshakeResponse41, sequence id 1.
    public static var mysqlSSLRequest: [UInt8] {
        let capabilities = MySQLCapability.longPassword | MySQLCapability.protocol41 | MySQLCapability.ssl
            | MySQLCapability.secureConnection | MySQLCapability.pluginAuth
        var payload = littleEndian(capabilities)
        payload += littleEndian(16 * 1024 * 1024)  // max packet size
        payload.append(45)  // utf8mb4_general_ci
        payload += [UInt8](repeating: 0, count: 23)
        return [UInt8(payload.count), 0, 0, 1] + payload
    }

    private func mysqlStep() -> Step {
        // A packet: 3-byte little-endian payload length, 1-byte sequence id, payload.
        guard received.count >= 4 else { return .needMore }
        let length = Int(received[0]) | Int(received[1]) << 8 | Int(received[2]) << 16
        // The greeting is the connection's first packet: sequence id 0, a few dozen bytes.
        guard received[3] == 0, length <= Self.maximumPlainTextBytes else {
            return .protocolError("not a MySQL handshake packet (length \(length), sequence id \(received[3]))")
        }
        guard received.count >= 4 + length else { return .needMore }
        guard received.count == 4 + length else {
            return .protocolError("\(received.count - 4 - length) unexpected bytes after the server's handshake packet")
        }
        let payload = received[4...]
        guard let version = payload.first else { return .protocolError("an empty handshake packet") }
        if version == 0xFF {
            // An ERR packet instead of the greeting: too many connections, host blocked.
            let message = payload.count > 3 ? String(decoding: payload.dropFirst(3).prefix(200), as: UTF8.self) : ""
            return .refused("the server answered with an error instead of its handshake: \(Self.printable(message))")
        }
        guard version == 10 else {
            return .protocolError("not a MySQL protocol 10 handshake (first byte 0x\(String(version, radix: 16)))")
        }
        // server version (NUL-terminated), thread id (4), auth data part 1 (8), filler (1),
        // capability flags lower 2 bytes, then optionally charset (1), status (2), upper 2 bytes.
        guard let end = payload.dropFirst().firstIndex(of: 0) else {
            return .protocolError("the handshake packet's server version is not terminated")
        }
        let serverVersion = Self.printable(String(decoding: payload[(payload.startIndex + 1)..<end].prefix(100), as: UTF8.self))
        let lower = end + 1 + 4 + 8 + 1
        guard payload.endIndex >= lower + 2 else {
            return .protocolError("the handshake packet ends before its capability flags")
        }
        let capabilities = UInt32(payload[lower]) | UInt32(payload[lower + 1]) << 8
        guard capabilities & MySQLCapability.protocol41 != 0 else {
            return .protocolError("the server \(serverVersion) does not speak protocol 4.1")
        }
        guard capabilities & MySQLCapability.ssl != 0 else {
            return .refused("the server \(serverVersion) does not offer SSL (have_ssl is DISABLED)")
        }
        return .sendThenUpgrade(Self.mysqlSSLRequest)
    }

    // MARK: SMTP

    private mutating func smtpStep() -> Step {
        guard let (more, scanned) = Self.smtpLines(received, from: smtpScanned) else {
            return .protocolError("not an SMTP reply: \(Self.printable(String(decoding: received.prefix(80), as: UTF8.self)))")
        }
        smtpLinesSoFar += more
        smtpScanned = scanned
        guard received.count - scanned <= Self.maximumSMTPLineBytes else {
            return .protocolError("an SMTP reply line longer than \(Self.maximumSMTPLineBytes) bytes")
        }
        let lines = smtpLinesSoFar
        guard let last = lines.firstIndex(where: { $0.last }) else { return .needMore }
        let code = lines[0].code
        guard lines[...last].allSatisfy({ $0.code == code }) else {
            return .protocolError("an SMTP reply whose lines carry different codes")
        }
        let reply = SMTPReply(code: code, lines: lines[...last].map(\.text))
        guard lines[last].end == received.count else {
            // A server speaks only after each command; bytes ahead of that are injected
            // (the CVE-2011-0411 class), and after STARTTLS's 220 they would be taken as TLS.
            return .protocolError("\(received.count - lines[last].end) unexpected bytes after the SMTP reply \(code)")
        }
        received.removeAll()
        smtpLinesSoFar = []
        smtpScanned = 0
        switch smtpPhase {
        case .greeting:
            guard reply.code == 220 else {
                return .refused("the server greeted with \(reply.code) \(reply.firstLine)")
            }
            smtpPhase = .ehlo
            return .send(Array("EHLO \(Self.ehloName)\r\n".utf8))
        case .ehlo:
            guard reply.code == 250 else {
                return .refused("the server answered EHLO with \(reply.code) \(reply.firstLine)")
            }
            let offersStartTLS = reply.lines.dropFirst().contains {
                $0.split(separator: " ").first?.uppercased() == "STARTTLS"
            }
            guard offersStartTLS else { return .refused("the server's EHLO reply does not offer STARTTLS") }
            smtpPhase = .startTLS
            return .send(Array("STARTTLS\r\n".utf8))
        case .startTLS:
            guard reply.code == 220 else {
                return .refused("the server answered STARTTLS with \(reply.code) \(reply.firstLine)")
            }
            return .upgrade
        }
    }

    struct SMTPReply {
        var code: Int
        /// The text of each line, without code and separator.
        var lines: [String]
        var firstLine: String { Self.printable(lines.first ?? "") }

        static func printable(_ text: String) -> String { StartTLSNegotiation.printable(text) }
    }

    /// RFC 5321 allows 512 bytes per reply line; twice that before a line break is not SMTP.
    static let maximumSMTPLineBytes = 1024

    struct SMTPLine {
        var code: Int
        /// `DDD text` ends a reply, `DDD-text` continues it.
        var last: Bool
        var text: String
        /// Offset just past the line's `\n`.
        var end: Int
    }

    /// The complete lines in `bytes` from `start`, and where the unfinished rest begins; nil once
    /// one of them is not `DDD-text` / `DDD text`.
    static func smtpLines(_ bytes: [UInt8], from start: Int) -> ([SMTPLine], Int)? {
        var lines: [SMTPLine] = []
        var start = start
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            var line = bytes[start..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            guard line.count >= 3, let code = Int(String(decoding: line.prefix(3), as: UTF8.self)),
                (200...599).contains(code)
            else { return nil }
            let separator = line.count > 3 ? line[line.startIndex + 3] : UInt8(ascii: " ")
            guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else { return nil }
            let text = String(decoding: line.dropFirst(4), as: UTF8.self)
            lines.append(SMTPLine(code: code, last: separator == UInt8(ascii: " "), text: text, end: newline + 1))
            start = newline + 1
        }
        return (lines, start)
    }

    // MARK: Bytes

    /// Control characters and invalid UTF-8 of a hostile server never reach a log line raw.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{FFFD}" ? "?" : Character($0) })
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func littleEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24 & 0xFF)]
    }
}
