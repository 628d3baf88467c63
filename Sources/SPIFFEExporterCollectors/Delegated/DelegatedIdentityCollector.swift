import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SPIFFEAgentAPIs
import SPIFFEExporterCore
import ServiceLifecycle
import Synchronization

/// Settings of the delegated collector.
public struct DelegatedIdentityCollectorConfiguration: Sendable {
    public var delegated: DelegatedConfiguration
    /// `source` label of the bundle stream's `spiffe_workload_api_*` series (the stream serves
    /// every subscription, so it belongs to none of them).
    public var bundleSource: String
    /// Deadline for the first response of a stream.
    public var firstResponseTimeout: Duration
    public var backoff: Backoff
    /// The /proc tree searched for process-name subscriptions.
    public var procRoot: String
    /// Process-name subscriptions follow at most this many processes (the oldest).
    public var maxProcessesPerSubscription: Int

    public init(
        delegated: DelegatedConfiguration,
        bundleSource: String = "delegated",
        firstResponseTimeout: Duration = .seconds(10),
        backoff: Backoff = Backoff(),
        procRoot: String = "/proc",
        maxProcessesPerSubscription: Int = 16
    ) {
        self.delegated = delegated
        self.bundleSource = bundleSource
        self.firstResponseTimeout = firstResponseTimeout
        self.backoff = backoff
        self.procRoot = procRoot
        self.maxProcessesPerSubscription = max(1, maxProcessesPerSubscription)
    }
}

/// Why a delegated stream last failed, with what to do about it (for logs, `check` and /status).
public struct DelegatedFailure: Sendable, Hashable {
    public var rpc: String
    public var code: String
    public var reason: ConnectionFailureReason
    /// The server's message or the local error; for logs and status pages, never a label.
    public var detail: String
    public var hint: String?
}

/// The state of one source of the delegated collector: a subscription, or the bundle stream.
public struct DelegatedSourceStatus: Sendable, Hashable {
    public var source: String
    /// `selectors k8s:ns:payments,k8s:sa:api`, `process nginx`, or `bundles`.
    public var target: String
    /// Every stream of the source is open and has delivered a message.
    public var streaming: Bool
    /// X.509-SVIDs currently exported for the source.
    public var svids: Int
    /// PIDs followed by a process-name subscription.
    public var processes: [Int32]?
    /// The most recent failure; cleared by the next message.
    public var lastFailure: DelegatedFailure?
}

/// Watches other workloads' X.509-SVIDs through SPIRE's Delegated Identity API on the agent's
/// admin socket: one `SubscribeToX509SVIDs` stream per selector subscription, one
/// `SubscribeToX509SVIDsByPID` stream per process found for a process-name subscription, and one
/// `SubscribeToX509Bundles` stream for the trust bundles. Each subscription is a source of the
/// identity store, so its SVIDs get the same analysis, renewal tracking and metrics as the
/// Workload API's.
///
/// Private keys arrive on these streams. Each is checked against its certificate while the message
/// is decoded and dropped there (``X509SVIDMaterial/releasePrivateKey()``): nothing here keeps,
/// logs or exports one.
public struct DelegatedIdentityCollector<C: Clock>: Service where C.Duration == Duration {
    public typealias RPC = DelegatedIdentityRPC
    typealias StreamKey = DelegatedStreamKey
    typealias API = Spire_Api_Agent_Delegatedidentity_V1_DelegatedIdentity.Client<HTTP2ClientTransport.Posix>

    let configuration: DelegatedIdentityCollectorConfiguration
    let context: CollectorContext
    let loop: WatchLoop<C>
    let shared: DelegatedCollectorState
    /// One per subscription, and one for the bundle stream.
    let recorders: [String: StreamRecorder]
    var store: IdentityStore { context.store }
    var registry: MetricsRegistry { context.registry }
    var logger: Logger { context.logger }

