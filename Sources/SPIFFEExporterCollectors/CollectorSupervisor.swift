import Foundation
import Logging
import SPIFFEExporterCore
import ServiceLifecycle
import Synchronization

/// The collectors of the current configuration. A reload swaps the whole set: the old collectors
/// are cancelled and awaited before the new ones start, so two collectors never feed one source;
/// sources and probe targets that are gone are removed from the store and registry. The store keeps renewal state
/// across a reload, so restarting a collector never counts a fake renewal.
public final class CollectorSupervisor: Service, Sendable {
    /// What one configuration runs.
    public struct Plan: Sendable {
        public var services: [any Service]
        public var contributors: [any ScrapeContributor]
        public var sources: Set<String>
        /// Probe targets (`target` label) of this configuration.
        public var targets: Set<String>

        public init(
            services: [any Service], contributors: [any ScrapeContributor], sources: Set<String>, targets: Set<String> = []
        ) {
            self.services = services
            self.contributors = contributors
            self.sources = sources
            self.targets = targets
        }
    }

    private struct State: Sendable {
        var tasks: [Task<Void, Never>] = []
        var contributors: [any ScrapeContributor] = []
        var sources: Set<String> = []
        var targets: Set<String> = []
        var stopped = false
    }

    private let state = Mutex(State())
    private let applying = Mutex(false)
    let store: IdentityStore
    let registry: MetricsRegistry
    let logger: Logger

    public init(store: IdentityStore, registry: MetricsRegistry, logger: Logger) {
        self.store = store
        self.registry = registry
        self.logger = logger
    }

    /// The scrape contributors of the current plan (read at every scrape).
    public var contributors: [any ScrapeContributor] { state.withLock { $0.contributors } }

    /// Stops the current collectors and starts the plan's.
    public func apply(_ plan: Plan) async {
        let old = state.withLock { s -> [Task<Void, Never>] in
            let tasks = s.tasks
            s.tasks = []
            return tasks
        }
        for task in old { task.cancel() }
        for task in old { await task.value }
        let (removed, removedTargets, stopped) = state.withLock { s -> (Set<String>, Set<String>, Bool) in
            let removed = s.sources.subtracting(plan.sources)
            let removedTargets = s.targets.subtracting(plan.targets)
            s.sources = plan.sources
            s.targets = plan.targets
            s.contributors = plan.contributors
            return (removed, removedTargets, s.stopped)
        }
        for target in removedTargets {
            registry.removeSeries(label: "target", value: target)
            logger.info("probe target removed by reload", metadata: ["target": "\(target)"])
        }
        for source in removed {
            store.unregister(source: source)
            registry.removeSeries(source: source)
            logger.info("source removed by reload", metadata: ["source": "\(source)"])
        }
        guard !stopped else { return }
        let logger = self.logger
        let tasks = plan.services.map { service in
            Task {
                do {
                    try await service.run()
                } catch is CancellationError {
                } catch {
                    logger.error("collector stopped with an error", metadata: ["error": "\(error)"])
                }
            }
        }
        state.withLock { $0.tasks = tasks }
    }

    public func run() async throws {
        // Collectors run until the exporter shuts down; reloads replace them meanwhile.
        try? await gracefulShutdown()
        let tasks = state.withLock { s -> [Task<Void, Never>] in
            s.stopped = true
            let tasks = s.tasks
            s.tasks = []
            return tasks
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}
