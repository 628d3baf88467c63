import Foundation
import SPIFFEAgentAPIs
import SPIFFEExporterCore

/// One X.509-SVID from a Delegated Identity stream, decoded and already without its private key.
struct DelegatedSVID: Sendable {
    /// Keyless: the key was checked against the leaf and dropped (``X509SVIDMaterial/releasePrivateKey()``).
    var material: X509SVIDMaterial
    /// Trust domain of the `id` field, to pick the SVID's own bundle.
    var trustDomain: String?
}

/// Turns Delegated Identity API messages into core values; the generated types stop here.
enum DelegatedIdentityMessages {
    /// Decodes every SVID, checks each private key against its leaf and drops it before returning:
    /// no key leaves this function. Malformed descriptions never contain key material.
    static func decode(
        _ message: Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsResponse
    )
        -> (svids: [DelegatedSVID], federatesWith: [String], malformed: [String])
    {
        var malformed: [String] = []
        var svids: [DelegatedSVID] = []
        for (index, item) in message.x509Svids.enumerated() {
            let svid = item.x509Svid
            var reported = ""
            var trustDomain: String?
            if !item.hasX509Svid { malformed.append("x509_svids[\(index)].x509_svid is missing") }
            if !svid.hasID || svid.id.trustDomain.isEmpty {
                malformed.append("x509_svids[\(index)].x509_svid.id is missing")
            } else {
                reported = "spiffe://\(svid.id.trustDomain)\(svid.id.path)"
                trustDomain = (try? SPIFFEID(parsing: reported))?.trustDomain
            }
            if svid.certChain.isEmpty { malformed.append("x509_svids[\(index)].x509_svid.cert_chain is empty") }
            if item.x509SvidKey.isEmpty { malformed.append("x509_svids[\(index)].x509_svid_key is empty") }
            var material = X509SVIDMaterial.fromWorkloadAPI(
                spiffeID: reported, hint: svid.hint, chainDER: svid.certChain.flatMap { Array($0) },
                keyDER: Array(item.x509SvidKey))
            material.releasePrivateKey()
            // Describe key problems without the decoder's own text: it is about another workload's
            // secret and has no place in a log.
            material.decodeErrors = material.decodeErrors.map { error in
                error.hasPrefix("x509_svid_key") ? "x509_svid_key does not decode as PKCS#8" : error
            }
            malformed.append(contentsOf: material.decodeErrors.map { "x509_svids[\(index)]: \($0)" })
            svids.append(DelegatedSVID(material: material, trustDomain: trustDomain))
        }
        var federatesWith: [String] = []
        for entry in message.federatesWith {
            if let domain = try? SPIFFEID.trustDomain(parsing: entry) {
                federatesWith.append(domain)
            } else {
                malformed.append("federates_with entry \(String(reflecting: entry.prefix(64))) is not a trust domain")
            }
        }
        return (svids, federatesWith, malformed)
    }

    /// Bundles by trust domain name; keys may be `example.org` or `spiffe://example.org`.
    static func decode(
        _ message: Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509BundlesResponse
    )
        -> (bundles: [String: TrustBundle], malformed: [String])
    {
        var (bundles, malformed) = TrustDomainBundles.x509(message.caCertificates, field: "ca_certificates")
        if bundles.isEmpty { malformed.append("response holds no bundle") }
        return (bundles, malformed)
    }
}
