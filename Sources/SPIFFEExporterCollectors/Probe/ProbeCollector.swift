import Foundation
import Logging
import NIOCore
import NIOPosix
import SPIFFEExporterCore
import ServiceLifecycle
import Synchronization

/// The served-certificate probe: connects to each target's TLS endpoint every interval, checks the
/// SVID it presents the SPIFFE way and compares it with the newest SVID known for that SPIFFE ID,
/// to catch servers that never reloaded a rotated SVID. A failed probe is data
/// (`spiffe_probe_success 0` plus a reason), never an error of the exporter.
public struct ProbeCollector: Service {
    public let configuration: ProbeConfiguration
    /// Renders the per-target series; add it to the exporter's contributors.
    public let contributor: ProbeResultsContributor
    let identities: any ProbeIdentitySource
    let registry: MetricsRegistry
    /// Where /status reads each target's state; nil for a one-shot `check`.
    let board: SourceBoard?
    let logger: Logger
    let clock: @Sendable () -> Date
    let prober: TLSProber

    public init(
        configuration: ProbeConfiguration,
        identities: any ProbeIdentitySource,
        registry: MetricsRegistry,
        board: SourceBoard? = nil,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() },
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.identities = identities
        self.registry = registry
        self.board = board
        self.logger = logger
        self.clock = clock
        self.contributor = ProbeResultsContributor()
        self.prober = TLSProber(group: eventLoopGroup, clock: clock)
        for target in configuration.targets {
            registry.preZero(
                MetricCatalog.probeFailures, ProbeFailureReason.allCases.map { [target.name, $0.rawValue] })
            board?.register(target.name, kind: .probe, now: clock())
        }
    }

    public func run() async throws {
        guard !configuration.targets.isEmpty else {
            // A service that returns early would end the whole ServiceGroup.
            try? await gracefulShutdown()
            return
        }
        logger.info(
            "starting served-certificate probe",
            metadata: [
                "targets": "\(configuration.targets.map(\.description).joined(separator: " "))",
                "interval_seconds": "\(configuration.interval.seconds)",
            ])
        await withDiscardingTaskGroup { group in
            for target in configuration.targets {
                group.addTask { await self.loop(target) }
            }
        }
    }

    /// Probes `target` as soon as the identity sources have synced (or one interval has passed),
    /// then every interval (measured start to start), until shutdown.
    func loop(_ target: ProbeTarget) async {
        await cancelWhenGracefulShutdown {
            let interval = self.configuration.interval
            let readyBy = ContinuousClock.now + interval
            while !self.identities.isReady(), ContinuousClock.now < readyBy {
                do { try await Task.sleep(for: .milliseconds(100)) } catch { return }
            }
            var next = ContinuousClock.now
            while !Task.isCancelled {
                await self.probe(target)
                next += interval
                // After a long stall, do not fire a burst of catch-up probes.
                if next < ContinuousClock.now { next = ContinuousClock.now + interval }
                do { try await Task.sleep(until: next, clock: .continuous) } catch { return }
            }
        }
    }

    /// Probes one target now and publishes the result.
    @discardableResult
    public func probe(_ target: ProbeTarget) async -> ProbeResult {
        let result = await prober.probe(target, timeout: configuration.timeout.seconds, identities: identities)
            .keepingEarliestStaleness(from: contributor.result(target: target.name))
        if let failure = result.failure {
            registry.increment(MetricCatalog.probeFailures, [target.name, failure.rawValue])
        }
        let previous = contributor.replace(result)
        if let failure = result.failure {
            board?.failed(
                target.name, reason: failure.rawValue, hint: nil, message: "probe of \(target.address) failed: \(failure.rawValue)",
                down: true, now: clock())
        } else {
            board?.delivered(target.name, what: "probe of \(target.address)", now: clock())
        }
        log(result, previous: previous, target: target)
        return result
    }

    /// Logs changes of state (failure reason, staleness), not every probe.
    private func log(_ result: ProbeResult, previous: ProbeResult?, target: ProbeTarget) {
        var metadata: Logger.Metadata = ["target": "\(target.name)", "address": "\(target.address)"]
        if let served = result.served {
            metadata["spiffe_id"] = "\(served.spiffeID)"
            metadata["serial"] = "\(served.leaf.serialNumber)"
        }
        if let failure = result.failure {
            metadata["reason"] = "\(failure.rawValue)"
            metadata["detail"] = "\(result.detail)"
            let level: Logger.Level = previous?.failure == failure ? .debug : .warning
            logger.log(level: level, "probe failed", metadata: metadata)
        } else if previous == nil || previous?.failure != nil {
            logger.info("probe succeeded", metadata: metadata)
        }
        if case .stale(let since) = result.freshness {
            metadata["superseded_at"] = "\(since)"
            let wasStale: Bool
            if case .stale = previous?.freshness { wasStale = true } else { wasStale = false }
            logger.log(
                level: wasStale ? .debug : .warning, "target serves a superseded SVID (missed reload?)",
                metadata: metadata)
        }
    }
}

/// Renders the latest probe result of every target at scrape time.
public final class ProbeResultsContributor: ScrapeContributor {
    private let results = Mutex<[String: ProbeResult]>([:])

    public init() {}

    /// Stores a target's newest result and returns the one it replaces.
    @discardableResult
    public func replace(_ result: ProbeResult) -> ProbeResult? {
        results.withLock { $0.updateValue(result, forKey: result.target) }
    }

    /// The latest result of `target`, if it has been probed.
    public func result(target: String) -> ProbeResult? {
        results.withLock { $0[target] }
    }

    public func collect(now: Date, into builder: inout ScrapeBuilder) async {
        let snapshot = results.withLock { Array($0.values) }
        ProbeMetrics.collect(snapshot, now: now, into: &builder)
    }
}
