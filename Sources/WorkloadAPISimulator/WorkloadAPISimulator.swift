import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SPIFFEWorkloadAPI
import SVIDFactory
import Synchronization
import X509

/// A real gRPC SPIFFE Workload API server on a Unix socket, with its own CA, SPIRE-like SVIDs,
/// rotation at a fraction of the TTL, federated bundles and fault injection. Used by the tests and
/// by `spiffe-exporter demo`.
public final class WorkloadAPISimulator: Sendable {
    /// RPC counters, to check that a client does not storm the agent.
    public struct Statistics: Sendable, Hashable {
        public var calls: [String: Int] = [:]
        public var rejectedMissingHeader = 0
        public var openStreams = 0
        public var rotations = 0
    }

    struct State: Sendable {
        var configuration: SimulatorConfiguration
        var ca: IssuedCA
        var issuer: IssuedCA
        /// Roots in the trust bundle, oldest first (more than one during a CA rotation).
        var bundleRoots: [IssuedCA] = []
        /// The agent's copy of each federated trust domain's roots, oldest first.
        var federated: [String: [IssuedCA]] = [:]
        /// What each federated trust domain's bundle endpoint serves (ahead of the agent's copy
        /// between ``prepareNextFederatedCA(trustDomain:)`` and ``deliverFederatedBundle(trustDomain:)``).
        var endpointRoots: [String: [IssuedCA]] = [:]
        var endpointSequence: [String: UInt64] = [:]
        var endpointFault = FederationEndpointFault.none
        var svids: [IssuedSVID] = []
        var issuedAt = Date()
        var svidSubscribers: [UUID: AsyncStream<X509SVIDResponse>.Continuation] = [:]
        var bundleSubscribers: [UUID: AsyncStream<X509BundlesResponse>.Continuation] = [:]
        var jwtBundleSubscribers: [UUID: AsyncStream<JWTBundlesResponse>.Continuation] = [:]
        var jwtAuthority = JWTAuthority()
        var federatedJWTAuthorities: [String: JWTAuthority] = [:]
        /// Minted JWT-SVIDs by audience set, then SPIFFE ID, as SPIRE's agent caches them.
        var jwtCache: [String: [String: (token: String, issuedAt: Date, expiresAt: Date)]] = [:]
        var statistics = Statistics()
        var serverTask: Task<Void, any Error>?
        var server: GRPCServer<HTTP2ServerTransport.Posix>?
        var rotationTask: Task<Void, Never>?
        /// The Delegated Identity API's workloads, subscribers and admin server.
        var delegated = DelegatedState()
        /// The agent itself, served by the Debug API on the admin socket.
        var agent: SimulatedAgentState
    }

    let state: Mutex<State>
    let clock: @Sendable () -> Date

    public init(configuration: SimulatorConfiguration, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        let offset = configuration.clockOffset
        if offset == 0 {
            self.clock = clock
        } else {
            self.clock = { clock().addingTimeInterval(offset) }
        }
        let now = clock()
        let ca = try SVIDFactory.rootCA(
            trustDomain: configuration.trustDomain, notBefore: now.addingTimeInterval(-Self.caBackdating),
            notAfter: now.addingTimeInterval(configuration.caTTL))
        let issuer =
            configuration.useIntermediate
            ? try SVIDFactory.intermediateCA(
                issuer: ca, notBefore: now.addingTimeInterval(-Self.caBackdating), notAfter: now.addingTimeInterval(configuration.caTTL))
            : ca
        var federated: [String: [IssuedCA]] = [:]
        for domain in configuration.federatedTrustDomains {
            federated[domain] = [
                try SVIDFactory.rootCA(
                    trustDomain: domain, notBefore: now.addingTimeInterval(-Self.caBackdating),
                    notAfter: now.addingTimeInterval(configuration.caTTL))
            ]
        }
        var initial = State(
            configuration: configuration, ca: ca, issuer: issuer, agent: SimulatedAgentState(startedAt: now, lastSync: now))
        initial.bundleRoots = [ca]
        initial.federated = federated
        initial.endpointRoots = federated
        for domain in federated.keys { initial.endpointSequence[domain] = 1 }
        for domain in configuration.federatedTrustDomains {
            initial.federatedJWTAuthorities[domain] = JWTAuthority()
        }
        self.state = Mutex(initial)
        try issueAll()
        try issueDelegatedWorkloads()
        try issueAgentSVID()
    }

