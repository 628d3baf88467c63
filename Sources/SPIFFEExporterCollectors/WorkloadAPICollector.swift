import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SPIFFEExporterCore
import SPIFFEWorkloadAPI
import ServiceLifecycle
import Synchronization

/// Settings of one Workload API source.
public struct WorkloadAPICollectorConfiguration: Sendable {
    public var source: String
    public var address: WorkloadEndpointAddress
    /// Deadline for the first response of a stream.
    public var firstResponseTimeout: Duration
    public var backoff: Backoff
    /// Whether to also open FetchX509Bundles (all bundles, federated included).
    public var fetchBundles: Bool

    public init(
        source: String = "workload_api",
        address: WorkloadEndpointAddress,
        firstResponseTimeout: Duration = .seconds(10),
        backoff: Backoff = Backoff(initial: 1, multiplier: 2, cap: 30),
        fetchBundles: Bool = true
    ) {
        self.source = source
        self.address = address
        self.firstResponseTimeout = firstResponseTimeout
        self.backoff = backoff
        self.fetchBundles = fetchBundles
    }
}

/// Streams FetchX509SVID and FetchX509Bundles from a SPIFFE Workload API, keeps the identity store
/// current and counts every call, failure and latency. Each stream reconnects on its own with
/// exponential backoff (capped, jittered, reset after a message) until shutdown.
public struct WorkloadAPICollector: Service {
    public enum RPC: String, Sendable, CaseIterable {
        case fetchX509SVID = "FetchX509SVID"
        case fetchX509Bundles = "FetchX509Bundles"
    }

    let configuration: WorkloadAPICollectorConfiguration
    let store: IdentityStore
    let registry: MetricsRegistry
    let logger: Logger
    let clock: @Sendable () -> Date

    public init(
        configuration: WorkloadAPICollectorConfiguration,
        store: IdentityStore,
        registry: MetricsRegistry,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.store = store
        self.registry = registry
        self.logger = logger
        self.clock = clock
        Self.preZero(source: configuration.source, registry: registry, rpcs: configuration.fetchBundles ? RPC.allCases : [.fetchX509SVID])
        store.register(source: configuration.source)
    }

    static func preZero(source: String, registry: MetricsRegistry, rpcs: [RPC]) {
        registry.preZero(
            MetricCatalog.workloadAPIConnectionFailures, ConnectionFailureReason.allCases.map { [source, $0.rawValue] })
        registry.set(MetricCatalog.workloadAPIUp, [source], to: 0)
        for rpc in rpcs {
            registry.preZero(MetricCatalog.workloadAPIUpdates, [[source, rpc.rawValue]])
            registry.preZero(MetricCatalog.workloadAPIRequestDuration, [[source, rpc.rawValue]])
        }
    }

    public func run() async throws {
        logger.info("starting Workload API collector", metadata: ["source": "\(configuration.source)", "address": "\(configuration.address)"])
        await withDiscardingTaskGroup { group in
            group.addTask { await self.streamLoop(.fetchX509SVID) }
            if configuration.fetchBundles {
                group.addTask { await self.streamLoop(.fetchX509Bundles) }
            }
        }
    }

    /// One long-lived stream: open, consume, classify the end, back off, repeat until cancelled.
    func streamLoop(_ rpc: RPC) async {
        await cancelWhenGracefulShutdown {
            var backoff = self.configuration.backoff
            while !Task.isCancelled {
                let outcome = await self.openStreamOnce(rpc)
                if Task.isCancelled { break }
                self.record(rpc, outcome)
                if outcome.messages > 0 { backoff.reset() }
                var delay = backoff.next(jitter: Double.random(in: 0..<1))
                // A missing security header is a client bug: retrying fast cannot help.
                if outcome.reason == .invalidArgument { delay = max(delay, backoff.cap) }
                self.logger.debug(
                    "stream ended; reconnecting",
                    metadata: [
                        "source": "\(self.configuration.source)", "rpc": "\(rpc.rawValue)",
                        "code": "\(outcome.code)", "reason": "\(outcome.reason?.rawValue ?? "-")",
                        "retry_in_seconds": "\(String(format: "%.2f", delay))",
                    ])
                do {
                    try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                } catch {
                    break
                }
            }
        }
    }

    struct StreamOutcome: Sendable {
        var code: String
        var reason: ConnectionFailureReason?
        var messages: Int
        var detail: String
    }

