import Foundation
import Crypto
import SwiftASN1
import _CryptoExtras
import X509

/// What the exporter needs from one certificate, read once when it arrives.
public struct CertificateFacts: Sendable, Hashable {
    public var notBefore: Date
    public var notAfter: Date
    public var serialNumber: String
    public var isCA: Bool
    public var uriSANs: [String]
    public var hasKeyUsage: Bool
    public var digitalSignature: Bool
    public var keyCertSign: Bool
    public var cRLSign: Bool
    public var keyType: String
    /// Short stable identifier of a CA certificate: its subject key identifier in hex, or the first
    /// 8 bytes of the SHA-256 of its DER when it has none. Never the serial number.
    public var identifier: String

    public init(_ certificate: Certificate) {
        notBefore = certificate.notValidBefore
        notAfter = certificate.notValidAfter
        serialNumber = Self.hex(certificate.serialNumber.bytes)
        let isCA = certificate.isCertificateAuthority
        var uris: [String] = []
        var keyUsage: KeyUsage?
        // Extensions that fail to decode are treated as absent; profile checks then flag the leaf.
        if let sans = try? certificate.extensions.subjectAlternativeNames {
            for name in sans {
                if case .uniformResourceIdentifier(let uri) = name { uris.append(uri) }
            }
        }
        keyUsage = try? certificate.extensions.keyUsage
        self.isCA = isCA
        uriSANs = uris
        hasKeyUsage = keyUsage != nil
        digitalSignature = keyUsage?.digitalSignature ?? false
        keyCertSign = keyUsage?.keyCertSign ?? false
        cRLSign = keyUsage?.cRLSign ?? false
        keyType = Self.keyType(of: certificate.publicKey)
        identifier = Self.identifier(of: certificate)
    }

    static func hex<C: Collection<UInt8>>(_ bytes: C) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func identifier(of certificate: Certificate) -> String {
        if let ski = try? certificate.extensions.subjectKeyIdentifier, !ski.keyIdentifier.isEmpty {
            return hex(ski.keyIdentifier)
        }
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate)) != nil else { return "unknown" }
        return hex(Array(SHA256.hash(data: serializer.serializedBytes)).prefix(8))
    }

    public var lifetime: TimeInterval { notAfter.timeIntervalSince(notBefore) }

    /// RFC 5280 §4.1.2.5: valid from notBefore through notAfter, both inclusive.
    public func isValid(at now: Date) -> Bool { now >= notBefore && now <= notAfter }

    /// The instants at which this certificate's validity changes (becomes valid, stops being valid).
    /// Certificate times have one-second resolution, so "just after notAfter" is notAfter + 1 s.
    public var validityBoundaries: [Date] { [notBefore, notAfter.addingTimeInterval(1)] }

    static func keyType(of key: Certificate.PublicKey) -> String {
        if P256.Signing.PublicKey(key) != nil { return "ec-p256" }
        if P384.Signing.PublicKey(key) != nil { return "ec-p384" }
        if P521.Signing.PublicKey(key) != nil { return "ec-p521" }
        if Curve25519.Signing.PublicKey(key) != nil { return "ed25519" }
        if let rsa = _RSA.Signing.PublicKey(key) { return "rsa-\(rsa.keySizeInBits)" }
        return "unknown"
    }
}
