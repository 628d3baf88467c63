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
        FederationMetrics.collect(snapshots, now: now, into: &builder)
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
        let sources = board.all
        let health = Dictionary(sources.map { ($0.source, $0) }, uniquingKeysWith: { first, _ in first })
        let thresholds = CheckThresholds(deadlineFraction: store.renewalDeadlineFraction)
        // Expected identities first: what is missing matters more than what is held.
        let expected = store.expectations.evaluate(snapshots, sources: sources, now: now).map(CheckEvaluator.expected)
        var identities: [CheckIdentity] = []
        for snapshot in snapshots {
            let renewals = Dictionary(
                (snapshot.renewals + snapshot.jwtRenewals).map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            func held(_ identity: CheckIdentity) -> CheckIdentity {
                let renewal = renewals[RenewalTracker.Key(source: snapshot.source, identity: identity.spiffeID, audience: identity.audience)]
                return CheckEvaluator.withSource(CheckEvaluator.withRenewal(identity, renewal), health[snapshot.source])
            }
            for report in snapshot.svids {
                let bundle = report.trustDomain.flatMap { snapshot.bundles[$0] }
                identities.append(held(CheckEvaluator.x509(report, source: snapshot.source, bundle: bundle, thresholds: thresholds, now: now)))
            }
            for report in snapshot.jwtSVIDs {
                identities.append(held(CheckEvaluator.jwt(report, source: snapshot.source, thresholds: thresholds, now: now)))
            }
            if let agent = snapshot.agent {
                identities.append(held(CheckEvaluator.agent(agent, source: snapshot.source, thresholds: thresholds, now: now)))
            }
        }
        // What Envoy proxies hold (their last read), rated as `check` rates it.
        for case let envoy as EnvoyCertsContributor in contributors + (dynamicContributors?() ?? []) {
            guard let reading = envoy.reading() else { continue }
            identities += EnvoyCheckRows.rows(reading, thresholds: thresholds, now: now).map {
                CheckEvaluator.withSource($0, health[reading.source])
            }
        }
        identities += CheckEvaluator.bundleConsistency(store.bundleConsistency.evaluate(snapshots, now: now))
        // Most urgent first: the page is read top-down at 3 a.m.
        identities.sort(by: CheckIdentity.moreUrgent)
        return StatusReport(
            check: CheckReport(checkedAt: now, identities: expected + identities, failures: [], sources: sources), sources: sources,
            events: board.events.recent())
    }
}
