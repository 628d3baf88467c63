import Foundation
import X509

/// The X.509 authorities of one trust domain, decoded once on arrival.
public struct TrustBundle: Sendable {
    /// Trust domain name (`example.org`), or `nil` when the bundle came without a key, as the
    /// `bundle` field of an `X509SVID` does.
    public var trustDomain: String?
    public var certificates: [Certificate]
    public var facts: [CertificateFacts]
    /// Set when some of the bytes could not be decoded; the certificates decoded before the
    /// error are kept so one bad entry does not hide the good roots.
    public var decodeError: String?

    public init(trustDomain: String?, certificates: [Certificate]) {
        self.trustDomain = trustDomain
        self.certificates = certificates
        self.facts = certificates.map(CertificateFacts.init)
        self.decodeError = nil
    }

    /// Decodes concatenated DER certificates (the Workload API encoding).
    public init(trustDomain: String?, der: [UInt8]) {
        var certificates: [Certificate] = []
        var failureText: String?
        let (elements, splitError) = DERChain.splitPrefix(der)
        for element in elements {
            do {
                certificates.append(try Certificate(derEncoded: Array(element)))
            } catch {
                failureText = "certificate \(certificates.count + 1) does not decode: \(error)"
                break
            }
        }
        if failureText == nil, let splitError { failureText = "\(splitError)" }
        self.init(trustDomain: trustDomain, certificates: certificates)
        self.decodeError = failureText
    }

    /// Decodes PEM text holding CERTIFICATE blocks (spiffe-helper's `svid_bundle.pem`); other block
    /// types are skipped as go-spiffe does.
    public init(trustDomain: String?, pem: [UInt8]) {
        var certificates: [Certificate] = []
        var failureText: String?
        do {
            for block in try PEM.parse(pem) where block.type == "CERTIFICATE" {
                certificates.append(try Certificate(derEncoded: block.der))
            }
        } catch {
            failureText = "\(error)"
        }
        self.init(trustDomain: trustDomain, certificates: certificates)
        self.decodeError = failureText
    }

    /// Trust domains that the CA certificates name in a SPIFFE URI SAN (SPIRE's CAs carry
    /// `spiffe://<trust-domain>`); empty when no CA says.
    public var claimedTrustDomains: Set<String> {
        var domains: Set<String> = []
        for fact in facts {
            for uri in fact.uriSANs {
                if let id = try? SPIFFEID(parsing: uri) { domains.insert(id.trustDomain) }
            }
        }
        return domains
    }

    /// Changes whenever the set of CA certificates changes.
    public var fingerprint: String {
        facts.map { "\($0.identifier)/\($0.serialNumber)/\($0.notAfter.timeIntervalSince1970)" }.sorted()
            .joined(separator: ",") + (decodeError == nil ? "" : "!")
    }

    public func summary(at now: Date) -> TrustBundleSummary {
        let valid = facts.filter { $0.isValid(at: now) }
        return TrustBundleSummary(
            certificates: facts.count,
            validCertificates: valid.count,
            earliestValidExpiry: valid.map(\.notAfter).min(),
            latestExpiry: facts.map(\.notAfter).max()
        )
    }
}

/// Bundle figures at one instant. Expired roots are normal in SPIRE bundles (kept for about a day
/// after expiry), so the earliest expiry only looks at roots still valid.
public struct TrustBundleSummary: Sendable, Hashable {
    public var certificates: Int
    public var validCertificates: Int
    public var earliestValidExpiry: Date?
    public var latestExpiry: Date?
}
