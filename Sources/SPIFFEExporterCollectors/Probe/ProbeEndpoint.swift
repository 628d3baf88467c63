import Foundation
import Logging
import NIOCore
import NIOPosix
import SPIFFEExporterCore
import Synchronization

/// `GET /probe?target=host:port[&module=NAME]`: probes the target now, with the module's options,
/// and answers with that probe's series only (blackbox_exporter's multi-target pattern, so
/// Prometheus service discovery decides what is probed). Nothing is kept between requests; the
/// exporter's own identities (client SVID, bundles, newest SVIDs) are those of `/metrics`.
public final class ProbeEndpoint: ProbeEndpointProvider {
    private struct State: Sendable {
        var settings: ProbeEndpointSettings
        var identities: any ProbeIdentitySource
        var inFlight = 0
    }

    private let state: Mutex<State>
    private let registry: MetricsRegistry
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let prober: TLSProber

    public init(
        settings: ProbeEndpointSettings, identities: any ProbeIdentitySource, registry: MetricsRegistry, logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() },
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        state = Mutex(State(settings: settings, identities: identities))
        self.registry = registry
        self.logger = logger
        self.clock = clock
        prober = TLSProber(group: eventLoopGroup, clock: clock)
        registry.preZero(MetricCatalog.probeEndpointRequests, ProbeRequestOutcome.allCases.map { [$0.rawValue] })
    }

    /// A reload's modules, allow-list and sources; probes already running finish as they began.
    public func update(settings: ProbeEndpointSettings, identities: any ProbeIdentitySource) {
        state.withLock {
            $0.settings = settings
            $0.identities = identities
        }
    }

    public func answer(
        target: String?, module: String?, scrapeTimeoutHeader: String?, format: ExpositionFormat
    ) async -> ProbeEndpointAnswer {
        let (settings, identities) = state.withLock { ($0.settings, $0.identities) }
        let request: ProbeRequest
        switch ProbeRequest.resolve(
            target: target, module: module, scrapeTimeoutHeader: scrapeTimeoutHeader, settings: settings)
        {
        case .success(let resolved):
            request = resolved
        case .failure(let rejection):
            registry.increment(MetricCatalog.probeEndpointRequests, [rejection.outcome.rawValue])
            logger.debug(
                "/probe request rejected",
                metadata: ["outcome": "\(rejection.outcome.rawValue)", "detail": "\(rejection.message)"])
            return .error(rejection.outcome == .notAllowed ? 403 : 400, rejection.message)
        }
        guard acquire(limit: settings.maxConcurrent) else {
            registry.increment(MetricCatalog.probeEndpointRequests, [ProbeRequestOutcome.tooMany.rawValue])
            return .error(503, "Limit of concurrent probes reached (\(settings.maxConcurrent)), try again later.")
        }
        defer { release() }
        registry.increment(MetricCatalog.probeEndpointRequests, [ProbeRequestOutcome.probed.rawValue])
        let result = await prober.probe(request.target, timeout: request.timeout, identities: identities)
        if let failure = result.failure {
            logger.debug(
                "/probe failed",
                metadata: [
                    "target": "\(request.target.address)", "module": "\(request.moduleName)",
                    "reason": "\(failure.rawValue)", "detail": "\(result.detail)",
                ])
        }
        var builder = ScrapeBuilder()
        ProbeMetrics.collect([result], now: clock(), into: &builder)
        return ProbeEndpointAnswer(status: 200, contentType: format.contentType, body: builder.render(format))
    }

    /// Probes running now.
    public var inFlight: Int { state.withLock { $0.inFlight } }

    private func acquire(limit: Int) -> Bool {
        state.withLock { s in
            guard limit <= 0 || s.inFlight < limit else { return false }
            s.inFlight += 1
            return true
        }
    }

    private func release() {
        state.withLock { $0.inFlight = max(0, $0.inFlight - 1) }
    }
}
