import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import X509

/// A SPIRE-like PKI: one root (24 h, issued 1 h before the reference time) and a 1 h leaf issued
/// 10 s before it.
struct PKI {
    var root: IssuedCA
    var svid: IssuedSVID

    init(
        trustDomain: String = "example.org", spiffeID: String = "spiffe://example.org/ns/prod/sa/web",
        profile: LeafProfile = LeafProfile(), intermediate: Bool = false
    ) throws {
        root = try SVIDFactory.rootCA(trustDomain: trustDomain, notBefore: at(-3600), notAfter: at(23 * 3600))
        let issuer = intermediate
            ? try SVIDFactory.intermediateCA(issuer: root, notBefore: at(-3600), notAfter: at(12 * 3600))
            : root
        svid = try SVIDFactory.svid(
            spiffeID: spiffeID, issuer: issuer, notBefore: at(-10), notAfter: at(3600), profile: profile)
    }

    var bundle: TrustBundle { TrustBundle(trustDomain: nil, certificates: [root.certificate]) }

    var material: X509SVIDMaterial {
        X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: svid.keyPKCS8DER)
    }

    func analyze(now: Date = referenceTime, bundles: BundleSet? = nil) async -> X509SVIDReport {
        await X509SVIDAnalyzer.analyze(material, bundles: bundles ?? BundleSet(own: bundle), now: now)
    }
}
