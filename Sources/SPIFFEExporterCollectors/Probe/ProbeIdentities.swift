import Foundation
import SPIFFEExporterCore
import X509

/// The exporter's own X.509-SVID, presented as client certificate when a target asks for one.
public struct ClientSVID: Sendable {
    public var spiffeID: String
    /// Leaf first, then intermediates.
    public var chain: [Certificate]
    public var privateKey: Certificate.PrivateKey

    public init(spiffeID: String, chain: [Certificate], privateKey: Certificate.PrivateKey) {
        self.spiffeID = spiffeID
        self.chain = chain
        self.privateKey = privateKey
    }
}

/// What a probe needs from the exporter's identity state: its own SVID (mTLS), trust bundles to
/// authenticate servers, and the newest SVID known for a SPIFFE ID. Injected, so tests can
/// substitute a fixed view.
public protocol ProbeIdentitySource: Sendable {
    func clientSVID() -> ClientSVID?
    func trustBundle(trustDomain: String) -> TrustBundle?
    func newestSVID(spiffeID: String) -> CertificateFacts?
    /// Whether the sources have delivered once, so a first probe does not fail for want of a
    /// bundle or client SVID that is about to arrive.
    func isReady() -> Bool
}

extension ProbeIdentitySource {
    public func isReady() -> Bool { true }
}

/// The identity store seen by the probe.
///
/// - The client SVID is the first usable SVID of `clientSource` (the Workload API source): the
///   default identity, as go-spiffe picks it.
/// - A trust domain's bundle is looked up in the SVIDs of `bundleSources`, in order (federated
///   bundles by name, each SVID's own bundle for its own trust domain).
/// - The newest SVID of a SPIFFE ID comes from every source (Workload API and files).
public struct StoreProbeIdentities: ProbeIdentitySource {
    public let store: IdentityStore
    public let board: SourceBoard
    public let clientSource: String
    public let bundleSources: [String]

    public init(
        store: IdentityStore, board: SourceBoard, clientSource: String = ProbeConfiguration.defaultClientSource,
        bundleSources: [String]? = nil
    ) {
        self.store = store
        self.board = board
        self.clientSource = clientSource
        var sources = [clientSource]
        for source in bundleSources ?? [] where !sources.contains(source) { sources.append(source) }
        self.bundleSources = sources
    }

    public func clientSVID() -> ClientSVID? {
        for entry in store.entries(source: clientSource) {
            let material = entry.material
            guard let leaf = material.leaf, let key = material.privateKey, key.publicKey == leaf.publicKey else {
                continue
            }
            return ClientSVID(spiffeID: entry.report.spiffeID, chain: [leaf] + material.intermediates, privateKey: key)
        }
        return nil
    }

    public func trustBundle(trustDomain: String) -> TrustBundle? {
        for source in bundleSources {
            for entry in store.entries(source: source) {
                if let bundle = entry.bundles.byTrustDomain[trustDomain], !bundle.certificates.isEmpty { return bundle }
                if let own = entry.bundles.own, !own.certificates.isEmpty,
                    Self.speaksFor(own, trustDomain, entry.report)
                {
                    return own
                }
            }
        }
        return nil
    }

    /// Whether an SVID's own bundle is the bundle of `trustDomain`: it is named so, or its CAs
    /// claim it, or it came unnamed with an SVID of that trust domain.
    static func speaksFor(_ bundle: TrustBundle, _ trustDomain: String, _ report: X509SVIDReport) -> Bool {
        if let name = bundle.trustDomain { return name == trustDomain }
        let claimed = bundle.claimedTrustDomains
        if !claimed.isEmpty { return claimed.contains(trustDomain) }
        return report.trustDomain == trustDomain
    }

    public func newestSVID(spiffeID: String) -> CertificateFacts? {
        store.newestSVID(spiffeID: spiffeID)?.leaf
    }

    public func isReady() -> Bool {
        let unsynced = Set(board.unsynced())
        return bundleSources.allSatisfy { !unsynced.contains($0) }
    }
}