    public init(configuration: DelegatedIdentityCollectorConfiguration, context: CollectorContext, clock: C) {
        self.configuration = configuration
        self.context = context
        self.shared = DelegatedCollectorState(configuration: configuration.delegated)
        loop = WatchLoop(
            clock: clock, backoff: configuration.backoff, firstResponseTimeout: configuration.firstResponseTimeout,
            // On the admin socket PermissionDenied means the caller is not an authorized delegate
            // (or, if it has no identity at all, cannot be one).
            classifier: FailureClassifier(address: configuration.delegated.address, permissionDenied: .notAuthorizedDelegate))
        func recorder(_ source: String) -> StreamRecorder {
            StreamRecorder(
                source: source, api: "Delegated Identity", registry: context.registry, board: context.board,
                logger: context.logger, now: context.now)
        }
        var recorders = [configuration.bundleSource: recorder(configuration.bundleSource)]
        // On the board (so on /status) like every source /metrics reports.
        context.board.register(configuration.bundleSource, kind: .delegatedBundles, now: context.now())
        recorders[configuration.bundleSource]?.preZero(rpcs: [RPC.subscribeToX509Bundles.rawValue])
        for subscription in configuration.delegated.subscriptions {
            let source = subscription.name
            let sourceRecorder = recorder(source)
            sourceRecorder.preZero(rpcs: [Self.rpc(for: subscription).rawValue])
            recorders[source] = sourceRecorder
            context.registry.set(MetricCatalog.delegatedSubscriptionSVIDs, [source], to: 0)
            if case .processName = subscription.target {
                context.registry.set(MetricCatalog.delegatedSubscriptionProcesses, [source], to: 0)
            }
            context.store.register(source: source)
            context.board.register(source, kind: .delegated, now: context.now())
        }
        self.recorders = recorders
    }

    static func rpc(for subscription: DelegatedSubscription) -> RPC {
        if case .processName = subscription.target { return .subscribeToX509SVIDsByPID }
        return .subscribeToX509SVIDs
    }

    /// Every source's current state, for /status and diagnostics.
    public func status() -> [DelegatedSourceStatus] {
        shared.status(bundleSource: configuration.bundleSource)
    }

