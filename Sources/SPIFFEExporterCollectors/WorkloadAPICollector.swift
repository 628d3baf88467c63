import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SPIFFEExporterCore
import SPIFFEWorkloadAPI
import ServiceLifecycle
import Synchronization

/// Settings of one Workload API source.
public struct WorkloadAPICollectorConfiguration: Sendable, Hashable {
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
        backoff: Backoff = Backoff(),
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

/// Streams FetchX509SVID and FetchX509Bundles (and FetchJWTBundles, polling FetchJWTSVID per
/// audience set) from a SPIFFE Workload API on the socket's shared client, keeps the identity
/// store and the source board current and counts every call, failure and latency. Each stream
/// runs its own ``WatchLoop``.
public struct WorkloadAPICollector<C: Clock>: Service where C.Duration == Duration {
    public enum RPC: String, Sendable, CaseIterable {
        case fetchX509SVID = "FetchX509SVID"
        case fetchX509Bundles = "FetchX509Bundles"
        case fetchJWTSVID = "FetchJWTSVID"
        case fetchJWTBundles = "FetchJWTBundles"
    }

    let configuration: WorkloadAPICollectorConfiguration
    let context: CollectorContext
    let recorder: StreamRecorder
    let loop: WatchLoop<C>
    var store: IdentityStore { context.store }
    var logger: Logger { context.logger }

    public init(configuration: WorkloadAPICollectorConfiguration, context: CollectorContext, clock: C) {
        self.configuration = configuration
        self.context = context
        recorder = StreamRecorder(
            source: configuration.source, api: "Workload API", registry: context.registry, board: context.board,
            logger: context.logger, now: context.now)
        loop = WatchLoop(
            clock: clock, backoff: configuration.backoff, firstResponseTimeout: configuration.firstResponseTimeout,
            classifier: FailureClassifier(address: configuration.address, permissionDenied: .noIdentity))
        var rpcs: [RPC] = [.fetchX509SVID]
        if configuration.fetchBundles { rpcs.append(.fetchX509Bundles) }
        if !configuration.jwtAudiences.isEmpty { rpcs += [.fetchJWTSVID, .fetchJWTBundles] }
        recorder.preZero(rpcs: rpcs.map(\.rawValue))
        context.store.register(source: configuration.source)
        context.board.register(configuration.source, kind: .workloadAPI, now: context.now())
    }

