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
    /// Audience sets to fetch JWT-SVIDs for; empty disables JWT-SVID and JWT bundle collection.
    public var jwtAudiences: [[String]]
    /// How often to fetch each audience set's JWT-SVID (sooner when the token passes half its life).
    public var jwtInterval: Duration

    public init(
        source: String = "workload_api",
        address: WorkloadEndpointAddress,
        firstResponseTimeout: Duration = .seconds(10),
        backoff: Backoff = Backoff(initial: 1, multiplier: 2, cap: 30),
        fetchBundles: Bool = true,
        jwtAudiences: [[String]] = [],
        jwtInterval: Duration = .seconds(60)
    ) {
        self.jwtAudiences = jwtAudiences.map { Array(Set($0)).sorted() }.filter { !$0.isEmpty }
        self.jwtInterval = jwtInterval
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
        case fetchJWTSVID = "FetchJWTSVID"
        case fetchJWTBundles = "FetchJWTBundles"
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
        var rpcs: [RPC] = [.fetchX509SVID]
        if configuration.fetchBundles { rpcs.append(.fetchX509Bundles) }
        if !configuration.jwtAudiences.isEmpty { rpcs += [.fetchJWTSVID, .fetchJWTBundles] }
        Self.preZero(source: configuration.source, registry: registry, rpcs: rpcs)
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
            if !configuration.jwtAudiences.isEmpty {
                group.addTask { await self.streamLoop(.fetchJWTBundles) }
                for audiences in configuration.jwtAudiences {
                    group.addTask { await self.jwtLoop(audiences) }
                }
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
        if let reason = outcome.reason {
            store.events.record(
                ExporterEvent(
                    time: clock(), source: source, kind: "failure",
                    message: "\(rpc.rawValue) ended: \(outcome.code), \(reason.rawValue)"))
            store.setLastFailure(source: source, reason: reason.rawValue)
        }
        // InvalidArgument means this client is wrong (facts §8.10), not the agent: say it loudest.
        let level: Logger.Level =
            outcome.reason == .invalidArgument ? .error : outcome.messages > 0 ? .info : .warning
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
                                    // Load latency is time to the first response, before analysis.
                                    onFirstMessage()
                                    await self.handle(message)
                                }
                            }
                        case .fetchX509Bundles:
                            try await api.fetchX509Bundles(
                                X509BundlesRequest(), metadata: Self.securityHeader, options: self.callOptions()
                            ) { response in
                                for try await message in response.messages {
                                    onFirstMessage()
                                    self.handle(message)
                                }
                            }
                        case .fetchJWTBundles:
                            try await api.fetchJWTBundles(
                                JWTBundlesRequest(), metadata: Self.securityHeader, options: self.callOptions()
                            ) { response in
                                for try await message in response.messages {
                                    onFirstMessage()
                                    self.handle(message)
                                }
                            }
                        case .fetchJWTSVID:
                            // Unary: handled by jwtLoop, never opened as a stream.
                            break
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
            return classify(error, messages: progress.messages.load(ordering: .relaxed), rpc: rpc)
        } catch {
            if Task.isCancelled {
                return StreamOutcome(code: "Canceled", reason: nil, messages: progress.messages.load(ordering: .relaxed), detail: "shutdown")
            }
            return StreamOutcome(
                code: "Unknown", reason: .other, messages: progress.messages.load(ordering: .relaxed), detail: "\(error)")
        }
    }

    private func classify(_ error: RPCError, messages: Int, rpc: RPC) -> StreamOutcome {
        let code = Self.codeName(error.code)
        let detail = error.message
        let reason: ConnectionFailureReason
        switch error.code {
        case .permissionDenied:
            reason = .noIdentity
            if rpc == .fetchX509SVID {
                // The agent has no identity for us: whatever we held is withdrawn.
                store.clearSVIDs(source: configuration.source, now: clock())
                store.markSynced(source: configuration.source)
            } else if rpc == .fetchX509Bundles {
                store.clearStreamedBundles(source: configuration.source)
            } else if rpc == .fetchJWTBundles {
                // Redacted bundles must not linger (facts §8.7); the tokens lose their verification too.
                store.replaceJWTBundles(source: configuration.source, bundles: [:])
            }
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
        if let previous = store.clearLastFailure(source: source) {
            store.events.record(
                ExporterEvent(time: now, source: source, kind: "recovered", message: "FetchX509SVID delivering again after \(previous)"))
        }
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

    func handle(_ message: JWTBundlesResponse) {
        let now = clock()
        let source = configuration.source
        var bundles: [String: JWTBundle] = [:]
        var malformed: [String] = []
        for (key, jwks) in message.bundles {
            guard let domain = try? SPIFFEID.trustDomain(parsing: key) else {
                malformed.append("JWT bundle key \(String(reflecting: key.prefix(64))) is not a trust domain")
                continue
            }
            let bundle = JWTBundle(jwks: Array(jwks))
            if let error = bundle.decodeError { malformed.append("JWT bundle \(domain): \(error)") }
            if bundle.skippedKeys > 0 {
                logger.debug("JWT bundle keys skipped", metadata: ["trust_domain": "\(domain)", "skipped": "\(bundle.skippedKeys)"])
            }
            bundles[domain] = bundle
        }
        if !malformed.isEmpty {
            registry.increment(MetricCatalog.workloadAPIConnectionFailures, [source, ConnectionFailureReason.malformedResponse.rawValue])
            logger.warning("malformed JWTBundlesResponse", metadata: ["source": "\(source)", "problems": "\(malformed.joined(separator: "; "))"])
        }
        registry.increment(MetricCatalog.workloadAPIUpdates, [source, RPC.fetchJWTBundles.rawValue])
        registry.set(MetricCatalog.workloadAPILastUpdate, [source, RPC.fetchJWTBundles.rawValue], to: now.timeIntervalSince1970)
        store.replaceJWTBundles(source: source, bundles: bundles)
    }

    /// Polls FetchJWTSVID for one audience set: at the configured interval, and as soon as the
    /// current token has passed half its lifetime (when the agent mints a new one). One call at a
    /// time per audience set.
    func jwtLoop(_ audiences: [String]) async {
        await cancelWhenGracefulShutdown {
            var backoff = self.configuration.backoff
            while !Task.isCancelled {
                let (outcome, nextRefresh) = await self.fetchJWTOnce(audiences)
                if Task.isCancelled { break }
                self.registry.increment(
                    MetricCatalog.workloadAPIRequests, [self.configuration.source, RPC.fetchJWTSVID.rawValue, outcome.code])
                var delay: Double
                if let reason = outcome.reason {
                    self.registry.increment(MetricCatalog.workloadAPIConnectionFailures, [self.configuration.source, reason.rawValue])
                    self.logger.warning(
                        "FetchJWTSVID failed",
                        metadata: [
                            "source": "\(self.configuration.source)", "audience": "\(audiences.joined(separator: ","))",
                            "code": "\(outcome.code)", "reason": "\(reason.rawValue)", "detail": "\(outcome.detail)",
                        ])
                    delay = backoff.next(jitter: Double.random(in: 0..<1))
                    if reason == .invalidArgument { delay = max(delay, backoff.cap) }
                } else {
                    backoff.reset()
                    let interval = Self.seconds(self.configuration.jwtInterval)
                    delay = min(interval, max(1, nextRefresh?.timeIntervalSince(self.clock()) ?? interval))
                }
                do {
                    try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                } catch {
                    break
                }
            }
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// One FetchJWTSVID call; returns how it ended and when the token passes half its lifetime.
    private func fetchJWTOnce(_ audiences: [String]) async -> (StreamOutcome, Date?) {
        let source = configuration.source
        let audienceLabel = JWTSVIDAnalyzer.audienceLabel(audiences)
        let started = ContinuousClock.now
        var request = JWTSVIDRequest()
        request.audience = audiences
        var options = callOptions()
        options.timeout = configuration.firstResponseTimeout
        do {
            let transport = try makeTransport()
            let response = try await withGRPCClient(transport: transport) { client in
                let api = SpiffeWorkloadAPI.Client(wrapping: client)
                let response = try await api.fetchJWTSVID(request, metadata: Self.securityHeader, options: options)
                client.beginGracefulShutdown()
                return response
            }
            registry.observe(
                MetricCatalog.workloadAPIRequestDuration, [source, RPC.fetchJWTSVID.rawValue],
                Self.seconds(ContinuousClock.now - started))
            let now = clock()
            let bundles = store.jwtBundles(source: source)
            var entries: [IdentityStore.JWTEntry] = []
            for svid in response.svids {
                let report = JWTSVIDAnalyzer.analyze(
                    token: svid.svid, reportedSPIFFEID: svid.spiffeID, audiences: audiences, bundles: bundles)
                entries.append(
                    IdentityStore.JWTEntry(token: svid.svid, reportedSPIFFEID: svid.spiffeID, audiences: audiences, report: report))
            }
            var seen: Set<String> = []
            entries = entries.filter { seen.insert($0.report.spiffeID).inserted }
            if response.svids.isEmpty || entries.contains(where: { $0.report.staticProblems.contains(.parseError) }) {
                registry.increment(MetricCatalog.workloadAPIConnectionFailures, [source, ConnectionFailureReason.malformedResponse.rawValue])
                logger.warning("malformed JWTSVIDResponse", metadata: ["source": "\(source)", "audience": "\(audienceLabel)"])
            }
            store.replaceJWTSVIDs(source: source, audience: audienceLabel, entries: entries, now: now)
            registry.increment(MetricCatalog.workloadAPIUpdates, [source, RPC.fetchJWTSVID.rawValue])
            registry.set(MetricCatalog.workloadAPILastUpdate, [source, RPC.fetchJWTSVID.rawValue], to: now.timeIntervalSince1970)
            let halfLife = entries.compactMap { entry -> Date? in
                guard let exp = entry.report.expiresAt else { return nil }
                let iat = entry.report.issuedAt ?? now
                return iat.addingTimeInterval(exp.timeIntervalSince(iat) / 2 + 1)
            }.min()
            return (StreamOutcome(code: "OK", reason: nil, messages: 1, detail: ""), halfLife)
        } catch let error as RPCError {
            if error.code == .permissionDenied {
                store.replaceJWTSVIDs(source: source, audience: audienceLabel, entries: [], now: clock())
            }
            return (classify(error, messages: 0, rpc: .fetchJWTSVID), nil)
        } catch {
            return (StreamOutcome(code: "Unknown", reason: .other, messages: 0, detail: "\(error)"), nil)
        }
    }

    /// Several SVIDs may share one SPIFFE ID (two entries with different hints or selectors). The
    /// metric contract keys series by (source, spiffe_id), so one must stand for the ID: the first,
    /// because `svids[0]` is the default SVID a workload uses when it asks for no hint.
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
