import Foundation
import Logging
import SPIFFEExporterCore
import ServiceLifecycle
import Synchronization

/// Settings of one Envoy source.
public struct EnvoyCollectorConfiguration: Sendable, Equatable {
    /// The `source` label.
    public var source: String
    public var endpoint: EnvoyAdminEndpoint
    public var interval: Duration
    /// Deadline of one `GET /certs`, connect included.
    public var timeout: Duration

    public init(source: String, endpoint: EnvoyAdminEndpoint, interval: Duration, timeout: Duration) {
        self.source = source
        self.endpoint = endpoint
        self.interval = interval
        self.timeout = timeout
    }
}

/// Reads Envoy's admin `GET /certs` every interval: every certificate Envoy holds, listener and
/// upstream cluster contexts alike, so a proxy that missed a rotation (a static certificate, a
/// reload that never happened) shows even where no probe can see it (the client certificate it
/// presents upstream). `spiffe_envoy_up` and the failure counter go to the registry; the
/// per-identity series are rendered at scrape time by ``contributor`` from the last read, whose
/// SVIDs were compared at read time with the newest the store knew then, as the probe compares
/// at probe time (a rotation the store sees between two reads is no verdict on Envoy yet).
/// Envoy's SVIDs are not put into the store: they are copies of identities other sources own,
/// and would otherwise be "the newest known" themselves.
public struct EnvoyCollector<C: Clock>: Service where C.Duration == Duration {
    public let configuration: EnvoyCollectorConfiguration
    /// Renders this source's per-identity series; add it to the exporter's contributors.
    public let contributor: EnvoyCertsContributor
    let context: CollectorContext
    let loop: WatchLoop<C>
    let client: EnvoyAdminClient
    private let lastFailure = SharedValue<EnvoyFailureReason?>(nil)
    /// SPIFFE IDs last logged as stale, so each is logged once per change.
    private let loggedStale = SharedValue<Set<String>>([])

    public init(
        configuration: EnvoyCollectorConfiguration, context: CollectorContext, clock: C,
        client: EnvoyAdminClient = EnvoyAdminClient()
    ) {
        self.configuration = configuration
        self.context = context
        self.client = client
        contributor = EnvoyCertsContributor(source: configuration.source, store: context.store)
        // A failed read is retried at the interval, like a good one: the gauges are the signal.
        loop = WatchLoop(
            clock: clock, backoff: Backoff(initial: configuration.interval, multiplier: 1, cap: configuration.interval),
            firstResponseTimeout: nil,
            classifier: FailureClassifier(address: .unix(path: "/"), permissionDenied: .permissionDenied))
        let source = configuration.source
        context.board.register(source, kind: .envoy, now: context.now())
        context.registry.preZero(MetricCatalog.envoyFailures, EnvoyFailureReason.allCases.map { [source, $0.rawValue] })
        context.registry.set(MetricCatalog.envoyUp, [source], to: 0)
    }

    public func run() async throws {
        context.logger.info(
            "starting Envoy collector",
            metadata: ["source": "\(configuration.source)", "admin": "\(configuration.endpoint)"])
        await cancelWhenGracefulShutdown {
            await loop.poll(interval: configuration.interval) {
                let result = await read()
                if !Task.isCancelled { record(result, now: context.now()) }
                return nil
            } ended: { _, _ in }
        }
    }

    /// One read of `/certs`, decoded.
    public func read() async -> Result<EnvoyCertificates, EnvoyCertificates.Failure> {
        let body = await client.fetchCerts(configuration.endpoint, timeout: configuration.timeout)
        let now = context.now()
        return body.flatMap { EnvoyCertificates.parse($0, now: now) }
    }

