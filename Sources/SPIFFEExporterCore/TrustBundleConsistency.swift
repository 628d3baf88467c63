import Foundation
import Synchronization

/// One channel's copy of one trust domain's bundle: what a Workload API source, a spiffe-helper
/// directory, a delegated subscription, the agent data file or a bootstrap bundle file holds.
public struct BundleChannel: Sendable, Hashable {
    /// The `source` label: the configured name of the source the copy came through.
    public var source: String
    public var trustDomain: String
    /// X.509 authorities; `nil` when the channel carries none for this trust domain (a JWT bundle
    /// file alone), so it is not compared on them.
    public var roots: [CertificateFacts]?
    /// JWT key IDs; `nil` when the channel carries no JWT bundle (most channels).
    public var jwtKeyIDs: Set<String>?

    public init(source: String, trustDomain: String, roots: [CertificateFacts]? = nil, jwtKeyIDs: Set<String>? = nil) {
        self.source = source
        self.trustDomain = trustDomain
        self.roots = roots
        self.jwtKeyIDs = jwtKeyIDs
    }

    /// Every channel of the sources in a scrape's snapshot: each source's X.509 bundles (own and
    /// federated) and JWT bundles, an agent source's data-file bundle under the agent SPIFFE
    /// ID's trust domain, and a federation bundle endpoint's bundle under its trust domain. A bundle that did not decode at all is no copy to compare (its file or
    /// message is counted as a failure where it was read).
    public static func channels(from snapshots: [SourceSnapshot]) -> [BundleChannel] {
        var channels: [BundleChannel] = []
        for snapshot in snapshots {
            for (trustDomain, bundle) in snapshot.bundles where !(bundle.facts.isEmpty && bundle.decodeError != nil) {
                channels.append(BundleChannel(source: snapshot.source, trustDomain: trustDomain, roots: bundle.facts))
            }
            for (trustDomain, bundle) in snapshot.jwtBundles where !(bundle.keys.isEmpty && bundle.decodeError != nil) {
                channels.append(BundleChannel(source: snapshot.source, trustDomain: trustDomain, jwtKeyIDs: Set(bundle.keys.keys)))
            }
            if let agent = snapshot.agent, !agent.bundle.isEmpty, let id = try? SPIFFEID(parsing: agent.spiffeID) {
                channels.append(BundleChannel(source: snapshot.source, trustDomain: id.trustDomain, roots: agent.bundle))
            }
            // The last good bundle a federation endpoint served: it stays a channel through failed
            // fetches, as SPIRE keeps a federated bundle when a refresh fails.
            if let federation = snapshot.federation, let document = federation.document {
                channels.append(
                    BundleChannel(
                        source: snapshot.source, trustDomain: federation.trustDomain, roots: document.roots.facts,
                        jwtKeyIDs: Set(document.jwtKeyIDs)))
            }
        }
        return channels
    }
}

/// How one channel compares with the other channels of its trust domain.
public struct BundleChannelStatus: Sendable, Hashable, Codable {
    public var source: String
    /// Unexpired roots (and JWT keys) other channels hold and this one lacks.
    public var missingRoots: Int
    /// Seconds since the oldest of those was first seen in another channel (or since this channel
    /// appeared, if later); 0 when nothing is missing.
    public var behindSeconds: Double
    /// Another channel holds unexpired roots and this one holds none of them: SVIDs issued under
    /// that channel's roots cannot be verified with this copy.
    public var cannotVerifyPeers: Bool
    /// The channels holding what this one lacks, sorted.
    public var missingFrom: [String]

    public init(source: String, missingRoots: Int, behindSeconds: Double, cannotVerifyPeers: Bool, missingFrom: [String]) {
        self.source = source
        self.missingRoots = missingRoots
        self.behindSeconds = behindSeconds
        self.cannotVerifyPeers = cannotVerifyPeers
        self.missingFrom = missingFrom
    }
}

/// The verdict for one trust domain carried by two or more channels.
public struct TrustDomainConsistency: Sendable, Hashable, Codable {
    public var trustDomain: String
    /// Every channel holds the same unexpired roots (and, among channels with JWT bundles, the
    /// same key IDs).
    public var consistent: Bool
    /// Sorted by source.
    public var channels: [BundleChannelStatus]
}

/// Compares every channel's copy of each trust domain's bundle and remembers, across scrapes,
/// when each root was first seen anywhere, so a channel's lag is measured from then.
///
/// Roots past their NotAfter are left out: SPIRE keeps expired CAs in its bundle for a while and
/// prunes them on its own schedule, and lacking one breaks nothing.
public struct TrustBundleConsistencyTracker: Sendable {
    /// A root CA (its identifier, serial and NotAfter, as ``TrustBundle/fingerprint``) or a JWT key ID.
    enum Authority: Hashable, Sendable {
        case x509(String)
        case jwt(String)
    }

    struct DomainState: Sendable {
        /// When each authority held by some channel was first observed; forgotten once no channel holds it.
        var firstSeen: [Authority: Date] = [:]
        /// When each channel was first observed carrying the trust domain.
        var channelSince: [String: Date] = [:]
    }

    private var domains: [String: DomainState] = [:]

    public init() {}

