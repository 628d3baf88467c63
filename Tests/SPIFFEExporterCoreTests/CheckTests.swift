import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

@Suite struct CheckTests {
    let thresholds = CheckThresholds(warning: 24 * 3600, critical: 3600, deadlineFraction: 0.75)

    @Test func healthyShortLivedSVIDIsOKUntilItsRenewalDeadline() async throws {
        let report = try await PKI().analyze()  // 3610 s lifetime
        #expect(CheckEvaluator.x509(report, source: "s", bundle: nil, thresholds: thresholds, now: at(0)).status == .ok)
        // Renewal grace = 3610 × 0.25 = 902.5 s: below that, < 1 h left is critical.
        #expect(CheckEvaluator.x509(report, source: "s", bundle: nil, thresholds: thresholds, now: at(3600 - 903)).status == .ok)
        let late = CheckEvaluator.x509(report, source: "s", bundle: nil, thresholds: thresholds, now: at(3600 - 900))
        #expect(late.status == .critical)
        #expect(late.summary == "expires in 15m0s")
        #expect(late.lifetimeUsedPercent.map { Int($0) } == 75)
    }

    @Test func longLivedCertificateWarnsThenCrits() async throws {
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(40 * 86400))
        let svid = try SVIDFactory.svid(spiffeID: "spiffe://example.org/x", issuer: root, notBefore: at(0), notAfter: at(30 * 86400))
        let material = X509SVIDMaterial.fromWorkloadAPI(spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: svid.keyPKCS8DER)
        let bundle = TrustBundle(trustDomain: "example.org", certificates: [root.certificate])
        let report = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: bundle), now: at(0))
        func status(_ t: TimeInterval) -> CheckStatus {
            CheckEvaluator.x509(report, source: "s", bundle: bundle, thresholds: thresholds, now: at(t)).status
        }
        #expect(status(29 * 86400 - 1) == .ok)
        #expect(status(29 * 86400 + 1) == .warning)
        #expect(status(30 * 86400 - 3599) == .critical)
        let identity = CheckEvaluator.x509(report, source: "s", bundle: bundle, thresholds: thresholds, now: at(0))
        #expect(identity.bundleCAExpiresAt == at(40 * 86400))
    }

    @Test func intermediateExpiringBeforeTheLeafWarnsThenCrits() async throws {
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(86400))
        let intermediate = try SVIDFactory.intermediateCA(issuer: root, notBefore: at(-3600), notAfter: at(1800))
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/x", issuer: intermediate, notBefore: at(-10), notAfter: at(3600))
        let material = X509SVIDMaterial.fromWorkloadAPI(spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: svid.keyPKCS8DER)
        let bundle = TrustBundle(trustDomain: "example.org", certificates: [root.certificate])
        let report = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: bundle), now: at(0))
        // The leaf alone would be OK at t = 0 (see the test above); its chain breaks at t = 1800.
        let early = CheckEvaluator.x509(report, source: "s", bundle: bundle, thresholds: thresholds, now: at(0))
        #expect(early.status == .warning)
        #expect(early.summary == "intermediate CA expires in 30m0s, before the leaf")
        // Within the renewal grace (3610 × 0.25 s) of the intermediate's NotAfter: critical.
        #expect(CheckEvaluator.x509(report, source: "s", bundle: bundle, thresholds: thresholds, now: at(1000)).status == .critical)
        // An intermediate that outlives the leaf changes nothing.
        let chained = try await PKI(intermediate: true).analyze()
        #expect(CheckEvaluator.x509(chained, source: "s", bundle: nil, thresholds: thresholds, now: at(0)).status == .ok)
    }

    @Test func invalidIsCriticalAndFailuresAreUnknown() async throws {
        let report = try await PKI().analyze(now: at(7200))
        let expired = CheckEvaluator.x509(report, source: "s", bundle: nil, thresholds: thresholds, now: at(7200))
        #expect(expired.status == .critical)
        #expect(expired.problems == ["expired"])
        let failure = CheckSourceFailure(source: "w", target: "unix:///x", reason: "socket_not_found", detail: "", hint: "h")
        #expect(CheckReport(checkedAt: at(0), identities: [], failures: [failure]).status == .unknown)
        #expect(CheckReport(checkedAt: at(0), identities: [expired], failures: [failure]).status == .critical)
        #expect(CheckReport(checkedAt: at(0), identities: [], failures: []).status == .unknown)
    }

    @Test func tableAndJSONNeverContainSecrets() async throws {
        let pki = try PKI()
        let report = await pki.analyze()
        let identity = CheckEvaluator.x509(report, source: "s", bundle: pki.bundle, thresholds: thresholds, now: at(0))
        let checkReport = CheckReport(checkedAt: at(0), identities: [identity], failures: [])
        let table = CheckFormatter.table(checkReport)
        #expect(table.contains("spiffe://example.org/ns/prod/sa/web"))
        #expect(table.hasSuffix("OK: 1 identity checked, 0 sources failed\n"))
        let json = CheckFormatter.json(checkReport)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(decoded?["status"] as? String == "OK")
        #expect(decoded?["exitCode"] as? Int == 0)
        let keyBase64 = Data(pki.svid.keyPKCS8DER).base64EncodedString()
        #expect(!json.contains(keyBase64.prefix(40)) && !table.contains(keyBase64.prefix(40)))
    }

    @Test(arguments: [(0.0, "0s"), (59.9, "59s"), (61, "1m1s"), (3725, "1h2m"), (90000, "1d1h"), (-65, "-1m5s")])
    func durations(_ seconds: Double, _ text: String) {
        #expect(CheckFormatter.duration(seconds) == text)
    }

    @Test func everyReasonHasAHint() {
        let hints = ConnectionFailureReason.allCases.map { CheckEvaluator.hint(for: $0, target: "unix:///s") }
        #expect(Set(hints).count == hints.count)
    }
}