    /// Applies one read: metrics, contributor, board, logs.
    public func record(_ result: Result<EnvoyCertificates, EnvoyCertificates.Failure>, now: Date) {
        let source = configuration.source
        let registry = context.registry
        switch result {
        case .success(let certificates):
            registry.set(MetricCatalog.envoyUp, [source], to: 1)
            let reading = contributor.compare(certificates)
            contributor.replace(reading)
            context.board.delivered(source, what: "Envoy /certs", now: now)
            if let previous = lastFailure.update({ s -> EnvoyFailureReason? in
                defer { s = nil }
                return s
            }) {
                context.logger.info(
                    "Envoy admin readable again", metadata: ["source": "\(source)", "after": "\(previous.rawValue)"])
            }
            logStaleness(reading)
        case .failure(let failure):
            registry.increment(MetricCatalog.envoyFailures, [source, failure.reason.rawValue])
            registry.set(MetricCatalog.envoyUp, [source], to: 0)
            // What a proxy that cannot be asked holds is unknown: its series stop.
            contributor.replace(nil)
            context.board.failed(
                source, reason: failure.reason.rawValue, hint: failure.reason.hint,
                message: "Envoy /certs read failed: \(failure.reason.rawValue)", down: true, now: now)
            let previous = lastFailure.update { s -> EnvoyFailureReason? in
                defer { s = failure.reason }
                return s
            }
            context.logger.log(
                level: previous == failure.reason ? .debug : .warning, "Envoy admin read failed",
                metadata: [
                    "source": "\(source)", "admin": "\(configuration.endpoint)", "reason": "\(failure.reason.rawValue)",
                    "detail": "\(failure.detail)", "hint": "\(failure.reason.hint)",
                ])
        }
    }

    /// Warns once when Envoy starts holding a superseded SVID for an ID, and when it stops.
    private func logStaleness(_ reading: EnvoyReading) {
        var stale: Set<String> = []
        for (id, freshness) in reading.freshness {
            if case .stale = freshness { stale.insert(id) }
        }
        let before = loggedStale.update { s -> Set<String> in
            defer { s = stale }
            return s
        }
        for id in stale.subtracting(before).sorted() {
            context.logger.warning(
                "Envoy holds a superseded SVID (missed reload or static certificate?)",
                metadata: ["source": "\(configuration.source)", "spiffe_id": "\(id)"])
        }
        for id in before.subtracting(stale).sorted() {
            context.logger.info(
                "Envoy holds the newest SVID again", metadata: ["source": "\(configuration.source)", "spiffe_id": "\(id)"])
        }
    }
}

extension EnvoyCollector where C == ContinuousClock {
    public init(configuration: EnvoyCollectorConfiguration, context: CollectorContext) {
        self.init(configuration: configuration, context: context, clock: ContinuousClock())
    }
}

/// The last good `/certs` read of one Envoy source, each SPIFFE ID compared with the newest SVID
/// the store knew at read time; rendered at scrape time.
public final class EnvoyCertsContributor: ScrapeContributor {
    public let source: String
    let store: IdentityStore
    private let latest = Mutex<EnvoyReading?>(nil)

    init(source: String, store: IdentityStore) {
        self.source = source
        self.store = store
    }

    /// `certificates` with each SPIFFE ID's verdict against the newest SVID the store knows now.
    func compare(_ certificates: EnvoyCertificates) -> EnvoyReading {
        var freshness: [String: ServedSVIDFreshness] = [:]
        for svid in certificates.svids {
            freshness[svid.spiffeID] = svid.freshness(newest: store.newestSVID(spiffeID: svid.spiffeID)?.leaf)
        }
        return EnvoyReading(source: source, certificates: certificates, freshness: freshness)
    }

    func replace(_ reading: EnvoyReading?) {
        latest.withLock { $0 = reading }
    }

    /// The reading as the next scrape renders it; `nil` before the first good read or after a failed one.
    public func reading() -> EnvoyReading? {
        latest.withLock { $0 }
    }

    public func collect(now: Date, into builder: inout ScrapeBuilder) async {
        EnvoyMetrics.collect(reading().map { [$0] } ?? [], into: &builder)
    }
}
