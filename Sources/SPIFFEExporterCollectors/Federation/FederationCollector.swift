import Foundation
import Logging
import NIOCore
import NIOPosix
import SPIFFEExporterCore
import ServiceLifecycle

/// Settings of one federation bundle endpoint collector.
public struct FederationCollectorConfiguration: Sendable, Equatable {
    public var endpoint: FederationEndpointConfiguration
    /// `--collector.federation.interval`: replaces the served refresh hint (still bounded).
    public var interval: Duration?
    /// Deadline of one fetch: connect, handshake, request and body.
    public var timeout: Duration
    public var maximumBodySize: Int

    public static let defaultTimeout: Duration = .seconds(10)
    /// 4 MiB: SPIRE's bundles are kilobytes; a larger answer is not a bundle.
    public static let defaultMaximumBodySize = 4 << 20

    public init(
        endpoint: FederationEndpointConfiguration, interval: Duration? = nil, timeout: Duration = defaultTimeout,
        maximumBodySize: Int = defaultMaximumBodySize
    ) {
        self.endpoint = endpoint
        self.interval = interval
        self.timeout = timeout
        self.maximumBodySize = maximumBodySize
    }
}

/// Fetches one trust domain's bundle from its federation bundle endpoint (SPIFFE Federation
/// spec) at the served refresh hint, bounded to 30 s..1 h, or the configured interval. The last
/// good bundle is a consistency channel (`source` = the endpoint's name) and feeds the
/// `spiffe_federation_bundle_*` gauges; every failed fetch is counted by reason and keeps the
/// previous bundle, as SPIRE does.
public struct FederationCollector<C: Clock>: Service where C.Duration == Duration {
    let configuration: FederationCollectorConfiguration
    let context: CollectorContext
    let loop: WatchLoop<C>
    private let fetcher: FederationBundleFetcher
    private let state: SharedValue<FederationEndpointState>
    /// The last failure reason logged, to log a repeated one quietly.
    private let logged = SharedValue<FederationBundleFailureReason?>(nil)

    public var source: String { configuration.endpoint.name }

    public init(
        configuration: FederationCollectorConfiguration, context: CollectorContext, clock: C,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.context = context
        // Failures are retried at the state's own backoff (bounded by the refresh interval): the
        // fetch never throws, so the loop's backoff is not used.
        loop = WatchLoop(
            clock: clock, backoff: Backoff(initial: .seconds(30), multiplier: 2, cap: .seconds(3600)),
            firstResponseTimeout: nil,
            classifier: FailureClassifier(address: .unix(path: "/"), permissionDenied: .permissionDenied))
        let store = context.store
        fetcher = FederationBundleFetcher(
            group: group, maximumBodySize: configuration.maximumBodySize, connectTimeout: configuration.timeout,
            heldBundle: { store.heldTrustBundle(trustDomain: $0) }, now: context.now)
        let endpoint = configuration.endpoint
        // A reload that keeps the endpoint keeps its last good bundle and counts.
        var initial = FederationEndpointState(source: endpoint.name, trustDomain: endpoint.trustDomain)
        if let kept = context.store.federationState(source: endpoint.name), kept.trustDomain == endpoint.trustDomain {
            initial = kept
        }
        state = SharedValue(initial)
        context.store.register(source: endpoint.name)
        context.store.replaceFederation(source: endpoint.name, state: initial)
        context.board.register(endpoint.name, kind: .federation, now: context.now())
        context.registry.preZero(
            MetricCatalog.federationFailures, FederationBundleFailureReason.allCases.map { [endpoint.name, $0.rawValue] })
    }

    public func run() async throws {
        let endpoint = configuration.endpoint
        context.logger.info(
            "starting federation bundle endpoint collector",
            metadata: [
                "source": "\(endpoint.name)", "trust_domain": "\(endpoint.trustDomain)", "url": "\(endpoint.url)",
                "profile": "\(endpoint.profile.rawValue)",
            ])
        await cancelWhenGracefulShutdown {
            await waitForHeldBundle()
            await loop.poll(interval: .seconds(FederationBundleDocument.maximumRefresh)) {
                .seconds(await refresh())
            } ended: { _, _ in }
        }
    }

    /// Longest wait for the bundle an `https_spiffe` endpoint is verified against.
    static var heldBundleWait: Int { 30 }

