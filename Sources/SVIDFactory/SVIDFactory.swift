import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// Key algorithms SPIRE can issue (`ec-p256` default, `ec-p384`, `rsa-2048`) plus Ed25519, which
/// go-spiffe accepts.
public enum KeyKind: String, Sendable, CaseIterable {
    case p256 = "ec-p256"
    case p384 = "ec-p384"
    case rsa2048 = "rsa-2048"
    case ed25519

    public func generate() throws -> Certificate.PrivateKey {
        switch self {
        case .p256: Certificate.PrivateKey(P256.Signing.PrivateKey())
        case .p384: Certificate.PrivateKey(P384.Signing.PrivateKey())
        case .rsa2048: Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048))
        case .ed25519: Certificate.PrivateKey(Curve25519.Signing.PrivateKey())
        }
    }
}

/// A signing authority: a root or intermediate CA with its key.
public struct IssuedCA: Sendable {
    public var trustDomain: String
    public var certificate: Certificate
    public var privateKey: Certificate.PrivateKey
    /// The chain from this CA up to (not including) its root: empty for a root.
    public var chainToRoot: [Certificate]

    public var der: [UInt8] { SVIDFactory.der(certificate) }
}

/// An issued X.509-SVID: leaf first, then intermediates, and its private key.
public struct IssuedSVID: Sendable {
    public var spiffeID: String
    public var chain: [Certificate]
    public var privateKey: Certificate.PrivateKey

    public var leaf: Certificate { chain[0] }
    /// Concatenated DER, leaf first: the Workload API's `x509_svid` field.
    public var chainDER: [UInt8] { chain.flatMap(SVIDFactory.der) }
    /// PKCS#8 DER: the Workload API's `x509_svid_key` field.
    public var keyPKCS8DER: [UInt8] { SVIDFactory.pkcs8(privateKey) }
    /// spiffe-helper's `svid.pem`.
    public var chainPEM: String { chain.map { SVIDFactory.pem("CERTIFICATE", SVIDFactory.der($0)) }.joined() }
    /// spiffe-helper's `svid_key.pem`.
    public var keyPEM: String { SVIDFactory.pem("PRIVATE KEY", keyPKCS8DER) }
}

/// Options that bend a leaf away from the SPIFFE profile, for fault injection and tests.
public struct LeafProfile: Sendable {
    /// URI SANs to put in the leaf; `nil` means exactly the SPIFFE ID.
    public var uriSANs: [String]?
    public var isCA = false
    public var includeKeyUsage = true
    public var digitalSignature = true
    public var keyCertSign = false
    public var dnsNames: [String] = []
    public var keyKind: KeyKind = .p256

    public init(keyKind: KeyKind = .p256) {
        self.keyKind = keyKind
    }
}

/// Builds certificates the way SPIRE does (spiffe/spire pkg/server/credtemplate): CA certs with
/// keyCertSign|cRLSign and a `spiffe://<td>` URI SAN; leaves with one URI SAN, CA=false,
/// digitalSignature|keyEncipherment|keyAgreement, serverAuth+clientAuth.
public enum SVIDFactory {
    public static func rootCA(
        trustDomain: String, notBefore: Date, notAfter: Date, keyKind: KeyKind = .p256
    ) throws -> IssuedCA {
        let key = try keyKind.generate()
        let name = try DistinguishedName {
            CountryName("US")
            OrganizationName("SPIFFE")
            CommonName("\(trustDomain) root \(UInt32.random(in: 0...UInt32.max))")
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: key.publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: name,
            subject: name,
            signatureAlgorithm: signatureAlgorithm(for: key),
            extensions: try caExtensions(trustDomain: trustDomain, publicKey: key.publicKey, issuerKey: nil),
            issuerPrivateKey: key
        )
        return IssuedCA(trustDomain: trustDomain, certificate: certificate, privateKey: key, chainToRoot: [])
    }

    public static func intermediateCA(
        issuer: IssuedCA, notBefore: Date, notAfter: Date, keyKind: KeyKind = .p256
    ) throws -> IssuedCA {
        let key = try keyKind.generate()
        let name = try DistinguishedName {
            CountryName("US")
            OrganizationName("SPIFFE")
            CommonName("\(issuer.trustDomain) intermediate \(UInt32.random(in: 0...UInt32.max))")
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: key.publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: issuer.certificate.subject,
            subject: name,
            signatureAlgorithm: signatureAlgorithm(for: issuer.privateKey),
            extensions: try caExtensions(
                trustDomain: issuer.trustDomain, publicKey: key.publicKey, issuerKey: issuer.certificate.publicKey),
            issuerPrivateKey: issuer.privateKey
        )
        return IssuedCA(
            trustDomain: issuer.trustDomain, certificate: certificate, privateKey: key,
            chainToRoot: [certificate] + issuer.chainToRoot)
    }

