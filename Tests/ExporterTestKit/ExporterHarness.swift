import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import ServiceLifecycle
import TestKit
import Testing

/// The one in-process exporter of the tests and the benchmark: a store, board, registry and
/// agent connection pool, the /metrics view over them, and a way to run collectors on them.
public struct ExporterHarness: Sendable {
    public let context: CollectorContext
    /// The source the single-source helpers (``failures(_:)``, ``up``) speak of.
    public let source: String
    public var store: IdentityStore { context.store }
    public var board: SourceBoard { context.board }
    public var registry: MetricsRegistry { context.registry }

    public init(
        source: String = "workload_api", renewal: RenewalTracker.Configuration = RenewalTracker.Configuration(),
        logger: Logger = quietLogger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        let store = IdentityStore(renewal: renewal)
        context = CollectorContext(
            store: store, board: SourceBoard(events: store.events), registry: MetricsRegistry(),
            connections: AgentConnections(), logger: logger, now: now)
        self.source = source
    }

    public func metrics(contributors: [any ScrapeContributor] = []) -> ExporterMetrics {
        ExporterMetrics(
            store: store, board: board, registry: registry, version: "test", revision: "test", includeProcessMetrics: false,
            contributors: contributors)
    }

    public var metrics: ExporterMetrics { metrics() }

    public func failures(_ source: String, _ reason: ConnectionFailureReason) -> Double {
        registry.value(MetricCatalog.workloadAPIConnectionFailures, [source, reason.rawValue]) ?? 0
    }

    public func failures(_ reason: ConnectionFailureReason) -> Double { failures(source, reason) }

    public func requests(_ rpc: String, code: String) -> Double {
        registry.value(MetricCatalog.workloadAPIRequests, [source, rpc, code]) ?? 0
    }

    /// `spiffe_workload_api_up` of a source as /metrics renders it; `nil` when it has none.
    public func up(_ source: String) -> Double? {
        guard let health = board.health(source), health.kind.exportsUpGauge, let up = health.up else { return nil }
        return up ? 1 : 0
    }

    public var up: Double? { up(source) }

    public func scrapeText(
        _ format: ExpositionFormat = .prometheusText, now: Date = Date(), contributors: [any ScrapeContributor] = []
    ) async -> String {
        String(decoding: await metrics(contributors: contributors).scrape(format: format, now: now), as: UTF8.self)
    }

    public func scrape(now: Date = Date(), contributors: [any ScrapeContributor] = []) async -> Scrape {
        Scrape(text: await scrapeText(now: now, contributors: contributors))
    }

    /// `promtool check metrics` finds nothing to complain about in the current exposition.
    public func expectValidExposition(
        contributors: [any ScrapeContributor] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        try await expectPromtoolClean(await scrapeText(contributors: contributors), sourceLocation: sourceLocation)
    }

    /// Runs the connection pool and `services` for the duration of `body`; then cancels the
    /// services, closes the connections and waits for both, so nothing is left talking to a
    /// simulator that stops next.
    public func running<T>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
        let connections = context.connections
        return try await withThrowingTaskGroup(of: Void.self) { pool in
            pool.addTask { try await connections.run() }
            defer { connections.shutdown() }
            let result = try await withThrowingTaskGroup(of: Void.self) { group in
                for service in services {
                    group.addTask { try await service.run() }
                }
                defer { group.cancelAll() }
                return try await body()
            }
            connections.shutdown()
            try await pool.waitForAll()
            return result
        }
    }
}