    public func run() async throws {
        logger.info(
            "starting Delegated Identity collector",
            metadata: [
                "address": "\(configuration.delegated.address)",
                "subscriptions": "\(configuration.delegated.subscriptions.map(\.name).joined(separator: ","))",
            ])
        let api = API(wrapping: try context.connections.client(for: configuration.delegated.address))
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.bundleLoop(api) }
                for subscription in configuration.delegated.subscriptions {
                    switch subscription.target {
                    case .selectors(let selectors):
                        group.addTask { await self.selectorLoop(api, subscription.name, selectors) }
                    case .processName(let process):
                        group.addTask { await self.followProcesses(api, subscription.name, process) }
                    }
                }
            }
        }
    }

    // MARK: Streams

    private func bundleLoop(_ api: API) async {
        await watch(source: configuration.bundleSource, rpc: .subscribeToX509Bundles, key: nil) { delivery in
            try await api.subscribeToX509Bundles(
                Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509BundlesRequest(), options: AgentConnections.callOptions()
            ) { try await delivery.consume($0.messages) { await self.handle($0) } }
        }
    }

    static func request(
        _ selectors: [DelegatedSelector]
    ) -> Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsRequest {
        var request = Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsRequest()
        request.selectors = selectors.map { selector in
            var proto = Spire_Api_Types_Selector()
            proto.type = selector.type
            proto.value = selector.value
            return proto
        }
        return request
    }

    private func selectorLoop(_ api: API, _ name: String, _ selectors: [DelegatedSelector]) async {
        let request = Self.request(selectors)
        await watch(source: name, rpc: .subscribeToX509SVIDs, key: .selectors) { delivery in
            try await api.subscribeToX509SVIDs(request, options: AgentConnections.callOptions()) {
                try await delivery.consumeMarkingLive($0.messages) {
                    await self.handle($0, subscription: name, key: .selectors, live: $1)
                }
            }
        }
    }

    /// Follows the processes named `process`: one PID stream per process, started when it
    /// appears and stopped when it exits or its PID is reused (the API's caller must close a
    /// stream whose PID was recycled), rescanning /proc every rescan interval.
    private func followProcesses(_ api: API, _ name: String, _ process: String) async {
        let table = ProcessTable(root: configuration.procRoot)
        let interval = configuration.delegated.processRescanInterval
        await withDiscardingTaskGroup { group in
            var running: [ProcessIdentity: StopSignal] = [:]
            var first = true
            while !Task.isCancelled {
                let all = table.processes(named: process)
                let found = Array(all.prefix(configuration.maxProcessesPerSubscription))
                if all.count > found.count, first {
                    logger.warning(
                        "more processes than followed for a delegated subscription",
                        metadata: ["source": "\(name)", "found": "\(all.count)", "followed": "\(found.count)"])
                }
                let wanted = Set(found)
                var removed = false
                var added = false
                // A process that exited, or whose PID now belongs to another process (another start
                // time), is no longer wanted.
                for (identity, signal) in running where !wanted.contains(identity) {
                    signal.fire()
                    running[identity] = nil
                    shared.removeStream(name, .process(identity))
                    removed = true
                    logger.info("delegated process gone", metadata: ["source": "\(name)", "pid": "\(identity.pid)"])
                }
                for identity in found where running[identity] == nil {
                    let signal = StopSignal()
                    running[identity] = signal
                    shared.addStream(name, .process(identity))
                    added = true
                    logger.info("following delegated process", metadata: ["source": "\(name)", "pid": "\(identity.pid)"])
                    group.addTask {
                        await withTaskGroup(of: Void.self) { inner in
                            inner.addTask { await self.pidStreamLoop(api, name, identity) }
                            inner.addTask { await signal.wait() }
                            _ = await inner.next()
                            inner.cancelAll()
                        }
                    }
                }
                registry.set(MetricCatalog.delegatedSubscriptionProcesses, [name], to: Double(running.count))
                // Processes that left take their identities with them; with none to follow the
                // subscription has a definite, empty answer. New streams apply their own messages.
                if removed || (first && running.isEmpty) {
                    await apply(name)
                    if running.isEmpty { context.board.markSynced(name) }
                }
                if removed || added || first { updateUp(name) }
                first = false
                do {
                    try await loop.clock.sleep(for: interval)
                } catch {
                    break
                }
            }
            for signal in running.values { signal.fire() }
        }
    }

    private func pidStreamLoop(_ api: API, _ name: String, _ identity: ProcessIdentity) async {
        var request = Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsByPIDRequest()
        request.pid = identity.pid
        await watch(source: name, rpc: .subscribeToX509SVIDsByPID, key: .process(identity)) { [request] delivery in
            try await api.subscribeToX509SVIDsByPID(request, options: AgentConnections.callOptions()) {
                try await delivery.consumeMarkingLive($0.messages) {
                    await self.handle($0, subscription: name, key: .process(identity), live: $1)
                }
            }
        }
    }

    /// One stream kept open by the watch loop; `key` is `nil` for the bundle stream.
    private func watch(
        source: String, rpc: RPC, key: StreamKey?, _ open: @escaping @Sendable (Delivery) async throws -> Void
    ) async {
        guard let recorder = recorders[source] else { return }
        await loop.stream(open: open) { latency in
            recorder.firstResponse(rpc.rawValue, after: latency)
        } ended: { outcome in
            await ended(source: source, rpc: rpc, key: key, outcome, recorder: recorder)
        }
    }

    private func ended(source: String, rpc: RPC, key: StreamKey?, _ outcome: WatchOutcome, recorder: StreamRecorder) async {
        guard let reason = outcome.reason else {
            recorder.ended(rpc.rawValue, outcome, down: false)
            return
        }
        let failure = DelegatedFailure(
            rpc: rpc.rawValue, code: outcome.code, reason: reason, detail: outcome.detail,
            hint: DelegatedIdentityHints.hint(
                reason: reason, code: outcome.code, detail: outcome.detail, address: "\(configuration.delegated.address)"))
        shared.recordFailure(source: source, key: key, failure, isBundleStream: key == nil)
        recorder.ended(rpc.rawValue, outcome, down: false, hint: failure.hint)
        if key == nil, outcome.messages == 0 {
            // Without bundles SVIDs cannot be verified, but they should not wait for them forever.
            if shared.bundleStreamGaveUp() { await applyAll() }
        }
        if reason == .notAuthorizedDelegate, key != nil {
            // We no longer see these workloads: drop what we held rather than watch it go stale
            // (a disappearance is not a renewal failure).
            shared.clearSVIDs(source)
            await apply(source)
            // A definite answer: the agent will not show us these workloads.
            context.board.markSynced(source)
        }
        if key != nil { updateUp(source) }
    }

    private func updateUp(_ source: String) {
        // Nothing to follow (no process found): neither up nor down.
        context.board.setUp(source, shared.upState(source), now: context.now())
    }

    // MARK: Messages

    func handle(
        _ message: Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsResponse, subscription: String,
        key: StreamKey, live: Bool = false
    ) async {
        let now = context.now()
        let rpc: RPC = key == .selectors ? .subscribeToX509SVIDs : .subscribeToX509SVIDsByPID
        let (svids, federatesWith, malformed) = DelegatedIdentityMessages.decode(message)
        let recorder = recorders[subscription]
        recorder?.malformed("SubscribeToX509SVIDsResponse", problems: malformed)
        recorder?.updated(rpc.rawValue, at: now)
        guard shared.setStream(subscription, key, svids: svids, federatesWith: federatesWith) else { return }
        recorder?.delivered(rpc.rawValue)
        context.board.delivered(subscription, what: rpc.rawValue, now: now)
        await apply(subscription, live: live)
        updateUp(subscription)
        logger.debug(
            "SubscribeToX509SVIDsResponse applied", metadata: ["source": "\(subscription)", "svids": "\(svids.count)"])
    }

    func handle(_ message: Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509BundlesResponse) async {
        let recorder = recorders[configuration.bundleSource]
        let (bundles, malformed) = DelegatedIdentityMessages.decode(message)
        recorder?.malformed("SubscribeToX509BundlesResponse", problems: malformed)
        recorder?.updated(RPC.subscribeToX509Bundles.rawValue, at: context.now())
        recorder?.delivered(RPC.subscribeToX509Bundles.rawValue)
        context.board.delivered(configuration.bundleSource, what: RPC.subscribeToX509Bundles.rawValue, now: context.now())
        shared.setBundles(bundles)
        await applyAll()
    }

    private func applyAll() async {
        for subscription in configuration.delegated.subscriptions {
            await apply(subscription.name)
        }
    }

    /// Re-analyses a subscription's SVIDs (from all its streams) against the current bundles and
    /// replaces the source's state in the store. Keyless material: the key verdict travels in it.
    /// `live`: a push on a stream that had delivered before (clock skew samples).
    func apply(_ name: String, live: Bool = false) async {
        guard let work = shared.beginApply(name) else { return }
        let now = context.now()
        var entries: [IdentityStore.Entry] = []
        var seen: Set<String> = []
        var domains = Set(work.federatesWith)
        for svid in work.svids {
            let own = svid.trustDomain.flatMap { work.bundles[$0] }
            let bundles = BundleSet(own: own, byTrustDomain: work.bundles)
            let report = await X509SVIDAnalyzer.analyze(svid.material, bundles: bundles, now: now)
            // Several SVIDs may share a SPIFFE ID (hints, or several processes of one workload):
            // the first is exported, as for the Workload API.
            guard seen.insert(report.spiffeID).inserted else { continue }
            if let domain = report.trustDomain ?? svid.trustDomain { domains.insert(domain) }
            entries.append(IdentityStore.Entry(material: svid.material, bundles: bundles, report: report))
        }
        // What the Workload API would hand these workloads: their own and federated bundles.
        let exported = work.bundles.filter { domains.contains($0.key) }
        // The count first: a scrape that sees the identities sees their count too.
        shared.finishApply(name, generation: work.generation, count: entries.count) {
            registry.set(MetricCatalog.delegatedSubscriptionSVIDs, [name], to: Double(entries.count))
            store.replaceSVIDs(source: name, entries: entries, bundles: exported, now: now, live: live)
        }
    }
}