    public var configuration: SimulatorConfiguration { state.withLock { $0.configuration } }
    public var statistics: Statistics { state.withLock { $0.statistics } }
    /// The current SVIDs (as a healthy agent would serve them, before faults are applied).
    public var currentSVIDs: [IssuedSVID] { state.withLock { $0.svids } }
    public var rootCA: IssuedCA { state.withLock { $0.ca } }
    /// The roots of the trust domain's bundle, oldest first (more than one during a CA rotation).
    public var bundleRoots: [IssuedCA] { state.withLock { $0.bundleRoots } }

    // MARK: Lifecycle

    /// Binds the socket (replacing a stale file, as SPIRE does) and starts serving and rotating.
    public func start() async throws {
        let path = state.withLock { $0.configuration.socketPath }
        try? FileManager.default.removeItem(atPath: path)
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .unixDomainSocket(path: path), transportSecurity: .plaintext),
            services: [SimulatorService(simulator: self), HealthService(simulator: self)]
        )
        let task = Task { try await server.serve() }
        state.withLock { s in
            s.serverTask = task
            s.server = server
        }
        // Wait until the socket accepts connections so callers can connect right away.
        _ = try await server.listeningAddress
        _ = chmod(path, 0o777)
        scheduleRotation()
        try await startDelegated()
    }

    /// Stops like a killed agent: open streams end, the socket file disappears. The server is shut
    /// down gracefully first: cancelling it while a connection is being set up can trap in NIO
    /// (apple/swift-nio#3481); a handler that does not end within 2 s is cancelled after all.
    public func stop() async {
        await stopDelegated()
        let (server, task, rotation) = state.withLock { s in
            let result = (s.server, s.serverTask, s.rotationTask)
            s.server = nil
            s.serverTask = nil
            s.rotationTask = nil
            for c in s.svidSubscribers.values { c.finish() }
            for c in s.bundleSubscribers.values { c.finish() }
            for c in s.jwtBundleSubscribers.values { c.finish() }
            return result
        }
        rotation?.cancel()
        try? FileManager.default.removeItem(atPath: configuration.socketPath)
        guard let server, let task else { return }
        server.beginGracefulShutdown()
        let stopped = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try? await task.value
                return true
            }
            group.addTask {
                do { try await Task.sleep(for: .seconds(2)) } catch { return true }
                return false
            }
            let first = await group.next() ?? true
            group.cancelAll()
            return first
        }
        if !stopped {
            task.cancel()
            _ = try? await task.value
        }
    }

    // MARK: Control

    public func setFault(_ fault: SimulatorFault) {
        state.withLock { $0.configuration.fault = fault }
        broadcast()
    }

    /// Issues new SVIDs now (new serials, new keys) and pushes them to every open stream.
    public func rotate() throws {
        try issueAll()
        state.withLock { $0.statistics.rotations += 1 }
        broadcast()
    }

    /// CA rotation, step 1 (SPIRE "prepare"): a new root joins the bundle; SVIDs are still issued
    /// by the current one.
    public func prepareNextCA() throws {
        let now = clock()
        let ttl = configuration.caTTL
        let next = try SVIDFactory.rootCA(
            trustDomain: configuration.trustDomain, notBefore: now.addingTimeInterval(-Self.caBackdating), notAfter: now.addingTimeInterval(ttl))
        state.withLock { $0.bundleRoots.append(next) }
        broadcast()
    }

    /// CA rotation, step 2 ("activate"): the newest root issues from now on; SVIDs are re-issued.
    public func activateNewestCA() throws {
        state.withLock { s in
            if let newest = s.bundleRoots.last {
                s.ca = newest
                s.issuer = newest
            }
        }
        try rotate()
    }

    /// CA rotation, step 3 ("prune"): the oldest root leaves the bundle.
    public func pruneOldestCA() {
        state.withLock { s in
            if s.bundleRoots.count > 1 { s.bundleRoots.removeFirst() }
        }
        broadcast()
    }

    /// The federation relationship with `trustDomain` is deleted: its X.509 and JWT bundles leave
    /// every stream's next message (SPIRE redacts by omission).
    public func removeFederation(trustDomain: String) {
        state.withLock { s in
            s.federated[trustDomain] = nil
            s.endpointRoots[trustDomain] = nil
            s.federatedJWTAuthorities[trustDomain] = nil
        }
        broadcast()
    }

    /// Ends every open stream cleanly.
    public func dropStreams() {
        state.withLock { s in
            for c in s.svidSubscribers.values { c.finish() }
            for c in s.bundleSubscribers.values { c.finish() }
            for c in s.jwtBundleSubscribers.values { c.finish() }
        }
        dropDelegatedStreams()
    }

    /// Replaces the JWT signing key (a JWT authority rotation): the bundle gets the new key only,
    /// cached tokens are dropped.
    public func rotateJWTAuthority() {
        state.withLock { s in
            s.jwtAuthority = JWTAuthority()
            s.jwtCache = [:]
        }
        broadcast()
    }

    /// Mints or returns cached JWT-SVIDs for an audience set, re-minting once half the TTL passed.
    public func jwtSVIDs(audience: [String], spiffeID: String) -> [(spiffeID: String, token: String)] {
        let now = clock()
        let key = Set(audience).sorted().joined(separator: "\u{0}")
        return state.withLock { s in
            let ids = spiffeID.isEmpty ? s.configuration.spiffeIDs : s.configuration.spiffeIDs.filter { $0 == spiffeID }
            var result: [(String, String)] = []
            for id in ids {
                if let cached = s.jwtCache[key]?[id],
                    now < cached.issuedAt.addingTimeInterval(cached.expiresAt.timeIntervalSince(cached.issuedAt) / 2)
                {
                    result.append((id, cached.token))
                    continue
                }
                let expiresAt = now.addingTimeInterval(s.configuration.jwtTTL)
                let token = JWTFactory.svid(
                    spiffeID: id, audience: audience, issuedAt: now, expiresAt: expiresAt, authority: s.jwtAuthority)
                s.jwtCache[key, default: [:]][id] = (token, now, expiresAt)
                result.append((id, token))
            }
            return result
        }
    }

    private func issueAll() throws {
        let (configuration, issuer) = state.withLock { ($0.configuration, $0.issuer) }
        let now = clock()
        let svids = try configuration.spiffeIDs.map { id in
            try SVIDFactory.svid(
                spiffeID: id, issuer: issuer, notBefore: now.addingTimeInterval(-Self.backdating(ttl: configuration.svidTTL)),
                notAfter: now.addingTimeInterval(configuration.svidTTL), profile: LeafProfile(keyKind: configuration.keyKind))
        }
        state.withLock { s in
            s.svids = svids
            s.issuedAt = now
        }
    }

    /// SPIRE backdates notBefore by 10 s against clock skew; very short test TTLs get a
    /// proportionally shorter cushion so the lifetime stays close to the TTL.
    /// CAs start a day in the past, so an SVID backdated by a fault scenario (expired SVID) still
    /// chains within its issuer's validity and shows only the problem being simulated.
    static let caBackdating: TimeInterval = 86400

    /// At least 1 s: certificate times have one-second resolution, and a cushion rounded to zero
    /// could make a fresh SVID briefly not yet valid.
    static func backdating(ttl: TimeInterval) -> TimeInterval { max(1, min(10, ttl / 10)) }

    private func scheduleRotation() {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                guard let self else { return }
                let (ttl, fraction, issuedAt) = self.state.withLock {
                    ($0.configuration.svidTTL, $0.configuration.rotationFraction, $0.issuedAt)
                }
                // SPIRE's rule: rotate once the elapsed share of the lifetime (notBefore to
                // notAfter, backdating included) reaches the rotation fraction.
                let notBefore = issuedAt.addingTimeInterval(-Self.backdating(ttl: ttl))
                let lifetime = ttl + Self.backdating(ttl: ttl)
                let due = notBefore.addingTimeInterval(lifetime * fraction)
                let wait = max(0.05, due.timeIntervalSince(self.clock()))
                do { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) } catch { return }
                if self.state.withLock({ $0.configuration.fault }) == .stalledRotation {
                    // A stalled agent keeps serving the old SVID; look again shortly.
                    do { try await Task.sleep(for: .milliseconds(500)) } catch { return }
                    continue
                }
                try? self.rotate()
                try? self.renewAgentSVIDIfDue()
            }
        }
        state.withLock { $0.rotationTask = task }
    }

    func broadcast() {
        let svid = x509SVIDResponse()
        let bundles = x509BundlesResponse()
        let jwtBundles = jwtBundlesResponse()
        state.withLock { s in
            for c in s.svidSubscribers.values { c.yield(svid) }
            for c in s.bundleSubscribers.values { c.yield(bundles) }
            for c in s.jwtBundleSubscribers.values { c.yield(jwtBundles) }
        }
        notifyDelegatedSubscribers()
    }

    // MARK: Responses

    func x509SVIDResponse() -> X509SVIDResponse {
        let s = state.withLock { $0 }
        var response = X509SVIDResponse()
        let bundleDER = s.bundleRoots.flatMap { SVIDFactory.der($0.certificate) }
        for svid in s.svids {
            var message = X509SVID()
            message.spiffeID = svid.spiffeID
            message.x509Svid = Data(svid.chainDER)
            message.x509SvidKey = Data(svid.keyPKCS8DER)
            message.bundle = Data(bundleDER)
            response.svids.append(message)
        }
        for (domain, roots) in s.federated {
            response.federatedBundles["spiffe://\(domain)"] = Data(roots.flatMap { SVIDFactory.der($0.certificate) })
        }
        applyFault(s.configuration.fault, to: &response, state: s)
        return response
    }

    func x509BundlesResponse() -> X509BundlesResponse {
        let s = state.withLock { $0 }
        var response = X509BundlesResponse()
        response.bundles["spiffe://\(s.configuration.trustDomain)"] =
            s.configuration.fault == .emptyBundle ? Data() : Data(s.bundleRoots.flatMap { SVIDFactory.der($0.certificate) })
        for (domain, roots) in s.federated {
            response.bundles["spiffe://\(domain)"] = Data(roots.flatMap { SVIDFactory.der($0.certificate) })
        }
        return response
    }

    func jwtBundlesResponse() -> JWTBundlesResponse {
        let s = state.withLock { $0 }
        var response = JWTBundlesResponse()
        response.bundles["spiffe://\(s.configuration.trustDomain)"] = Data(JWTFactory.jwks([s.jwtAuthority]))
        for (domain, authority) in s.federatedJWTAuthorities {
            response.bundles["spiffe://\(domain)"] = Data(JWTFactory.jwks([authority]))
        }
        return response
    }

    private func applyFault(_ fault: SimulatorFault, to response: inout X509SVIDResponse, state s: State) {
        if fault == .emptySVIDList { response.svids = [] }
        guard !response.svids.isEmpty else { return }
        let now = clock()
        switch fault {
        case .garbageDER:
            response.svids[0].x509Svid = Data("this is not DER".utf8)
        case .expiredSVID:
            if let expired = try? SVIDFactory.svid(
                spiffeID: s.configuration.spiffeIDs[0], issuer: s.issuer, notBefore: now.addingTimeInterval(-7200),
                notAfter: now.addingTimeInterval(-3600))
            {
                response.svids[0].x509Svid = Data(expired.chainDER)
                response.svids[0].x509SvidKey = Data(expired.keyPKCS8DER)
            }
        case .wrongTrustDomain:
            let foreignID = "spiffe://wrong-\(s.configuration.trustDomain)/workload"
            if let foreign = try? SVIDFactory.svid(
                spiffeID: foreignID, issuer: s.issuer, notBefore: now.addingTimeInterval(-10),
                notAfter: now.addingTimeInterval(s.configuration.svidTTL))
            {
                response.svids[0].spiffeID = foreignID
                response.svids[0].x509Svid = Data(foreign.chainDER)
                response.svids[0].x509SvidKey = Data(foreign.keyPKCS8DER)
            }
        case .mismatchedKey:
            if let other = try? s.configuration.keyKind.generate() {
                response.svids[0].x509SvidKey = Data(SVIDFactory.pkcs8(other))
            }
        case .emptyBundle:
            for index in response.svids.indices { response.svids[index].bundle = Data() }
        default:
            break
        }
    }

    // MARK: Subscriptions (used by the service)

    func recordCall(_ method: String) {
        state.withLock { $0.statistics.calls[method, default: 0] += 1 }
    }

    func recordRejectedHeader() {
        state.withLock { $0.statistics.rejectedMissingHeader += 1 }
    }

    func subscribeSVIDs() -> (UUID, AsyncStream<X509SVIDResponse>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: X509SVIDResponse.self, bufferingPolicy: .bufferingNewest(4))
        state.withLock { s in
            s.svidSubscribers[id] = continuation
            s.statistics.openStreams += 1
        }
        return (id, stream)
    }

    func subscribeBundles() -> (UUID, AsyncStream<X509BundlesResponse>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: X509BundlesResponse.self, bufferingPolicy: .bufferingNewest(4))
        state.withLock { s in
            s.bundleSubscribers[id] = continuation
            s.statistics.openStreams += 1
        }
        return (id, stream)
    }

    func subscribeJWTBundles() -> (UUID, AsyncStream<JWTBundlesResponse>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: JWTBundlesResponse.self, bufferingPolicy: .bufferingNewest(4))
        state.withLock { s in
            s.jwtBundleSubscribers[id] = continuation
            s.statistics.openStreams += 1
        }
        return (id, stream)
    }

    func unsubscribe(_ id: UUID) {
        state.withLock { s in
            if s.svidSubscribers.removeValue(forKey: id) != nil || s.bundleSubscribers.removeValue(forKey: id) != nil
                || s.jwtBundleSubscribers.removeValue(forKey: id) != nil
            {
                s.statistics.openStreams -= 1
            }
        }
    }

    var currentFault: SimulatorFault { state.withLock { $0.configuration.fault } }
}