    /// `https_spiffe` authenticates the endpoint with a bundle other sources deliver: at start the
    /// first fetch waits (on the loop's clock, at most ``heldBundleWait`` seconds) until one holds
    /// it or every source has synced, so that racing the Workload API is not counted as
    /// `untrusted` and followed by a backoff.
    func waitForHeldBundle() async {
        guard configuration.endpoint.profile == .httpsSPIFFE, let id = configuration.endpoint.endpointSPIFFEID else {
            return
        }
        for _ in 0..<Self.heldBundleWait {
            if context.store.heldTrustBundle(trustDomain: id.trustDomain) != nil || context.board.unsynced().isEmpty {
                return
            }
            do { try await loop.clock.sleep(for: .seconds(1)) } catch { return }
        }
    }

    /// One fetch, recorded; returns the seconds to the next.
    public func refresh() async -> TimeInterval {
        let result = await fetch()
        return record(result, now: context.now())
    }

    /// One fetch within the deadline (on the injected clock), parsed and validated.
    public func fetch() async -> Result<FederationBundleDocument, FederationBundleFailure> {
        let endpoint = configuration.endpoint
        let fetcher = self.fetcher
        let clock = loop.clock
        let timeout = configuration.timeout
        let body = await withTaskGroup(of: Result<[UInt8], FederationBundleFailure>?.self) { group in
            group.addTask { await fetcher.fetch(endpoint) }
            group.addTask {
                do {
                    try await clock.sleep(for: timeout)
                } catch {
                    return nil
                }
                return .failure(.init(.timeout, "no complete response within \(timeout)"))
            }
            defer { group.cancelAll() }
            while let result = await group.next() {
                if let result { return result }
            }
            return .failure(.init(.timeout, "cancelled"))
        }
        return body.flatMap { FederationBundleDocument.parse($0, trustDomain: endpoint.trustDomain) }
    }

    /// Applies one fetch: state and store, failure counter, board, logs. Returns the delay to the
    /// next fetch.
    @discardableResult
    public func record(_ result: Result<FederationBundleDocument, FederationBundleFailure>, now: Date) -> TimeInterval {
        let source = self.source
        let override = configuration.interval?.seconds
        let jitter = loop.jitter()
        let (previous, delay, current) = state.update { s -> (FederationBundleDocument?, TimeInterval, FederationEndpointState) in
            let previous = s.document
            let delay = s.record(result, at: now, override: override, jitter: jitter)
            return (previous, delay, s)
        }
        context.store.replaceFederation(source: source, state: current)
        switch result {
        case .success(let document):
            context.board.delivered(source, what: "federation bundle endpoint", now: now)
            let recovered = logged.update { value -> FederationBundleFailureReason? in
                defer { value = nil }
                return value
            }
            if let recovered {
                context.logger.info(
                    "federation bundle endpoint serving again", metadata: ["source": "\(source)", "after": "\(recovered.rawValue)"])
            }
            if previous?.roots.fingerprint != document.roots.fingerprint || previous?.jwtKeyIDs != document.jwtKeyIDs {
                context.logger.info(
                    "federation bundle updated",
                    metadata: [
                        "source": "\(source)", "trust_domain": "\(current.trustDomain)",
                        "sequence": "\(document.sequence.map(String.init) ?? "-")", "roots": "\(document.roots.certificates.count)",
                        "jwt_keys": "\(document.jwtKeyIDs.count)",
                    ])
            }
        case .failure(let failure):
            context.registry.increment(MetricCatalog.federationFailures, [source, failure.reason.rawValue])
            context.board.failed(
                source, reason: failure.reason.rawValue, hint: failure.reason.hint,
                message: "federation bundle fetch failed: \(failure.reason.rawValue)", down: true, now: now)
            // An endpoint that failed keeps its last good bundle: it still answers for the trust domain.
            if previous != nil { context.board.markSynced(source) }
            let repeated = logged.update { value -> Bool in
                defer { value = failure.reason }
                return value == failure.reason
            }
            let metadata: Logger.Metadata = [
                "source": "\(source)", "reason": "\(failure.reason.rawValue)", "detail": "\(failure.detail)",
                "hint": "\(failure.reason.hint)", "retry_in_seconds": "\(Int(delay))",
            ]
            if repeated {
                context.logger.debug("federation bundle fetch failed again", metadata: metadata)
            } else {
                context.logger.warning("federation bundle fetch failed", metadata: metadata)
            }
        }
        return delay
    }
}

extension FederationCollector where C == ContinuousClock {
    public init(configuration: FederationCollectorConfiguration, context: CollectorContext) {
        self.init(configuration: configuration, context: context, clock: ContinuousClock())
    }
}
