import Foundation
import SPIFFEExporterCore

/// Everything /metrics shows: per-identity series from the store, the exporter's own counters,
/// build info and process metrics, merged into one sorted exposition.
public struct ExporterMetrics: MetricsProvider {
    public let store: IdentityStore
    public let registry: MetricsRegistry
    public let version: String
    public let revision: String
    public let includeProcessMetrics: Bool
    public let contributors: [any ScrapeContributor]

    public init(
        store: IdentityStore, registry: MetricsRegistry, version: String, revision: String,
        includeProcessMetrics: Bool = true, contributors: [any ScrapeContributor] = []
    ) {
        self.contributors = contributors
        self.store = store
        self.registry = registry
        self.version = version
        self.revision = revision
        self.includeProcessMetrics = includeProcessMetrics
    }

    public func scrape(format: ExpositionFormat, now: Date) async -> [UInt8] {
        var builder = ScrapeBuilder()
        let snapshots = await store.snapshot(now: now)
        IdentityMetrics.collect(snapshots, now: now, into: &builder)
        registry.collect(into: &builder)
        for contributor in contributors {
            await contributor.collect(now: now, into: &builder)
        }
        builder.add(MetricCatalog.buildInfo, [Sample([version, revision], 1)])
        if includeProcessMetrics { ProcessMetrics.collect(into: &builder) }
        return builder.render(format)
    }

    public func unsyncedSources() -> [String] {
        store.unsyncedSources()
    }
}
