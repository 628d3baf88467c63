import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

/// The trust bundle consistency tracker: every channel the exporter reads, compared pairwise, and
/// how long a channel stays behind, from a fixed reference time.
@Suite struct TrustBundleConsistencyTests {
    static let trustDomain = "example.org"

    /// The kinds of channel a snapshot can carry a bundle through.
    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case workloadAPI = "workload_api"
        case helperDirectory = "helper"
        case delegatedSubscription = "payments"
        case agentDataFile = "agent"
        case bootstrapFile = "bootstrap"
        case federationEndpoint = "partner_endpoint"

        var testDescription: String { rawValue }
    }

    /// Roots of one rotation: the old CA (valid now, expires at +1 h) and the new one.
    struct Roots {
        let old: IssuedCA
        let new: IssuedCA

        init() throws {
            old = try SVIDFactory.rootCA(trustDomain: TrustBundleConsistencyTests.trustDomain, notBefore: at(-86400), notAfter: at(3600))
            new = try SVIDFactory.rootCA(trustDomain: TrustBundleConsistencyTests.trustDomain, notBefore: at(-60), notAfter: at(86400))
        }
    }

    /// A snapshot of a source of `kind` holding `roots` for example.org, shaped as its collector
    /// stores it: a bundle for every source, and for the agent the data file's bundle.
    static func snapshot(_ kind: Kind, _ roots: [IssuedCA]) -> SourceSnapshot {
        if kind == .federationEndpoint {
            // As the federation collector stores it: the endpoint's state with its last good bundle.
            let keys = roots.map { #"{"kty":"EC","use":"x509-svid","x5c":["\#(Data(SVIDFactory.der($0.certificate)).base64EncodedString())"]}"# }
            let body = Array(#"{"keys":[\#(keys.joined(separator: ","))]}"#.utf8)
            var state = FederationEndpointState(source: kind.rawValue, trustDomain: trustDomain)
            _ = state.record(FederationBundleDocument.parse(body, trustDomain: trustDomain), at: at(0))
            var snapshot = SourceSnapshot(source: kind.rawValue, svids: [], bundles: [:])
            snapshot.federation = state
            return snapshot
        }
        guard kind == .agentDataFile else {
            return SourceSnapshot(
                source: kind.rawValue, svids: [],
                bundles: [trustDomain: TrustBundle(trustDomain: trustDomain, certificates: roots.map(\.certificate))])
        }
        var snapshot = SourceSnapshot(source: kind.rawValue, svids: [], bundles: [:])
        snapshot.agent = AgentReport(
            channel: .dataFile,
            chain: [AgentChainCertificate(spiffeID: "spiffe://example.org/spire/agent/x509pop/node", notBefore: at(-600), notAfter: at(3000))],
            bundle: roots.map { CertificateFacts($0.certificate) }, observedAt: at(0))
        return snapshot
    }

    static let pairs: [(Kind, Kind)] = Kind.allCases.flatMap { a in Kind.allCases.filter { $0 != a }.map { (a, $0) } }

    @Test func theChannelsOfEverySourceKind() throws {
        let roots = try Roots()
        let channels = BundleChannel.channels(from: Kind.allCases.map { Self.snapshot($0, [roots.old]) })
        #expect(Set(channels.map(\.source)) == Set(Kind.allCases.map(\.rawValue)))
        #expect(channels.allSatisfy { $0.trustDomain == Self.trustDomain && $0.roots?.count == 1 })
        // A federation endpoint's bundle is a JWT bundle too (here without keys); no other channel is.
        #expect(channels.allSatisfy { $0.jwtKeyIDs == ($0.source == Kind.federationEndpoint.rawValue ? [] : nil) })
        var tracker = TrustBundleConsistencyTracker()
        let result = try #require(tracker.observe(channels, now: at(0)).first)
        #expect(result.consistent)
        #expect(result.channels.map(\.source) == Kind.allCases.map(\.rawValue).sorted())
        #expect(result.channels.allSatisfy { $0.missingRoots == 0 && $0.behindSeconds == 0 && !$0.cannotVerifyPeers })
    }

    /// `ahead` gains the new root at +100 s, `behind` only at +700 s: it is behind 0 s when first
    /// seen lacking it, 300 s at +400 s, and back to 0 when it catches up.
    @Test(arguments: pairs) func aChannelBehindAnotherCatchesUp(ahead: Kind, behind: Kind) throws {
        let roots = try Roots()
        var tracker = TrustBundleConsistencyTracker()
        func observe(_ aheadRoots: [IssuedCA], _ behindRoots: [IssuedCA], _ now: Date) throws -> TrustDomainConsistency {
            let channels = BundleChannel.channels(from: [Self.snapshot(ahead, aheadRoots), Self.snapshot(behind, behindRoots)])
            return try #require(tracker.observe(channels, now: now).first)
        }
        func status(_ result: TrustDomainConsistency, _ kind: Kind) throws -> BundleChannelStatus {
            try #require(result.channels.first { $0.source == kind.rawValue })
        }
        #expect(try observe([roots.old], [roots.old], at(0)).consistent)

        let rotated = try observe([roots.old, roots.new], [roots.old], at(100))
        #expect(!rotated.consistent)
        #expect(try status(rotated, behind) == BundleChannelStatus(
            source: behind.rawValue, missingRoots: 1, behindSeconds: 0, cannotVerifyPeers: false, missingFrom: [ahead.rawValue]))
        #expect(try status(rotated, ahead).missingRoots == 0)

        let later = try observe([roots.old, roots.new], [roots.old], at(400))
        #expect(try status(later, behind).behindSeconds == 300)
        #expect(try status(later, ahead).behindSeconds == 0)

        let caughtUp = try observe([roots.old, roots.new], [roots.new, roots.old], at(700))
        #expect(caughtUp.consistent)
        #expect(caughtUp.channels.allSatisfy { $0.missingRoots == 0 && $0.behindSeconds == 0 })
    }

    /// Once the old root has expired, a channel holding only it verifies nothing the others issue.
    @Test(arguments: pairs) func aChannelWithoutAnyUnexpiredRootOfAnotherCannotVerifyIt(ahead: Kind, behind: Kind) throws {
        let roots = try Roots()
        var tracker = TrustBundleConsistencyTracker()
        let channels = BundleChannel.channels(from: [Self.snapshot(ahead, [roots.old, roots.new]), Self.snapshot(behind, [roots.old])])
        let before = try #require(tracker.observe(channels, now: at(0)).first)
        #expect(before.channels.allSatisfy { !$0.cannotVerifyPeers })
        // The old root expires at +3600 s: it is out of the comparison, and `behind` holds nothing valid.
        let after = try #require(tracker.observe(channels, now: at(3601)).first)
        let lagging = try #require(after.channels.first { $0.source == behind.rawValue })
        #expect(lagging.cannotVerifyPeers)
        #expect(lagging.missingRoots == 1)
        #expect(lagging.behindSeconds == 3601)
        #expect(after.channels.first { $0.source == ahead.rawValue }?.cannotVerifyPeers == false)
    }

    @Test func expiredRootsAreLeftOutOfTheComparison() throws {
        let roots = try Roots()
        var tracker = TrustBundleConsistencyTracker()
        // SPIRE keeps the expired old root a while; the file has pruned it already.
        let channels = BundleChannel.channels(
            from: [Self.snapshot(.workloadAPI, [roots.old, roots.new]), Self.snapshot(.helperDirectory, [roots.new])])
        #expect(try #require(tracker.observe(channels, now: at(0)).first).consistent == false)
        #expect(try #require(tracker.observe(channels, now: at(3601)).first).consistent)
    }

    /// A channel that appears later is behind from when it appeared, not from when the root was
    /// first seen elsewhere; a trust domain with one channel gets no verdict meanwhile.
    @Test func aLateChannelIsBehindFromWhenItAppeared() throws {
        let roots = try Roots()
        var tracker = TrustBundleConsistencyTracker()
        #expect(tracker.observe(BundleChannel.channels(from: [Self.snapshot(.workloadAPI, [roots.old, roots.new])]), now: at(0)).isEmpty)
        let both = BundleChannel.channels(
            from: [Self.snapshot(.workloadAPI, [roots.old, roots.new]), Self.snapshot(.bootstrapFile, [roots.old])])
        #expect(tracker.observe(both, now: at(500)).first?.channels.first { $0.source == "bootstrap" }?.behindSeconds == 0)
        #expect(tracker.observe(both, now: at(620)).first?.channels.first { $0.source == "bootstrap" }?.behindSeconds == 120)
    }

    /// A root gone from every channel is forgotten: when it comes back, its clock starts again.
    @Test func aRootGoneEverywhereIsForgotten() throws {
        let roots = try Roots()
        var tracker = TrustBundleConsistencyTracker()
        let lagging = BundleChannel.channels(
            from: [Self.snapshot(.workloadAPI, [roots.old, roots.new]), Self.snapshot(.helperDirectory, [roots.old])])
        _ = tracker.observe(lagging, now: at(0))
        _ = tracker.observe(
            BundleChannel.channels(from: [Self.snapshot(.workloadAPI, [roots.old]), Self.snapshot(.helperDirectory, [roots.old])]),
            now: at(100))
        let again = tracker.observe(lagging, now: at(200))
        #expect(again.first?.channels.first { $0.source == "helper" }?.behindSeconds == 0)
        #expect(tracker.observe(lagging, now: at(230)).first?.channels.first { $0.source == "helper" }?.behindSeconds == 30)
    }

    /// JWT key IDs are compared among the channels that carry a JWT bundle only: a channel with
    /// just a JWT bundle file is not compared on X.509 roots, nor one without JWT on keys.
    @Test func jwtKeysAreComparedAmongJWTChannels() throws {
        let roots = try Roots()
        let (current, next) = (JWTAuthority(kid: "current"), JWTAuthority(kid: "next"))
        var workloadAPI = Self.snapshot(.workloadAPI, [roots.old])
        workloadAPI.jwtBundles = [Self.trustDomain: JWTBundle(jwks: JWTFactory.jwks([current, next]))]
        var helper = SourceSnapshot(source: "helper", svids: [], bundles: [:])
        helper.jwtBundles = [Self.trustDomain: JWTBundle(jwks: JWTFactory.jwks([current]))]
        let agent = Self.snapshot(.agentDataFile, [roots.old])
        var tracker = TrustBundleConsistencyTracker()
        let result = try #require(tracker.observe(BundleChannel.channels(from: [workloadAPI, helper, agent]), now: at(0)).first)
        #expect(!result.consistent)
        #expect(result.channels.map(\.missingRoots) == [0, 1, 0])  // agent, helper, workload_api
        #expect(result.channels[1].missingFrom == ["workload_api"])
        #expect(result.channels.allSatisfy { !$0.cannotVerifyPeers })
    }

    /// Undecodable bundles are no copy; the same source's X.509 and JWT bundles are one channel.
    @Test func brokenBundlesAreNoChannel() throws {
        let roots = try Roots()
        var garbage = SourceSnapshot(
            source: "helper", svids: [], bundles: [Self.trustDomain: TrustBundle(trustDomain: Self.trustDomain, pem: Array("junk".utf8))])
        garbage.jwtBundles = [Self.trustDomain: JWTBundle(jwks: Array("{".utf8))]
        let channels = BundleChannel.channels(from: [garbage, Self.snapshot(.workloadAPI, [roots.old])])
        #expect(channels.map(\.source) == ["workload_api"])
        var tracker = TrustBundleConsistencyTracker()
        #expect(tracker.observe(channels, now: at(0)).isEmpty)
    }

    @Test func rendersTheFamiliesAndCheckRows() throws {
        let roots = try Roots()
        var tracker = TrustBundleConsistencyTracker()
        let snapshots = [
            Self.snapshot(.workloadAPI, [roots.old, roots.new]), Self.snapshot(.helperDirectory, [roots.old]),
            SourceSnapshot(
                source: "workload_api_partner", svids: [],
                bundles: ["partner.test": TrustBundle(trustDomain: "partner.test", certificates: [roots.new.certificate])]),
        ]
        _ = tracker.observe(BundleChannel.channels(from: snapshots), now: at(0))
        let results = tracker.observe(BundleChannel.channels(from: snapshots), now: at(90))
        var builder = ScrapeBuilder()
        TrustBundleConsistencyMetrics.collect(results, into: &builder)
        let text = String(decoding: builder.render(.prometheusText), as: UTF8.self)
        #expect(text.contains("spiffe_trust_bundle_consistent{trust_domain=\"example.org\"} 0\n"))
        #expect(text.contains("spiffe_trust_bundle_missing_roots{source=\"helper\",trust_domain=\"example.org\"} 1\n"))
        #expect(text.contains("spiffe_trust_bundle_missing_roots{source=\"workload_api\",trust_domain=\"example.org\"} 0\n"))
        #expect(text.contains("spiffe_trust_bundle_behind_seconds{source=\"helper\",trust_domain=\"example.org\"} 90\n"))
        #expect(text.contains("spiffe_trust_bundle_cannot_verify_peers{source=\"helper\",trust_domain=\"example.org\"} 0\n"))
        // One channel: nothing to compare, no series.
        #expect(!text.contains("partner.test"))

        let rows = CheckEvaluator.bundleConsistency(results)
        #expect(rows.count == 1)
        #expect(rows.first?.source == "helper")
        #expect(rows.first?.spiffeID == "spiffe://example.org")
        #expect(rows.first?.status == .warning)
        #expect(rows.first?.summary == "lacks 1 root that workload_api holds, behind for 1m30s")
        let expired = CheckEvaluator.bundleConsistency(tracker.observe(BundleChannel.channels(from: snapshots), now: at(3601)))
        #expect(expired.first?.status == .critical)
    }
}