extension DelegatedIdentityCollector where C == ContinuousClock {
    public init(configuration: DelegatedIdentityCollectorConfiguration, context: CollectorContext) {
        self.init(configuration: configuration, context: context, clock: ContinuousClock())
    }
}

public enum DelegatedIdentityRPC: String, Sendable, CaseIterable {
    case subscribeToX509SVIDs = "SubscribeToX509SVIDs"
    case subscribeToX509SVIDsByPID = "SubscribeToX509SVIDsByPID"
    case subscribeToX509Bundles = "SubscribeToX509Bundles"
}

enum DelegatedStreamKey: Hashable, Sendable {
    case selectors
    case process(ProcessIdentity)
}

/// A one-shot signal that child tasks can wait for; a structured way to stop one stream of a group.
final class StopSignal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self)
    }

    func fire() { continuation.finish() }

    /// Returns once fired, or when the waiting task is cancelled.
    func wait() async {
        for await _ in stream {}
    }
}

/// The delegated collector's mutable state: each subscription's streams with their keyless SVIDs,
/// the agent's bundles, and status for operators.
final class DelegatedCollectorState: Sendable {
    typealias StreamKey = DelegatedStreamKey

    struct StreamState: Sendable {
        var svids: [DelegatedSVID] = []
        var federatesWith: [String] = []
        /// Open and delivered at least one message.
        var open = false
    }