    /// Issues a leaf. The returned chain holds the leaf and the issuer's intermediates (not the root).
    public static func svid(
        spiffeID: String, issuer: IssuedCA, notBefore: Date, notAfter: Date, profile: LeafProfile = LeafProfile()
    ) throws -> IssuedSVID {
        let key = try profile.keyKind.generate()
        let subject = try DistinguishedName {
            CountryName("US")
            OrganizationName("SPIRE")
        }
        var sans: [GeneralName] = (profile.uriSANs ?? [spiffeID]).map { .uniformResourceIdentifier($0) }
        sans += profile.dnsNames.map { .dnsName($0) }
        let extensions = try Certificate.Extensions {
            Critical(
                profile.isCA
                    ? BasicConstraints.isCertificateAuthority(maxPathLength: nil) : BasicConstraints.notCertificateAuthority)
            if profile.includeKeyUsage {
                Critical(
                    KeyUsage(
                        digitalSignature: profile.digitalSignature, keyEncipherment: true, keyAgreement: true,
                        keyCertSign: profile.keyCertSign))
            }
            try ExtendedKeyUsage([.serverAuth, .clientAuth])
            SubjectKeyIdentifier(hash: key.publicKey)
            AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: issuer.certificate.publicKey).keyIdentifier)
            if !sans.isEmpty {
                SubjectAlternativeNames(sans)
            }
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: key.publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: issuer.certificate.subject,
            subject: subject,
            signatureAlgorithm: signatureAlgorithm(for: issuer.privateKey),
            extensions: extensions,
            issuerPrivateKey: issuer.privateKey
        )
        return IssuedSVID(spiffeID: spiffeID, chain: [certificate] + issuer.chainToRoot, privateKey: key)
    }

    static func caExtensions(
        trustDomain: String, publicKey: Certificate.PublicKey, issuerKey: Certificate.PublicKey?
    ) throws -> Certificate.Extensions {
        try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: publicKey)
            if let issuerKey {
                AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: issuerKey).keyIdentifier)
            }
            SubjectAlternativeNames([.uniformResourceIdentifier("spiffe://\(trustDomain)")])
        }
    }

    static func signatureAlgorithm(for key: Certificate.PrivateKey) -> Certificate.SignatureAlgorithm {
        switch key.publicKey.keyAlgorithmName {
        case "p384": .ecdsaWithSHA384
        case "rsa": .sha256WithRSAEncryption
        case "ed25519": .ed25519
        default: .ecdsaWithSHA256
        }
    }

    public static func der(_ certificate: Certificate) -> [UInt8] {
        var serializer = DER.Serializer()
        // Serializing a certificate we just built cannot fail short of a library bug.
        do { try serializer.serialize(certificate) } catch { return [] }
        return serializer.serializedBytes
    }

    public static func pkcs8(_ key: Certificate.PrivateKey) -> [UInt8] {
        if let doc = try? key.serializeAsPEM(), doc.discriminator == "PRIVATE KEY" {
            return doc.derBytes
        }
        // RSA keys serialize as PKCS#1 ("RSA PRIVATE KEY"); rebuild them as PKCS#8.
        if let doc = try? key.serializeAsPEM(), doc.discriminator == "RSA PRIVATE KEY",
            let rsa = try? _RSA.Signing.PrivateKey(derRepresentation: doc.derBytes)
        {
            return Array(rsa.pkcs8DERRepresentation)
        }
        return []
    }

    public static func pem(_ type: String, _ der: [UInt8]) -> String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(type)-----\n\(base64)\n-----END \(type)-----\n"
    }
}

extension Certificate.PublicKey {
    var keyAlgorithmName: String {
        if P384.Signing.PublicKey(self) != nil { return "p384" }
        if _RSA.Signing.PublicKey(self) != nil { return "rsa" }
        if Curve25519.Signing.PublicKey(self) != nil { return "ed25519" }
        return "p256"
    }
}
