import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing
import X509

@Suite struct X509SVIDAnalyzerTests {
    @Test(arguments: KeyKind.allCases)
    func validSVIDPassesEveryCheck(_ keyKind: KeyKind) async throws {
        let pki = try PKI(profile: LeafProfile(keyKind: keyKind))
        let report = await pki.analyze()
        #expect(report.problems(at: referenceTime) == [])
        #expect(report.isValid(at: referenceTime))
        #expect(report.spiffeID == "spiffe://example.org/ns/prod/sa/web")
        #expect(report.trustDomain == "example.org")
        #expect(report.chainTrusted == true)
        #expect(report.leaf?.notBefore == at(-10))
        #expect(report.leaf?.notAfter == at(3600))
        #expect(report.leaf?.lifetime == 3610)
        #expect(report.keyType == (keyKind == .rsa2048 ? "rsa-2048" : keyKind.rawValue))
    }

    @Test func intermediateChainVerifies() async throws {
        let pki = try PKI(intermediate: true)
        #expect(pki.svid.chain.count == 2)
        let report = await pki.analyze()
        #expect(report.problems(at: referenceTime) == [])
        #expect(report.intermediates.count == 1)
    }

    @Test func expiryIsEvaluatedAtEachInstant() async throws {
        let report = try await PKI().analyze()
        // RFC 5280: notAfter itself is still within the validity period.
        #expect(report.problems(at: at(3600)) == [])
        #expect(report.problems(at: at(3600.5)) == [.expired])
        #expect(report.problems(at: at(-11)) == [.notYetValid])
    }

    @Test func expiredSVIDIsOnlyExpiredNotUntrusted() async throws {
        let pki = try PKI()
        let report = await pki.analyze(now: at(7200))
        #expect(report.problems(at: at(7200)) == [.expired])
    }