    struct Subscription: Sendable {
        var target: String
        var streams: [StreamKey: StreamState] = [:]
        var generation = 0
        var svidCount = 0
        var lastFailure: DelegatedFailure?
        var isProcess: Bool
    }

    struct State: Sendable {
        /// `nil` until the bundle stream delivered once.
        var bundles: [String: TrustBundle]?
        /// The bundle stream failed before its first message: apply SVIDs without bundles.
        var bundleStreamGaveUp = false
        var bundleStreamOpen = false
        var bundleFailure: DelegatedFailure?
        var subscriptions: [String: Subscription] = [:]
    }

    struct ApplyWork: Sendable {
        var generation: Int
        var svids: [DelegatedSVID]
        var federatesWith: [String]
        var bundles: [String: TrustBundle]
    }

    private let state: Mutex<State>

    init(configuration: DelegatedConfiguration) {
        var initial = State()
        for subscription in configuration.subscriptions {
            switch subscription.target {
            case .selectors(let selectors):
                var entry = Subscription(
                    target: "selectors " + selectors.map(\.description).joined(separator: ","), isProcess: false)
                entry.streams[.selectors] = StreamState()
                initial.subscriptions[subscription.name] = entry
            case .processName(let name):
                initial.subscriptions[subscription.name] = Subscription(target: "process \(name)", isProcess: true)
            }
        }
        state = Mutex(initial)
    }

    func addStream(_ name: String, _ key: StreamKey) {
        state.withLock { $0.subscriptions[name]?.streams[key] = StreamState() }
    }

    func removeStream(_ name: String, _ key: StreamKey) {
        state.withLock { _ = $0.subscriptions[name]?.streams.removeValue(forKey: key) }
    }

    /// Stores a stream's latest message; `false` if the stream is no longer followed.
    func setStream(_ name: String, _ key: StreamKey, svids: [DelegatedSVID], federatesWith: [String]) -> Bool {
        state.withLock { s in
            guard s.subscriptions[name]?.streams[key] != nil else { return false }
            s.subscriptions[name]?.streams[key] = StreamState(svids: svids, federatesWith: federatesWith, open: true)
            s.subscriptions[name]?.lastFailure = nil
            return true
        }
    }

    func clearSVIDs(_ name: String) {
        state.withLock { s in
            guard var subscription = s.subscriptions[name] else { return }
            for key in subscription.streams.keys {
                subscription.streams[key]?.svids = []
                subscription.streams[key]?.federatesWith = []
            }
            s.subscriptions[name] = subscription
        }
    }

