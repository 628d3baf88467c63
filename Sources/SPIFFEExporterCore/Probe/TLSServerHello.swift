/// Reads the cipher suite the server chose out of its ServerHello, from the raw bytes it sent
/// (NIO SSL exposes the negotiated version but not the cipher). Pure: fed the bytes as they
/// arrive until it says `found` or `notServerHello`.
public enum TLSServerHello {
    public enum Scan: Sendable, Equatable {
        case needMore
        case found(UInt16)
        /// The first record is not a handshake record starting with a ServerHello.
        case notServerHello
    }

    /// `bytes` from the start of the server's TLS stream. The ServerHello's fixed part always
    /// fits its first record (a record carries up to 16 KiB; servers do not fragment it).
    public static func scan(_ bytes: [UInt8]) -> Scan {
        // Record header: type 22 (handshake), version, length.
        guard bytes.count >= 5 else { return bytes.first.map { $0 == 22 ? .needMore : .notServerHello } ?? .needMore }
        guard bytes[0] == 22 else { return .notServerHello }
        // Handshake header: type 2 (server_hello), 24-bit length; then legacy_version (2),
        // random (32), session id (length byte + bytes), cipher_suite (2).
        guard bytes.count >= 6 else { return .needMore }
        guard bytes[5] == 2 else { return .notServerHello }
        let sessionIDLengthAt = 5 + 4 + 2 + 32
        guard bytes.count > sessionIDLengthAt else { return .needMore }
        let cipherAt = sessionIDLengthAt + 1 + Int(bytes[sessionIDLengthAt])
        let recordLength = Int(bytes[3]) << 8 | Int(bytes[4])
        guard cipherAt + 2 <= 5 + recordLength else { return .notServerHello }
        guard bytes.count >= cipherAt + 2 else { return .needMore }
        return .found(UInt16(bytes[cipherAt]) << 8 | UInt16(bytes[cipherAt + 1]))
    }

    /// IANA names of the suites BoringSSL negotiates as a client; others as `0xXXXX`.
    public static func cipherName(_ code: UInt16) -> String {
        if let name = ianaNames[code] { return name }
        let hex = String(code, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    static let ianaNames: [UInt16: String] = [
        0x1301: "TLS_AES_128_GCM_SHA256",
        0x1302: "TLS_AES_256_GCM_SHA384",
        0x1303: "TLS_CHACHA20_POLY1305_SHA256",
        0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    ]
}