    public func run() async throws {
        logger.info("starting Workload API collector", metadata: ["source": "\(configuration.source)", "address": "\(configuration.address)"])
        let api = SpiffeWorkloadAPI.Client(wrapping: try context.connections.client(for: configuration.address))
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.watch(.fetchX509SVID) { try await self.fetchX509SVIDs(api, $0) } }
                if configuration.fetchBundles {
                    group.addTask { await self.watch(.fetchX509Bundles) { try await self.fetchX509Bundles(api, $0) } }
                }
                if !configuration.jwtAudiences.isEmpty {
                    group.addTask { await self.watch(.fetchJWTBundles) { try await self.fetchJWTBundles(api, $0) } }
                    for audiences in configuration.jwtAudiences {
                        group.addTask { await self.pollJWT(api, audiences) }
                    }
                }
            }
        }
    }

    static var securityHeader: Metadata { ["workload.spiffe.io": "true"] }

    private func watch(_ rpc: RPC, _ open: @escaping @Sendable (Delivery) async throws -> Void) async {
        await loop.stream(open: open) { latency in
            recorder.firstResponse(rpc.rawValue, after: latency)
        } ended: { outcome in
            if outcome.reason == .noIdentity { withdraw(rpc) }
            recorder.ended(
                rpc.rawValue, outcome, down: rpc == .fetchX509SVID,
                hint: outcome.reason.map { CheckEvaluator.hint(for: $0, target: "\(configuration.address)") })
        }
    }

    /// PermissionDenied: the agent has no identity for us, so whatever we held is withdrawn.
    private func withdraw(_ rpc: RPC) {
        let source = configuration.source
        switch rpc {
        case .fetchX509SVID:
            store.clearSVIDs(source: source, now: context.now())
            context.board.markSynced(source)
        case .fetchX509Bundles:
            store.clearStreamedBundles(source: source)
        case .fetchJWTBundles:
            // Redacted bundles must not linger; the tokens lose their verification with them.
            store.replaceJWTBundles(source: source, bundles: [:])
        case .fetchJWTSVID:
            break
        }
    }

    private func fetchX509SVIDs(_ api: SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>, _ delivery: Delivery) async throws {
        try await api.fetchX509SVID(X509SVIDRequest(), metadata: Self.securityHeader, options: AgentConnections.callOptions()) {
            // Load latency is time to the first response, before analysis.
            try await delivery.consumeMarkingLive($0.messages) { await handle($0, live: $1) }
        }
    }

    private func fetchX509Bundles(_ api: SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>, _ delivery: Delivery) async throws {
        try await api.fetchX509Bundles(X509BundlesRequest(), metadata: Self.securityHeader, options: AgentConnections.callOptions()) {
            try await delivery.consume($0.messages) { handle($0) }
        }
    }

    private func fetchJWTBundles(_ api: SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>, _ delivery: Delivery) async throws {
        try await api.fetchJWTBundles(JWTBundlesRequest(), metadata: Self.securityHeader, options: AgentConnections.callOptions()) {
            try await delivery.consume($0.messages) { handle($0) }
        }
    }

    // MARK: Messages

    /// `live`: the stream had delivered before, so new SVIDs in it were just pushed (clock skew samples).
    func handle(_ message: X509SVIDResponse, live: Bool = false) async {
        let now = context.now()
        let source = configuration.source
        let (entries, bundles, malformed) = WorkloadAPIMessages.decode(message)
        recorder.malformed("X509SVIDResponse", problems: malformed)
        recorder.updated(RPC.fetchX509SVID.rawValue, at: now)
        // A response without any SVID breaks the protocol (MUST hold ≥1): keep the previous state.
        guard !entries.isEmpty else { return }
        var reports: [IdentityStore.Entry] = []
        for (material, bundleSet) in entries {
            let report = await X509SVIDAnalyzer.analyze(material, bundles: bundleSet, now: now)
            reports.append(IdentityStore.Entry(material: material, bundles: bundleSet, report: report))
        }
        store.replaceSVIDs(source: source, entries: Self.dedupe(reports), bundles: bundles, now: now, live: live)
        context.board.delivered(source, what: RPC.fetchX509SVID.rawValue, now: now)
        recorder.delivered(RPC.fetchX509SVID.rawValue)
        logger.debug("X509SVIDResponse applied", metadata: ["source": "\(source)", "svids": "\(reports.count)"])
    }

    func handle(_ message: X509BundlesResponse) {
        let (bundles, malformed) = WorkloadAPIMessages.decode(message)
        recorder.malformed("X509BundlesResponse", problems: malformed)
        // Stored before it is counted: `check` stops waiting once the count moves.
        store.replaceBundles(source: configuration.source, bundles: bundles)
        recorder.updated(RPC.fetchX509Bundles.rawValue, at: context.now())
        recorder.delivered(RPC.fetchX509Bundles.rawValue)
    }

    func handle(_ message: JWTBundlesResponse) {
        let (bundles, malformed) = WorkloadAPIMessages.decode(message)
        recorder.malformed("JWTBundlesResponse", problems: malformed)
        for (domain, bundle) in bundles where bundle.skippedKeys > 0 {
            logger.debug("JWT bundle keys skipped", metadata: ["trust_domain": "\(domain)", "skipped": "\(bundle.skippedKeys)"])
        }
        // Stored before it is counted: `check` stops waiting once the count moves, and then
        // rates the JWT-SVIDs against these bundles.
        store.replaceJWTBundles(source: configuration.source, bundles: bundles)
        recorder.updated(RPC.fetchJWTBundles.rawValue, at: context.now())
        recorder.delivered(RPC.fetchJWTBundles.rawValue)
    }

    /// Polls FetchJWTSVID for one audience set: at the configured interval, and as soon as the
    /// current token has passed half its lifetime (when the agent mints a new one).
    private func pollJWT(_ api: SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>, _ audiences: [String]) async {
        let rpc = RPC.fetchJWTSVID.rawValue
        await loop.poll(interval: configuration.jwtInterval) {
            try await fetchJWT(api, audiences)
        } ended: { outcome, took in
            if outcome.reason == nil {
                recorder.firstResponse(rpc, after: took)
                recorder.delivered(rpc)
            } else if outcome.reason == .noIdentity {
                store.replaceJWTSVIDs(
                    source: configuration.source, audience: JWTSVIDAnalyzer.audienceLabel(audiences), entries: [], now: context.now())
            }
            recorder.ended(
                rpc, outcome, down: false, hint: outcome.reason.map { CheckEvaluator.hint(for: $0, target: "\(configuration.address)") },
                metadata: ["audience": "\(audiences.joined(separator: ","))"])
        }
    }

    /// One FetchJWTSVID call; returns how long until the token passes half its lifetime.
    private func fetchJWT(_ api: SpiffeWorkloadAPI.Client<HTTP2ClientTransport.Posix>, _ audiences: [String]) async throws -> Duration? {
        let source = configuration.source
        let audienceLabel = JWTSVIDAnalyzer.audienceLabel(audiences)
        var request = JWTSVIDRequest()
        request.audience = audiences
        let response = try await api.fetchJWTSVID(request, metadata: Self.securityHeader, options: AgentConnections.callOptions())
        let now = context.now()
        let bundles = store.jwtBundles(source: source)
        var entries: [IdentityStore.JWTEntry] = []
        for svid in response.svids {
            let report = JWTSVIDAnalyzer.analyze(
                token: svid.svid, reportedSPIFFEID: svid.spiffeID, audiences: audiences, bundles: bundles)
            entries.append(IdentityStore.JWTEntry(token: svid.svid, reportedSPIFFEID: svid.spiffeID, audiences: audiences, report: report))
        }
        var seen: Set<String> = []
        entries = entries.filter { seen.insert($0.report.spiffeID).inserted }
        if response.svids.isEmpty {
            recorder.malformed("JWTSVIDResponse", problems: ["response holds no SVID"], metadata: ["audience": "\(audienceLabel)"])
        } else {
            let unparsable = entries.filter { $0.report.staticProblems.contains(.parseError) }.map { "\($0.report.spiffeID): token does not parse" }
            recorder.malformed("JWTSVIDResponse", problems: unparsable, metadata: ["audience": "\(audienceLabel)"])
        }
        store.replaceJWTSVIDs(source: source, audience: audienceLabel, entries: entries, now: now)
        recorder.updated(RPC.fetchJWTSVID.rawValue, at: now)
        let halfLife = entries.compactMap { entry -> Date? in
            guard let exp = entry.report.expiresAt else { return nil }
            let iat = entry.report.issuedAt ?? now
            return iat.addingTimeInterval(exp.timeIntervalSince(iat) / 2 + 1)
        }.min()
        return halfLife.map { .milliseconds(Int64(($0.timeIntervalSince(now) * 1000).rounded())) }
    }

    /// Several SVIDs may share one SPIFFE ID (two entries with different hints or selectors). The
    /// metric contract keys series by (source, spiffe_id), so one must stand for the ID: the first,
    /// because `svids[0]` is the default SVID a workload uses when it asks for no hint.
    static func dedupe(_ entries: [IdentityStore.Entry]) -> [IdentityStore.Entry] {
        var seen: Set<String> = []
        return entries.filter { seen.insert($0.report.spiffeID).inserted }
    }
}

extension WorkloadAPICollector where C == ContinuousClock {
    public init(configuration: WorkloadAPICollectorConfiguration, context: CollectorContext) {
        self.init(configuration: configuration, context: context, clock: ContinuousClock())
    }
}
