import Foundation
import X509

/// The SVID a server presented, once it is known to chain to its trust domain's bundle and to
/// carry the expected SPIFFE ID.
public struct ServedSVID: Sendable, Hashable {
    public var spiffeID: String
    public var leaf: CertificateFacts

    public init(spiffeID: String, leaf: CertificateFacts) {
        self.spiffeID = spiffeID
        self.leaf = leaf
    }
}

/// SPIFFE authentication of a server's certificate chain, the way go-spiffe's
/// `tlsconfig.AuthorizeID` does it: no host name check; the leaf must be an X.509-SVID, chain
/// through the presented intermediates to a root of the bundle of the leaf's own trust domain, and
/// carry the expected SPIFFE ID.
public enum ServedChainVerifier {
    public struct Verdict: Sendable {
        /// `nil` when the server may be talked to.
        public var failure: ProbeFailureReason?
        /// Set when the chain verifies (the leaf's own validity window aside) with the expected
        /// ID, so an expired-but-still-served SVID is still compared with the newest one.
        public var served: ServedSVID?
        /// For logs only, never a label.
        public var detail: String

        public var accepted: Bool { failure == nil }
    }

    /// Verifies `chainDER` (leaf first, as presented) at `now`. `bundle` returns the trust bundle
    /// known for a trust domain name.
    public static func verify(
        chainDER: [[UInt8]], expectedSPIFFEID: String?, now: Date, bundle: (String) -> TrustBundle?
    ) async -> Verdict {
        var certificates: [Certificate] = []
        for der in chainDER {
            guard let certificate = try? Certificate(derEncoded: der) else {
                return Verdict(failure: .untrusted, detail: "certificate \(certificates.count + 1) does not decode")
            }
            certificates.append(certificate)
        }
        guard let leaf = certificates.first else {
            return Verdict(failure: .untrusted, detail: "the server presented no certificate")
        }
        let facts = CertificateFacts(leaf)
        guard facts.uriSANs.count == 1, let id = try? SPIFFEID(parsing: facts.uriSANs[0]), !id.isTrustDomainID else {
            return Verdict(
                failure: .untrusted, detail: "the leaf is not an X.509-SVID (needs exactly one SPIFFE ID URI SAN)")
        }
        let spiffeID = facts.uriSANs[0]
        guard !facts.isCA else {
            return Verdict(failure: .untrusted, detail: "the leaf is a CA certificate")
        }
        guard let trustBundle = bundle(id.trustDomain), !trustBundle.certificates.isEmpty else {
            return Verdict(failure: .untrusted, detail: "no trust bundle known for trust domain \(id.trustDomain)")
        }
        // As X509SVIDAnalyzer: the chain (signatures, issuers and their validity) is judged inside
        // the leaf's own window, the leaf's expiry separately, so a server that keeps serving an
        // expired SVID is still recognised as serving that SVID.
        let validationTime = X509SVIDAnalyzer.clamp(now, facts.notBefore, facts.notAfter)
        let trusted = await X509SVIDAnalyzer.verifyChain(
            leaf: leaf, intermediates: Array(certificates.dropFirst()), roots: trustBundle.certificates,
            spiffeID: spiffeID, at: validationTime)
        guard trusted else {
            return Verdict(failure: .untrusted, detail: "\(spiffeID) does not chain to the bundle of \(id.trustDomain)")
        }
        if let expectedSPIFFEID, expectedSPIFFEID != spiffeID {
            return Verdict(failure: .wrongSPIFFEID, detail: "served \(spiffeID), expected \(expectedSPIFFEID)")
        }
        let served = ServedSVID(spiffeID: spiffeID, leaf: facts)
        if !facts.isValid(at: now) {
            let state = now > facts.notAfter ? "expired" : "not yet valid"
            return Verdict(failure: .untrusted, served: served, detail: "the served SVID \(spiffeID) is \(state)")
        }
        return Verdict(failure: nil, served: served, detail: "")
    }
}
