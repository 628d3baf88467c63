import Foundation
import SPIFFEExporterCore
import SVIDFactory

/// The tests' SPIRE-like CA, generated in code (nothing checked in, nothing expires).
///
/// Two validity windows: around ``referenceTime`` (the default: tests that pass `now` get exact
/// verdicts, and each SVID's notAfter says which generation it is), or around the wall clock, for
/// certificates that real peers (curl, OpenSSL, the TLS stack) check against the current time.
public struct TestCA: Sendable {
    public enum Validity: Sendable {
        case aroundReferenceTime
        case aroundNow
    }

    public let trustDomain: String
    public let root: IssuedCA
    /// The instant SVID lifetimes count from: ``referenceTime`` or the time the CA was made.
    public let base: Date
    public let notBefore: Date
    public let notAfter: Date

    public init(trustDomain: String = "example.org", validity: Validity = .aroundReferenceTime) throws {
        self.trustDomain = trustDomain
        switch validity {
        case .aroundReferenceTime:
            base = referenceTime
            (notBefore, notAfter) = (referenceTime.addingTimeInterval(-3600), referenceTime.addingTimeInterval(48 * 3600))
        case .aroundNow:
            base = Date()
            (notBefore, notAfter) = (base.addingTimeInterval(-3600), base.addingTimeInterval(24 * 3600))
        }
        root = try SVIDFactory.rootCA(trustDomain: trustDomain, notBefore: notBefore, notAfter: notAfter)
    }

    /// An SVID valid from 10 s before the base (SPIRE backdates) for `lifetime` seconds after it.
    public func svid(
        _ path: String = "/workload", lifetime: TimeInterval = 3600, keyKind: KeyKind = .p256, dnsNames: [String] = []
    ) throws -> IssuedSVID {
        var profile = LeafProfile(keyKind: keyKind)
        profile.dnsNames = dnsNames
        return try SVIDFactory.svid(
            spiffeID: "spiffe://\(trustDomain)\(path)", issuer: root, notBefore: base.addingTimeInterval(-10),
            notAfter: base.addingTimeInterval(lifetime), profile: profile)
    }

    /// A leaf valid as long as the CA, usable as a server certificate for `https://localhost`.
    public func server(path: String = "/exporter") throws -> IssuedSVID {
        try client(path: path, dnsNames: ["localhost"])
    }

    /// A leaf valid as long as the CA.
    public func client(path: String, dnsNames: [String] = []) throws -> IssuedSVID {
        var profile = LeafProfile()
        profile.dnsNames = dnsNames
        return try SVIDFactory.svid(
            spiffeID: "spiffe://\(trustDomain)\(path)", issuer: root, notBefore: notBefore, notAfter: notAfter,
            profile: profile)
    }

    /// The root as a PEM bundle file's content.
    public var bundlePEM: String { SVIDFactory.pem("CERTIFICATE", root.der) }

    public var bundle: TrustBundle { TrustBundle(trustDomain: trustDomain, certificates: [root.certificate]) }
}
