import Foundation
import SPIFFEExporterCore
import SPIFFEWorkloadAPI

/// Turns Workload API messages into core values; the generated types stop here.
enum WorkloadAPIMessages {
    /// Returns one material per SVID with the bundles to validate it, the bundles to export (own
    /// trust domain + federated, by name) and a description of every protocol violation found.
    static func decode(_ message: X509SVIDResponse)
        -> (entries: [(X509SVIDMaterial, BundleSet)], bundles: [String: TrustBundle], malformed: [String])
    {
        var malformed: [String] = []
        if message.svids.isEmpty { malformed.append("response holds no SVID") }
        let (federated, federatedProblems) = TrustDomainBundles.x509(message.federatedBundles, field: "federated_bundles")
        malformed += federatedProblems
        var exported = federated
        var entries: [(X509SVIDMaterial, BundleSet)] = []
        for (index, svid) in message.svids.enumerated() {
            if svid.spiffeID.isEmpty { malformed.append("svids[\(index)].spiffe_id is empty") }
            if svid.x509Svid.isEmpty { malformed.append("svids[\(index)].x509_svid is empty") }
            if svid.x509SvidKey.isEmpty { malformed.append("svids[\(index)].x509_svid_key is empty") }
            if svid.bundle.isEmpty { malformed.append("svids[\(index)].bundle is empty") }
            let material = X509SVIDMaterial.fromWorkloadAPI(
                spiffeID: svid.spiffeID, hint: svid.hint, chainDER: Array(svid.x509Svid), keyDER: Array(svid.x509SvidKey))
            malformed.append(contentsOf: material.decodeErrors.map { "svids[\(index)]: \($0)" })
            let own = TrustBundle(trustDomain: nil, der: Array(svid.bundle))
            if let error = own.decodeError { malformed.append("svids[\(index)].bundle: \(error)") }
            // Export the own bundle under the trust domain its CAs claim; only if they claim none,
            // under the SVID's (the protocol says the two are the same).
            let claimed = own.claimedTrustDomains
            let domain = claimed.count == 1 ? claimed.first : (try? SPIFFEID(parsing: svid.spiffeID))?.trustDomain
            if let domain, exported[domain] == nil {
                var named = own
                named.trustDomain = domain
                exported[domain] = named
            }
            entries.append((material, BundleSet(own: own, byTrustDomain: federated)))
        }
        return (entries, exported, malformed)
    }

    static func decode(_ message: X509BundlesResponse) -> (bundles: [String: TrustBundle], malformed: [String]) {
        var (bundles, malformed) = TrustDomainBundles.x509(message.bundles, field: "bundles")
        if bundles.isEmpty { malformed.append("response holds no bundle") }
        return (bundles, malformed)
    }

    static func decode(_ message: JWTBundlesResponse) -> (bundles: [String: JWTBundle], malformed: [String]) {
        TrustDomainBundles.jwt(message.bundles, field: "bundles")
    }
}
