import Foundation
import Logging
import SPIFFEExporterCore
import ServiceLifecycle
import Synchronization

/// Runs the collectors of the current configuration inside the application's ServiceGroup, as
/// children of this service's task, so graceful shutdown reaches them. A reload swaps the whole
/// set: the old collectors are cancelled and awaited before the new ones start, so two
/// collectors never feed one source; sources and probe targets that are gone are removed from
/// the store, the board and the registry. The store keeps renewal state across a reload, so
/// restarting a collector never counts a fake renewal.
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

    private struct Request: Sendable {
        var plan: Plan
        /// Resumed once the plan's collectors have started.
        var started: CheckedContinuation<Void, Never>?
    }

    private enum Phase: Sendable {
        /// Before `run()`: the latest plan waits for it.
        case waiting(Plan?)
        case running(AsyncStream<Request>.Continuation)
        case stopped
    }

    private struct State: Sendable {
        var phase = Phase.waiting(nil)
        var contributors: [any ScrapeContributor] = []
        var sources: Set<String> = []
        var targets: Set<String> = []
    }

    private let state = Mutex(State())
    let store: IdentityStore
    let board: SourceBoard
    let registry: MetricsRegistry
    let logger: Logger

    public init(store: IdentityStore, board: SourceBoard, registry: MetricsRegistry, logger: Logger) {
        self.store = store
        self.board = board
        self.registry = registry
        self.logger = logger
    }

    /// The scrape contributors of the current plan (read at every scrape).
    public var contributors: [any ScrapeContributor] { state.withLock { $0.contributors } }

    /// Replaces the running collectors with the plan's; returns once they have started (at once
    /// before `run()`, which then starts them).
    public func apply(_ plan: Plan) async {
        let continuation = state.withLock { s -> AsyncStream<Request>.Continuation? in
            switch s.phase {
            case .waiting:
                s.phase = .waiting(plan)
                return nil
            case .running(let continuation): return continuation
            case .stopped: return nil
            }
        }
        guard let continuation else { return }
        await withCheckedContinuation { started in
            if case .terminated = continuation.yield(Request(plan: plan, started: started)) { started.resume() }
        }
    }

    public func run() async throws {
        let (requests, continuation) = AsyncStream.makeStream(of: Request.self)
        let pending = state.withLock { s -> Plan? in
            guard case .waiting(let plan) = s.phase else { return nil }
            s.phase = .running(continuation)
            return plan
        }
        if let pending { continuation.yield(Request(plan: pending)) }
        await withDiscardingTaskGroup { group in
            var current: (stop: StopSignal, finished: StopSignal)?
            await withGracefulShutdownHandler {
                for await request in requests {
                    if let current {
                        current.stop.fire()
                        await current.finished.wait()
                    }
                    current = start(request.plan, in: &group)
                    request.started?.resume()
                }
            } onGracefulShutdown: {
                self.state.withLock { $0.phase = .stopped }
                continuation.finish()
            }
            // Collectors end on graceful shutdown themselves; cancel whatever is left.
            current?.stop.fire()
        }
    }

    private func start(_ plan: Plan, in group: inout DiscardingTaskGroup) -> (stop: StopSignal, finished: StopSignal) {
        let (removed, removedTargets) = state.withLock { s -> (Set<String>, Set<String>) in
            let removed = s.sources.subtracting(plan.sources)
            let removedTargets = s.targets.subtracting(plan.targets)
            s.sources = plan.sources
            s.targets = plan.targets
            s.contributors = plan.contributors
            return (removed, removedTargets)
        }
        for target in removedTargets {
            registry.removeSeries(label: "target", value: target)
            if board.health(target)?.kind == .probe { board.unregister(target) }
            logger.info("probe target removed by reload", metadata: ["target": "\(target)"])
        }
        for source in removed {
            store.unregister(source: source)
            board.unregister(source)
            registry.removeSeries(source: source)
            logger.info("source removed by reload", metadata: ["source": "\(source)"])
        }
        let stop = StopSignal()
        let finished = StopSignal()
        let logger = self.logger
        let services = plan.services
        group.addTask {
            await withTaskGroup(of: Void.self) { inner in
                inner.addTask {
                    await withDiscardingTaskGroup { collectors in
                        for service in services {
                            collectors.addTask {
                                do {
                                    try await service.run()
                                } catch is CancellationError {
                                } catch {
                                    logger.error("collector stopped with an error", metadata: ["error": "\(error)"])
                                }
                            }
                        }
                    }
                }
                inner.addTask { await stop.wait() }
                // Either the plan was replaced or every collector ended (shutdown).
                _ = await inner.next()
                inner.cancelAll()
            }
            finished.fire()
        }
        return (stop, finished)
    }
}
