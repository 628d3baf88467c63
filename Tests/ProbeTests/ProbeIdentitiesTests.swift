import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import Testing

/// What the probe reads from the identity store: its client SVID, bundles by trust domain, and
/// readiness.
@Suite struct ProbeIdentitiesTests {
    static let now = Date(timeIntervalSince1970: 1_893_456_000)

    func entry(
        _ svid: IssuedSVID, own: IssuedCA, federated: [String: IssuedCA] = [:], key: Bool = true
    ) async
        -> IdentityStore.Entry
    {
        let material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: key ? svid.keyPKCS8DER : [])
        let bundles = BundleSet(
            own: TrustBundle(trustDomain: nil, der: own.der),
            byTrustDomain: federated.mapValues { TrustBundle(trustDomain: $0.trustDomain, der: $0.der) })
        let report = await X509SVIDAnalyzer.analyze(material, bundles: bundles, now: Self.now)
        return IdentityStore.Entry(material: material, bundles: bundles, report: report)
    }

    @Test func readsClientSVIDAndBundlesFromTheStore() async throws {
        let now = Self.now
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now - 60, notAfter: now + 86400)
        let partner = try SVIDFactory.rootCA(trustDomain: "partner.example", notBefore: now - 60, notAfter: now + 86400)
        let exporter = try SVIDFactory.svid(
            spiffeID: exporterID, issuer: root, notBefore: now - 10, notAfter: now + 3600)
        let store = IdentityStore()
        let board = SourceBoard()
        store.register(source: "workload_api")
        board.register("workload_api", kind: .workloadAPI, now: now)
        let identities = StoreProbeIdentities(store: store, board: board)
        #expect(!identities.isReady())
        #expect(identities.clientSVID() == nil)

        store.replaceSVIDs(
            source: "workload_api",
            entries: [await entry(exporter, own: root, federated: ["partner.example": partner])],
            bundles: [:], now: now)
        board.delivered("workload_api", what: "FetchX509SVID", now: now)
        #expect(identities.isReady())
        let client = try #require(identities.clientSVID())
        #expect(client.spiffeID == exporterID)
        #expect(client.chain.first == exporter.leaf)
        #expect(identities.trustBundle(trustDomain: "example.org")?.certificates == [root.certificate])
        #expect(identities.trustBundle(trustDomain: "partner.example")?.certificates == [partner.certificate])
        #expect(identities.trustBundle(trustDomain: "evil.example") == nil)
        #expect(
            identities.newestSVID(spiffeID: exporterID)?.serialNumber == CertificateFacts(exporter.leaf).serialNumber)
    }

    @Test func anSVIDWithoutUsableKeyIsNoClientSVID() async throws {
        let now = Self.now
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now - 60, notAfter: now + 86400)
        let exporter = try SVIDFactory.svid(
            spiffeID: exporterID, issuer: root, notBefore: now - 10, notAfter: now + 3600)
        let store = IdentityStore()
        store.replaceSVIDs(
            source: "workload_api", entries: [await entry(exporter, own: root, key: false)], bundles: [:], now: now)
        let identities = StoreProbeIdentities(store: store, board: SourceBoard())
        #expect(identities.clientSVID() == nil)
        // Its bundle still authenticates servers.
        #expect(identities.trustBundle(trustDomain: "example.org") != nil)
    }
}
