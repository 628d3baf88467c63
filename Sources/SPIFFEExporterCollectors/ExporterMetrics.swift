import Foundation
import SPIFFEExporterCore

/// Everything /metrics shows: per-identity series from the store, the exporter's own counters,
/// build info and process metrics, merged into one sorted exposition.
public struct ExporterMetrics: MetricsProvider, StatusProvider {
    public let store: IdentityStore
    public let board: SourceBoard
    public let registry: MetricsRegistry
    public let version: String
    public let revision: String
    public let includeProcessMetrics: Bool
    public let contributors: [any ScrapeContributor]
    /// Contributors that change with reloads (the supervisor's current plan).
    public let dynamicContributors: (@Sendable () -> [any ScrapeContributor])?
    /// Text of the per-identity families kept between scrapes (only what changed is rendered).
    private let renderCache = IdentityRenderCache()

    public init(
        store: IdentityStore, board: SourceBoard, registry: MetricsRegistry, version: String, revision: String,
        includeProcessMetrics: Bool = true, contributors: [any ScrapeContributor] = [],
        dynamicContributors: (@Sendable () -> [any ScrapeContributor])? = nil
    ) {
        self.contributors = contributors
        self.dynamicContributors = dynamicContributors
        self.store = store
        self.board = board
        self.registry = registry
        self.version = version
        self.revision = revision
        self.includeProcessMetrics = includeProcessMetrics
    }

    public func scrape(format: ExpositionFormat, now: Date) async -> [UInt8] {
        var builder = ScrapeBuilder(spiffeIDLabels: store.spiffeIDLabels)
        let snapshots = await store.snapshot(now: now)
        IdentityMetrics.collect(snapshots, now: now, cache: renderCache, into: &builder)
        IdentityMetrics.collect(
            expected: store.expectations.evaluate(snapshots, sources: board.all, now: now), into: &builder)
        TrustBundleConsistencyMetrics.collect(store.bundleConsistency.evaluate(snapshots, now: now), into: &builder)
        registry.collect(into: &builder)
        await board.collect(now: now, into: &builder)
        for contributor in contributors + (dynamicContributors?() ?? []) {
            await contributor.collect(now: now, into: &builder)
        }
        builder.add(MetricCatalog.buildInfo, [Sample([version, revision], 1)])
        if includeProcessMetrics { ProcessMetrics.collect(into: &builder) }
        return builder.render(format)
    }

    public func unsyncedSources() -> [String] {
        board.unsynced()
    }

    /// The /status view, built from the same snapshot a scrape uses.
    public func status(now: Date) async -> StatusReport {
        let snapshots = await store.snapshot(now: now)
        let thresholds = CheckThresholds(deadlineFraction: store.renewalDeadlineFraction)
        // Expected identities first: what is missing matters more than what is held.
        var identities = store.expectations.evaluate(snapshots, sources: board.all, now: now).map(CheckEvaluator.expected)
        for snapshot in snapshots.sorted(by: { $0.source < $1.source }) {
            let renewals = Dictionary(
                (snapshot.renewals + snapshot.jwtRenewals).map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            func renewal(_ identity: CheckIdentity) -> RenewalTracker.Status? {
                renewals[RenewalTracker.Key(source: snapshot.source, identity: identity.spiffeID, audience: identity.audience)]
            }
            for report in snapshot.svids {
                let bundle = report.trustDomain.flatMap { snapshot.bundles[$0] }
                let identity = CheckEvaluator.x509(report, source: snapshot.source, bundle: bundle, thresholds: thresholds, now: now)
                identities.append(CheckEvaluator.withRenewal(identity, renewal(identity)))
            }
            for report in snapshot.jwtSVIDs {
                let identity = CheckEvaluator.jwt(report, source: snapshot.source, thresholds: thresholds, now: now)
                identities.append(CheckEvaluator.withRenewal(identity, renewal(identity)))
            }
            if let agent = snapshot.agent {
                let identity = CheckEvaluator.agent(agent, source: snapshot.source, thresholds: thresholds, now: now)
                identities.append(CheckEvaluator.withRenewal(identity, renewal(identity)))
            }
        }
        identities += CheckEvaluator.bundleConsistency(store.bundleConsistency.evaluate(snapshots, now: now))
        return StatusReport(
            check: CheckReport(checkedAt: now, identities: identities, failures: []), sources: board.all,
            events: board.events.recent())
    }
}