    @Test func keyMismatch() async throws {
        let pki = try PKI()
        let other = try KeyKind.p256.generate()
        let material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: pki.svid.spiffeID, hint: "", chainDER: pki.svid.chainDER, keyDER: SVIDFactory.pkcs8(other))
        let report = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: pki.bundle), now: referenceTime)
        #expect(report.problems(at: referenceTime) == [.keyMismatch])
    }

    @Test func untrustedChainAgainstAnotherCA() async throws {
        let pki = try PKI()
        let stranger = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(3600 * 5))
        let report = await pki.analyze(bundles: BundleSet(own: TrustBundle(trustDomain: nil, certificates: [stranger.certificate])))
        #expect(report.problems(at: referenceTime) == [.chainUntrusted])
    }

    @Test func missingOrEmptyBundle() async throws {
        let pki = try PKI()
        #expect(await pki.analyze(bundles: BundleSet(own: nil)).problems(at: referenceTime) == [.bundleMissing])
        let empty = TrustBundle(trustDomain: nil, der: [])
        #expect(empty.decodeError == nil)
        #expect(await pki.analyze(bundles: BundleSet(own: empty)).problems(at: referenceTime) == [.bundleMissing])
    }

    @Test func bundleWithTwoRootsDuringCARotation() async throws {
        let pki = try PKI()
        let next = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(0), notAfter: at(48 * 3600))
        let expired = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-72 * 3600), notAfter: at(-48 * 3600))
        let bundle = TrustBundle(trustDomain: nil, certificates: [expired.certificate, next.certificate, pki.root.certificate])
        #expect(await pki.analyze(bundles: BundleSet(own: bundle)).problems(at: referenceTime) == [])
    }

    @Test func foreignTrustDomainUsesFederatedBundle() async throws {
        let foreign = try PKI(trustDomain: "partner.example", spiffeID: "spiffe://partner.example/api")
        let local = try PKI()
        // Validated against the partner bundle when one is present...
        let federated = BundleSet(own: local.bundle, byTrustDomain: ["partner.example": foreign.bundle])
        #expect(await foreign.analyze(bundles: federated).problems(at: referenceTime) == [])
        // ...and never against the own trust domain's roots.
        let ownOnly = BundleSet(own: local.bundle)
        let problems = await foreign.analyze(bundles: ownOnly).problems(at: referenceTime)
        #expect(problems.contains(.trustDomainMismatch))
        #expect(problems.contains(.chainUntrusted))
    }

    @Test func svidFromAnotherTrustDomainSignedByOwnCA() async throws {
        // The simulator's "wrong trust domain" fault: the own CA signs spiffe://other.org/...
        let pki = try PKI(spiffeID: "spiffe://other.org/workload")
        #expect(await pki.analyze().problems(at: referenceTime) == [.trustDomainMismatch])
    }

    @Test func leafProfileViolations() async throws {
        var twoURIs = LeafProfile()
        twoURIs.uriSANs = ["spiffe://example.org/a", "spiffe://example.org/b"]
        #expect(try await PKI(profile: twoURIs).analyze().problems(at: referenceTime).contains(.uriSANCount))

        var noURI = LeafProfile()
        noURI.uriSANs = []
        noURI.dnsNames = ["web.example.org"]
        #expect(try await PKI(profile: noURI).analyze().problems(at: referenceTime).contains(.uriSANCount))

        var caLeaf = LeafProfile()
        caLeaf.isCA = true
        #expect(try await PKI(profile: caLeaf).analyze().problems(at: referenceTime).contains(.caLeaf))

        var noKeyUsage = LeafProfile()
        noKeyUsage.includeKeyUsage = false
        #expect(try await PKI(profile: noKeyUsage).analyze().problems(at: referenceTime) == [.keyUsage])

        var noDigitalSignature = LeafProfile()
        noDigitalSignature.digitalSignature = false
        #expect(try await PKI(profile: noDigitalSignature).analyze().problems(at: referenceTime) == [.keyUsage])

        var certSign = LeafProfile()
        certSign.keyCertSign = true
        #expect(try await PKI(profile: certSign).analyze().problems(at: referenceTime).contains(.keyUsage))
    }

    @Test(arguments: ["spiffe://example.org", "spiffe://Example.org/x", "https://example.org/x"])
    func invalidSPIFFEIDInURISAN(_ uri: String) async throws {
        var profile = LeafProfile()
        profile.uriSANs = [uri]
        let report = try await PKI(spiffeID: uri, profile: profile).analyze()
        #expect(report.problems(at: referenceTime).contains(.invalidSPIFFEID))
        #expect(report.spiffeID == uri)
    }

    @Test func reportedIDDifferentFromCertificate() async throws {
        let pki = try PKI()
        let material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: "spiffe://example.org/somebody-else", hint: "", chainDER: pki.svid.chainDER,
            keyDER: pki.svid.keyPKCS8DER)
        let report = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: pki.bundle), now: referenceTime)
        #expect(report.problems(at: referenceTime) == [.spiffeIDMismatch])
        #expect(report.spiffeID == "spiffe://example.org/ns/prod/sa/web")
    }

    @Test func garbageIsReportedNotThrown() async throws {
        let material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: "spiffe://example.org/x", hint: "h", chainDER: Array("not der".utf8), keyDER: [0x30, 0x03, 0x01])
        let report = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: nil), now: referenceTime)
        #expect(report.problems(at: referenceTime) == [.keyParseError, .parseError])
        #expect(report.spiffeID == "spiffe://example.org/x")
        #expect(report.leaf == nil)
        #expect(report.decodeErrors.count == 2)
        #expect(report.hint == "h")
    }

    @Test func truncatedDERChain() async throws {
        let pki = try PKI()
        let chain = Array(pki.svid.chainDER.dropLast(5))
        let material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: pki.svid.spiffeID, hint: "", chainDER: chain, keyDER: pki.svid.keyPKCS8DER)
        let report = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: pki.bundle), now: referenceTime)
        #expect(report.problems(at: referenceTime) == [.parseError])
    }

    @Test func chainVerdictIsRecomputedWhenTheRootExpires() async throws {
        // A root that expires while the leaf is still valid makes the chain untrusted from then on.
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(1800))
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/w", issuer: root, notBefore: at(-10), notAfter: at(3600))
        let material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: svid.keyPKCS8DER)
        let bundles = BundleSet(own: TrustBundle(trustDomain: nil, certificates: [root.certificate]))
        let report = await X509SVIDAnalyzer.analyze(material, bundles: bundles, now: referenceTime)
        #expect(report.problems(at: referenceTime) == [])
        #expect(report.needsReverification(at: at(1800)) == false)
        #expect(report.needsReverification(at: at(1801)) == true)
        let later = await X509SVIDAnalyzer.analyze(material, bundles: bundles, now: at(1801))
        #expect(later.problems(at: at(1801)) == [.chainUntrusted])
    }

    @Test func pemFilesAsSpiffeHelperWritesThem() async throws {
        let pki = try PKI(intermediate: true)
        let certPEM = "# written by spiffe-helper\r\n" + pki.svid.chainPEM.replacingOccurrences(of: "\n", with: "\r\n")
        let material = X509SVIDMaterial.fromPEM(certificatePEM: Array(certPEM.utf8), keyPEM: Array(pki.svid.keyPEM.utf8))
        let bundle = TrustBundle(trustDomain: nil, pem: Array(SVIDFactory.pem("CERTIFICATE", pki.root.der).utf8))
        let report = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: bundle), now: referenceTime)
        #expect(report.problems(at: referenceTime) == [])
        #expect(report.intermediates.count == 1)
    }

    @Test func pemKeyInOtherFormatIsAKeyProblem() async throws {
        let pki = try PKI()
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n"
        let material = X509SVIDMaterial.fromPEM(certificatePEM: Array(pki.svid.chainPEM.utf8), keyPEM: Array(sec1.utf8))
        let report = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: pki.bundle), now: referenceTime)
        #expect(report.problems(at: referenceTime) == [.keyParseError])
    }
}

@Suite struct TrustBundleTests {
    @Test func expiredRootsAreCountedButDoNotDefineEarliestExpiry() throws {
        let expired = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-72 * 3600), notAfter: at(-48 * 3600))
        let active = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-12 * 3600), notAfter: at(12 * 3600))
        let next = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(0), notAfter: at(24 * 3600))
        let der = [expired, active, next].flatMap(\.der)
        let bundle = TrustBundle(trustDomain: "example.org", der: der)
        #expect(bundle.decodeError == nil)
        let summary = bundle.summary(at: referenceTime)
        #expect(summary.certificates == 3)
        #expect(summary.validCertificates == 2)
        #expect(summary.earliestValidExpiry == at(12 * 3600))
        #expect(summary.latestExpiry == at(24 * 3600))
        #expect(bundle.claimedTrustDomains == ["example.org"])
        let later = bundle.summary(at: at(25 * 3600))
        #expect(later.validCertificates == 0)
        #expect(later.earliestValidExpiry == nil)
    }

    @Test func garbageAfterGoodRootsKeepsTheRoots() throws {
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(3600))
        let bundle = TrustBundle(trustDomain: "example.org", der: root.der + [0x30, 0x82, 0xFF])
        #expect(bundle.certificates.count == 1)
        #expect(bundle.decodeError != nil)
    }
}