    func setBundles(_ bundles: [String: TrustBundle]) {
        state.withLock { s in
            s.bundles = bundles
            s.bundleStreamOpen = true
            s.bundleFailure = nil
        }
    }

    /// Whether SVIDs should now be applied without waiting for bundles any longer.
    func bundleStreamGaveUp() -> Bool {
        state.withLock { s in
            guard s.bundles == nil, !s.bundleStreamGaveUp else { return false }
            s.bundleStreamGaveUp = true
            return true
        }
    }

    /// Records a stream's failure; returns the failure recorded before it.
    @discardableResult
    func recordFailure(
        source: String, key: StreamKey?, _ failure: DelegatedFailure, isBundleStream: Bool
    )
        -> DelegatedFailure?
    {
        state.withLock { s in
            if isBundleStream {
                let previous = s.bundleFailure
                s.bundleFailure = failure
                s.bundleStreamOpen = false
                return previous
            }
            let previous = s.subscriptions[source]?.lastFailure
            s.subscriptions[source]?.lastFailure = failure
            if let key, s.subscriptions[source]?.streams[key] != nil {
                s.subscriptions[source]?.streams[key]?.open = false
            }
            return previous
        }
    }

    /// 1/0 for `spiffe_workload_api_up`; `nil` when the subscription follows no stream at all.
    func upState(_ name: String) -> Bool? {
        state.withLock { s in
            guard let streams = s.subscriptions[name]?.streams, !streams.isEmpty else { return nil }
            return streams.values.allSatisfy(\.open)
        }
    }

    /// Takes what an apply needs, or `nil` while SVIDs wait for the first bundles.
    func beginApply(_ name: String) -> ApplyWork? {
        state.withLock { s in
            guard var subscription = s.subscriptions[name] else { return nil }
            // Selector streams first, then processes oldest first: the order decides which SVID
            // of a repeated SPIFFE ID is exported.
            let ordered = subscription.streams.sorted { a, b in
                switch (a.key, b.key) {
                case (.selectors, _): true
                case (_, .selectors): false
                case (.process(let x), .process(let y)): x < y
                }
            }
            let svids = ordered.flatMap(\.value.svids)
            if !svids.isEmpty, s.bundles == nil, !s.bundleStreamGaveUp { return nil }
            subscription.generation += 1
            s.subscriptions[name] = subscription
            return ApplyWork(
                generation: subscription.generation, svids: svids,
                federatesWith: Array(Set(ordered.flatMap(\.value.federatesWith))), bundles: s.bundles ?? [:])
        }
    }

    /// Runs `write` unless a newer apply of the same subscription started meanwhile.
    @discardableResult
    func finishApply(_ name: String, generation: Int, count: Int, _ write: () -> Void) -> Bool {
        state.withLock { s in
            guard s.subscriptions[name]?.generation == generation else { return false }
            write()
            s.subscriptions[name]?.svidCount = count
            return true
        }
    }

    func status(bundleSource: String) -> [DelegatedSourceStatus] {
        state.withLock { s in
            var result = [
                DelegatedSourceStatus(
                    source: bundleSource, target: "bundles", streaming: s.bundleStreamOpen, svids: 0, processes: nil,
                    lastFailure: s.bundleFailure)
            ]
            for (name, subscription) in s.subscriptions.sorted(by: { $0.key < $1.key }) {
                let processes = subscription.streams.keys.compactMap { key -> ProcessIdentity? in
                    if case .process(let identity) = key { return identity }
                    return nil
                }.sorted().map(\.pid)
                result.append(
                    DelegatedSourceStatus(
                        source: name, target: subscription.target,
                        streaming: !subscription.streams.isEmpty && subscription.streams.values.allSatisfy(\.open),
                        svids: subscription.svidCount, processes: subscription.isProcess ? processes : nil,
                        lastFailure: subscription.lastFailure))
            }
            return result
        }
    }
}