    private func record(_ rpc: RPC, _ outcome: StreamOutcome) {
        let source = configuration.source
        registry.increment(MetricCatalog.workloadAPIRequests, [source, rpc.rawValue, outcome.code])
        if let reason = outcome.reason {
            registry.increment(MetricCatalog.workloadAPIConnectionFailures, [source, reason.rawValue])
        }
        if rpc == .fetchX509SVID {
            registry.set(MetricCatalog.workloadAPIUp, [source], to: 0)
        }
        let level: Logger.Level = outcome.messages > 0 ? .info : .warning
        logger.log(
            level: level, "Workload API stream ended",
            metadata: [
                "source": "\(source)", "rpc": "\(rpc.rawValue)", "code": "\(outcome.code)",
                "reason": "\(outcome.reason?.rawValue ?? "none")", "messages": "\(outcome.messages)",
                "detail": "\(outcome.detail)",
            ])
    }

    private func makeTransport() throws -> HTTP2ClientTransport.Posix {
        let target: any ResolvableTarget
        switch configuration.address {
        case .unix(let path): target = .unixDomainSocket(path: path)
        case .tcp(let host, let port):
            target = host.contains(":") ? .ipv6(address: host, port: port) : .ipv4(address: host, port: port)
        }
        var config = HTTP2ClientTransport.Posix.Config.defaults
        // SPIRE drops clients that ping more often than every 5 minutes; leave keepalive off.
        config.connection.keepalive = nil
        // Many SVIDs plus federated bundles can exceed the 4 MiB default.
        config.http2.maxFrameSize = 1 << 14
        return try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext, config: config)
    }

    private func callOptions() -> CallOptions {
        var options = CallOptions.defaults
        // Fail fast when the agent is absent instead of queueing until it appears.
        options.waitForReady = false
        options.maxResponseMessageBytes = 64 * 1024 * 1024
        return options
    }

    static let securityHeader: Metadata = ["workload.spiffe.io": "true"]

    private func openStreamOnce(_ rpc: RPC) async -> StreamOutcome {
        let progress = StreamProgress()
        let started = ContinuousClock.now
        let timeout = configuration.firstResponseTimeout
        let onFirstMessage: @Sendable () -> Void = {
            if !progress.firstArrived.exchange(true, ordering: .acquiringAndReleasing) {
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                self.registry.observe(
                    MetricCatalog.workloadAPIRequestDuration, [self.configuration.source, rpc.rawValue], seconds)
            }
            progress.messages.add(1, ordering: .relaxed)
        }

        do {
            let transport = try makeTransport()
            try await withGRPCClient(transport: transport) { client in
                let api = SpiffeWorkloadAPI.Client(wrapping: client)
                enum Finished: Sendable { case stream, timer }
                try await withThrowingTaskGroup(of: Finished.self) { group in
                    group.addTask {
                        switch rpc {
                        case .fetchX509SVID:
                            try await api.fetchX509SVID(
                                X509SVIDRequest(), metadata: Self.securityHeader, options: self.callOptions()
                            ) { response in
                                for try await message in response.messages {
                                    await self.handle(message)
                                    onFirstMessage()
                                }
                            }
                        case .fetchX509Bundles:
                            try await api.fetchX509Bundles(
                                X509BundlesRequest(), metadata: Self.securityHeader, options: self.callOptions()
                            ) { response in
                                for try await message in response.messages {
                                    self.handle(message)
                                    onFirstMessage()
                                }
                            }
                        }
                        return .stream
                    }
                    group.addTask {
                        try await Task.sleep(for: timeout)
                        if !progress.firstArrived.load(ordering: .acquiring) { throw FirstResponseTimeout() }
                        return .timer
                    }
                    if try await group.next() == .timer {
                        _ = try await group.next()
                    }
                    group.cancelAll()
                }
                client.beginGracefulShutdown()
            }
            // The server ended the stream with OK: SPIRE never does that on purpose.
            return StreamOutcome(
                code: "OK", reason: .streamClosed, messages: progress.messages.load(ordering: .relaxed),
                detail: "stream ended by the server")
        } catch is FirstResponseTimeout {
            return StreamOutcome(
                code: "DeadlineExceeded", reason: .timeout, messages: 0,
                detail: "no first response within \(timeout)")
        } catch let error as RPCError {
            return classify(error, messages: progress.messages.load(ordering: .relaxed))
        } catch {
            if Task.isCancelled {
                return StreamOutcome(code: "Canceled", reason: nil, messages: progress.messages.load(ordering: .relaxed), detail: "shutdown")
            }
            return StreamOutcome(
                code: "Unknown", reason: .other, messages: progress.messages.load(ordering: .relaxed), detail: "\(error)")
        }
    }

    private func classify(_ error: RPCError, messages: Int) -> StreamOutcome {
        let code = Self.codeName(error.code)
        let detail = error.message
        let reason: ConnectionFailureReason
        switch error.code {
        case .permissionDenied:
            reason = .noIdentity
            // The agent has no identity for us: whatever we held is withdrawn.
            store.clearSVIDs(source: configuration.source, now: clock())
            store.markSynced(source: configuration.source)
        case .invalidArgument where detail.hasPrefix("Can't deserialize"):
            reason = .malformedResponse
        case .invalidArgument:
            reason = .invalidArgument
        case .unavailable where messages > 0, .unknown where messages > 0:
            reason = .streamClosed
        case .unavailable:
            if case .unix(let path) = configuration.address {
                reason = SocketDiagnosis.diagnose(path: path)
            } else {
                reason = .unavailable
            }
        case .deadlineExceeded:
            reason = .timeout
        case .cancelled:
            reason = messages > 0 ? .streamClosed : .other
        default:
            reason = .other
        }
        return StreamOutcome(code: code, reason: reason, messages: messages, detail: detail)
    }

    static func codeName(_ code: RPCError.Code) -> String {
        switch code {
        case .cancelled: "Canceled"
        case .unknown: "Unknown"
        case .invalidArgument: "InvalidArgument"
        case .deadlineExceeded: "DeadlineExceeded"
        case .notFound: "NotFound"
        case .alreadyExists: "AlreadyExists"
        case .permissionDenied: "PermissionDenied"
        case .resourceExhausted: "ResourceExhausted"
        case .failedPrecondition: "FailedPrecondition"
        case .aborted: "Aborted"
        case .outOfRange: "OutOfRange"
        case .unimplemented: "Unimplemented"
        case .internalError: "Internal"
        case .unavailable: "Unavailable"
        case .dataLoss: "DataLoss"
        case .unauthenticated: "Unauthenticated"
        default: "Unknown"
        }
    }

    // MARK: Messages

    func handle(_ message: X509SVIDResponse) async {
        let now = clock()
        let source = configuration.source
        let (entries, bundles, malformed) = WorkloadAPIMessages.decode(message)
        if malformed.isEmpty == false {
            registry.increment(MetricCatalog.workloadAPIConnectionFailures, [source, ConnectionFailureReason.malformedResponse.rawValue])
            logger.warning("malformed X509SVIDResponse", metadata: ["source": "\(source)", "problems": "\(malformed.joined(separator: "; "))"])
        }
        registry.increment(MetricCatalog.workloadAPIUpdates, [source, RPC.fetchX509SVID.rawValue])
        registry.set(MetricCatalog.workloadAPILastUpdate, [source, RPC.fetchX509SVID.rawValue], to: now.timeIntervalSince1970)
        // A response without any SVID breaks the protocol (MUST hold ≥1): keep the previous state.
        guard !entries.isEmpty else { return }
        var reports: [IdentityStore.Entry] = []
        for (material, bundleSet) in entries {
            let report = await X509SVIDAnalyzer.analyze(material, bundles: bundleSet, now: now)
            reports.append(IdentityStore.Entry(material: material, bundles: bundleSet, report: report))
        }
        store.replaceSVIDs(source: source, entries: Self.dedupe(reports), bundles: bundles, now: now)
        registry.set(MetricCatalog.workloadAPIUp, [source], to: 1)
        logger.debug("X509SVIDResponse applied", metadata: ["source": "\(source)", "svids": "\(reports.count)"])
    }

    func handle(_ message: X509BundlesResponse) {
        let now = clock()
        let source = configuration.source
        let (bundles, malformed) = WorkloadAPIMessages.decode(message)
        if !malformed.isEmpty {
            registry.increment(MetricCatalog.workloadAPIConnectionFailures, [source, ConnectionFailureReason.malformedResponse.rawValue])
            logger.warning("malformed X509BundlesResponse", metadata: ["source": "\(source)", "problems": "\(malformed.joined(separator: "; "))"])
        }
        registry.increment(MetricCatalog.workloadAPIUpdates, [source, RPC.fetchX509Bundles.rawValue])
        registry.set(MetricCatalog.workloadAPILastUpdate, [source, RPC.fetchX509Bundles.rawValue], to: now.timeIntervalSince1970)
        store.replaceBundles(source: source, bundles: bundles)
    }

    /// Several SVIDs may share one SPIFFE ID (different hints); the first is the one exported, as
    /// go-spiffe keeps the first of repeated hints.
    static func dedupe(_ entries: [IdentityStore.Entry]) -> [IdentityStore.Entry] {
        var seen: Set<String> = []
        return entries.filter { seen.insert($0.report.spiffeID).inserted }
    }
}

struct FirstResponseTimeout: Error {}

private final class StreamProgress: Sendable {
    let firstArrived = Atomic<Bool>(false)
    let messages = Atomic<Int>(0)
}
