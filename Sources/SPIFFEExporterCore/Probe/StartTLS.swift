/// The plain-text protocol a probe speaks before its TLS handshake (`starttls=` of a target).
public enum StartTLSProtocol: String, Sendable, Hashable, CaseIterable {
    /// PostgreSQL's SSLRequest: 8 bytes, answered by one byte, `S` or `N`.
    case postgres
}

/// Byte-level STARTTLS negotiation, without I/O: the caller sends ``opening`` once connected, then
/// feeds everything the server sends to ``receive(_:)`` until it says what to do.
public struct StartTLSNegotiation: Sendable {
    public enum Step: Sendable, Equatable {
        /// The reply is not complete yet.
        case needMore
        /// Start the TLS handshake now.
        case upgrade
        /// The server answered properly but will not speak TLS (`starttls_refused`).
        case refused(String)
        /// The server sent something that is not an answer of this protocol
        /// (`starttls_protocol_error`).
        case protocolError(String)
    }

    public let protocolKind: StartTLSProtocol
    private var received: [UInt8] = []

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
        }
    }

    /// Adds `bytes` from the server and decides.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> Step {
        received.append(contentsOf: bytes)
        switch protocolKind {
        case .postgres: return postgresStep()
        }
    }

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

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