    /// Takes in the channels as they are at `now` and returns a verdict for every trust domain
    /// that two or more channels carry, sorted by trust domain. A trust domain with one channel
    /// has nothing to be compared with: it gets no verdict, but its roots' first sightings are
    /// kept so a second channel's lag is measured correctly.
    public mutating func observe(_ channels: [BundleChannel], now: Date) -> [TrustDomainConsistency] {
        var byDomain: [String: [String: (x509: Set<Authority>?, jwt: Set<Authority>?, unexpired: [CertificateFacts])]] = [:]
        for channel in channels {
            var entry = byDomain[channel.trustDomain]?[channel.source] ?? (nil, nil, [])
            if let roots = channel.roots {
                let unexpired = roots.filter { now <= $0.notAfter }
                entry.x509 = (entry.x509 ?? []).union(unexpired.map(Self.authority))
                entry.unexpired += unexpired
            }
            if let keys = channel.jwtKeyIDs { entry.jwt = (entry.jwt ?? []).union(keys.map(Authority.jwt)) }
            byDomain[channel.trustDomain, default: [:]][channel.source] = entry
        }
        var results: [TrustDomainConsistency] = []
        var next: [String: DomainState] = [:]
        for (trustDomain, held) in byDomain.sorted(by: { $0.key < $1.key }) {
            let previous = domains[trustDomain] ?? DomainState()
            var state = DomainState()
            for (source, entry) in held {
                state.channelSince[source] = previous.channelSince[source] ?? now
                for authority in (entry.x509 ?? []).union(entry.jwt ?? []) {
                    state.firstSeen[authority] = previous.firstSeen[authority] ?? now
                }
            }
            next[trustDomain] = state
            guard held.count >= 2 else { continue }
            let x509Union = held.values.reduce(into: Set<Authority>()) { $0.formUnion($1.x509 ?? []) }
            let jwtUnion = held.values.reduce(into: Set<Authority>()) { $0.formUnion($1.jwt ?? []) }
            var statuses: [BundleChannelStatus] = []
            for (source, entry) in held.sorted(by: { $0.key < $1.key }) {
                var missing: Set<Authority> = []
                if let x509 = entry.x509 { missing.formUnion(x509Union.subtracting(x509)) }
                if let jwt = entry.jwt { missing.formUnion(jwtUnion.subtracting(jwt)) }
                let since = state.channelSince[source] ?? now
                let behindSince = missing.compactMap { state.firstSeen[$0].map { max($0, since) } }.min()
                let others = held.filter { $0.key != source }
                let missingFrom = others.filter { _, other in
                    !(other.x509 ?? []).union(other.jwt ?? []).isDisjoint(with: missing)
                }.keys.sorted()
                // Peers fail once a channel's unexpired roots are all unknown here.
                var cannotVerify = false
                if let own = entry.x509 {
                    cannotVerify = others.values.contains { other in
                        guard let roots = other.x509, !roots.isEmpty else { return false }
                        return roots.isDisjoint(with: own)
                    }
                }
                statuses.append(
                    BundleChannelStatus(
                        source: source, missingRoots: missing.count,
                        behindSeconds: behindSince.map { max(0, now.timeIntervalSince($0)) } ?? 0,
                        cannotVerifyPeers: cannotVerify, missingFrom: missingFrom))
            }
            // Equal sets: nobody lacks anything the others have.
            results.append(
                TrustDomainConsistency(
                    trustDomain: trustDomain, consistent: statuses.allSatisfy { $0.missingRoots == 0 }, channels: statuses))
        }
        domains = next
        return results
    }

    static func authority(_ root: CertificateFacts) -> Authority {
        .x509("\(root.identifier)/\(root.serialNumber)/\(root.notAfter.timeIntervalSince1970)")
    }
}

/// Renders the consistency families from one ``TrustBundleConsistencyTracker/observe(_:now:)``.
public enum TrustBundleConsistencyMetrics {
    public static func collect(_ results: [TrustDomainConsistency], into builder: inout ScrapeBuilder) {
        var consistent: [Sample] = []
        var missing: [Sample] = []
        var behind: [Sample] = []
        var cannotVerify: [Sample] = []
        for result in results {
            consistent.append(Sample([result.trustDomain], result.consistent ? 1 : 0))
            for channel in result.channels {
                let labels = [channel.source, result.trustDomain]
                missing.append(Sample(labels, Double(channel.missingRoots)))
                behind.append(Sample(labels, channel.behindSeconds))
                cannotVerify.append(Sample(labels, channel.cannotVerifyPeers ? 1 : 0))
            }
        }
        builder.add(MetricCatalog.bundleConsistent, consistent)
        builder.add(MetricCatalog.bundleMissingRoots, missing)
        builder.add(MetricCatalog.bundleBehindSeconds, behind)
        builder.add(MetricCatalog.bundleCannotVerifyPeers, cannotVerify)
    }
}

/// The tracker shared by `/metrics` and `/status`: both compare the same snapshot's channels, and
/// either one's observation moves the same first-seen clocks.
public final class TrustBundleConsistencyLedger: Sendable {
    private let tracker = Mutex(TrustBundleConsistencyTracker())

    public init() {}

    public func evaluate(_ snapshots: [SourceSnapshot], now: Date) -> [TrustDomainConsistency] {
        let channels = BundleChannel.channels(from: snapshots)
        return tracker.withLock { $0.observe(channels, now: now) }
    }
}
