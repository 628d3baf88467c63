import Foundation

/// How long identities survive when nothing can be renewed (the SPIRE server or the agent is
/// down): until the first X.509-SVID, or an intermediate CA in its chain, expires. JWT-SVIDs are
/// left out: they live minutes by design, and a workload fetches a new one on demand.
public enum OutageBudget {
    /// The certificate that ends a source's budget.
    public struct Limit: Sendable, Hashable, Codable {
        public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
            case x509SVID = "x509_svid"
            /// An intermediate CA of a chain; `spiffeID` is the SVID whose chain holds it.
            case intermediate
            case agentSVID = "agent_svid"
        }

        public var source: String
        public var spiffeID: String
        public var kind: Kind
        public var expiresAt: Date

        public init(source: String, spiffeID: String, kind: Kind, expiresAt: Date) {
            self.source = source
            self.spiffeID = spiffeID
            self.kind = kind
            self.expiresAt = expiresAt
        }

        /// Seconds left at `now`; 0 once expired (the budget is spent).
        public func seconds(at now: Date) -> Double {
            max(0, expiresAt.timeIntervalSince(now))
        }

        /// Earliest expiry first; ties in label order, so the limiting identity does not flap.
        static func precedes(_ a: Limit, _ b: Limit) -> Bool {
            (a.expiresAt, a.source, a.spiffeID, a.kind.rawValue) < (b.expiresAt, b.source, b.spiffeID, b.kind.rawValue)
        }
    }

    /// The limit of each source that holds X.509-SVIDs (or an agent SVID), by source name.
    public static func limits(_ snapshots: [SourceSnapshot]) -> [String: Limit] {
        var limits: [String: Limit] = [:]
        for snapshot in snapshots {
            var candidates: [Limit] = []
            for report in snapshot.svids {
                guard let leaf = report.leaf else { continue }
                candidates.append(Limit(source: snapshot.source, spiffeID: report.spiffeID, kind: .x509SVID, expiresAt: leaf.notAfter))
                if let intermediate = report.earliestIntermediateExpiry {
                    candidates.append(
                        Limit(source: snapshot.source, spiffeID: report.spiffeID, kind: .intermediate, expiresAt: intermediate))
                }
            }
            if let agent = snapshot.agent {
                candidates.append(
                    Limit(source: snapshot.source, spiffeID: agent.spiffeID, kind: .agentSVID, expiresAt: agent.leaf.notAfter))
                if let intermediate = agent.intermediates.map(\.notAfter).min() {
                    candidates.append(
                        Limit(source: snapshot.source, spiffeID: agent.spiffeID, kind: .intermediate, expiresAt: intermediate))
                }
            }
            if let limit = candidates.min(by: Limit.precedes) { limits[snapshot.source] = limit }
        }
        return limits
    }

    /// The node's limit: the lowest of every source's.
    public static func node(_ limits: [String: Limit]) -> Limit? {
        limits.values.min(by: Limit.precedes)
    }

    /// The node's limit among `check` / `/status` rows: X.509-SVIDs and agent SVIDs, with the
    /// intermediates of their chains (JWT-SVIDs and probed servers do not count).
    public static func node(identities: [CheckIdentity]) -> Limit? {
        var candidates: [Limit] = []
        for identity in identities {
            let kind: Limit.Kind
            switch identity.kind {
            case "x509": kind = .x509SVID
            case CheckEvaluator.agentSVIDKind: kind = .agentSVID
            default: continue
            }
            if let expiry = identity.expiresAt {
                candidates.append(Limit(source: identity.source, spiffeID: identity.spiffeID, kind: kind, expiresAt: expiry))
            }
            if let expiry = identity.intermediateExpiresAt {
                candidates.append(
                    Limit(source: identity.source, spiffeID: identity.spiffeID, kind: .intermediate, expiresAt: expiry))
            }
        }
        return candidates.min(by: Limit.precedes)
    }

    /// `spiffe_outage_budget_seconds`, `spiffe_node_outage_budget_seconds` and
    /// `spiffe_outage_budget_limit_info`; no series while nothing holds an X.509-SVID.
    public static func collect(_ snapshots: [SourceSnapshot], now: Date, into builder: inout ScrapeBuilder) {
        let limits = limits(snapshots)
        builder.add(
            MetricCatalog.outageBudget,
            limits.keys.sorted().map { Sample([$0], limits[$0]!.seconds(at: now)) })
        if let node = node(limits) {
            builder.add(MetricCatalog.nodeOutageBudget, [Sample([], node.seconds(at: now))])
            builder.add(MetricCatalog.outageBudgetLimit, [Sample([node.source, node.spiffeID, node.kind.rawValue], 1)])
        } else {
            builder.declare(MetricCatalog.nodeOutageBudget)
            builder.declare(MetricCatalog.outageBudgetLimit)
        }
    }
}

/// `spiffe_agent_*` series of the agent sources' last known reports, rendered at scrape time
/// (countdowns use the scrape's `now`). `spiffe_agent_up` and the failure counters are the
/// collector's, in the registry.
public enum AgentMetrics {
    public static func collect(_ snapshots: [SourceSnapshot], now: Date, into builder: inout ScrapeBuilder) {
        var expiry: [Sample] = []
        var expiresIn: [Sample] = []
        var lastSync: [Sample] = []
        var cached: [Sample] = []
        var uptime: [Sample] = []
        var reattestable: [Sample] = []
        for snapshot in snapshots.sorted(by: { $0.source < $1.source }) {
            guard let agent = snapshot.agent else { continue }
            let source = snapshot.source
            let notAfter = agent.leaf.notAfter.timeIntervalSince1970
            expiry.append(Sample([source, agent.spiffeID], notAfter))
            expiresIn.append(Sample([source, agent.spiffeID], notAfter - now.timeIntervalSince1970))
            if let sync = agent.lastSyncSuccess { lastSync.append(Sample([source], sync.timeIntervalSince1970)) }
            if let counts = agent.cachedSVIDs {
                // Label-value order: jwt, svidstore, x509.
                cached.append(Sample([source, "jwt"], Double(counts.jwt)))
                cached.append(Sample([source, "svidstore"], Double(counts.svidstore)))
                cached.append(Sample([source, "x509"], Double(counts.x509)))
            }
            if let seconds = agent.uptime { uptime.append(Sample([source], seconds)) }
            if let flag = agent.reattestable { reattestable.append(Sample([source], flag ? 1 : 0)) }
        }
        builder.add(MetricCatalog.agentSVIDExpiry, expiry)
        builder.add(MetricCatalog.agentSVIDExpiresIn, expiresIn)
        builder.add(MetricCatalog.agentLastSyncSuccess, lastSync)
        builder.add(MetricCatalog.agentCachedSVIDs, cached)
        builder.add(MetricCatalog.agentUptime, uptime)
        builder.add(MetricCatalog.agentReattestable, reattestable)
    }
}
