import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SPIFFEAgentAPIs
import SVIDFactory
import Synchronization

/// Another workload on the simulated node: a registration entry (SPIFFE ID + selectors) and,
/// optionally, the process the agent would attest for it. Served through the Delegated Identity
/// API on the admin socket.
public struct SimulatedWorkload: Sendable, Hashable {
    public var spiffeID: String
    /// The entry's selectors as `type:value` (`k8s:ns:payments`). A subscription matches the entry
    /// when all of them are among the subscription's selectors, as in SPIRE's cache.
    public var selectors: [String]
    /// The process `SubscribeToX509SVIDsByPID` finds this workload under, if any.
    public var pid: Int32?
    /// Lifetime of its X.509-SVIDs; `nil` uses the simulator's `svidTTL`.
    public var svidTTL: TimeInterval?
    public var hint: String
    /// Trust domains the entry federates with (`federates_with` in the response).
    public var federatesWith: [String]

    public init(
        spiffeID: String, selectors: [String], pid: Int32? = nil, svidTTL: TimeInterval? = nil, hint: String = "",
        federatesWith: [String] = []
    ) {
        self.spiffeID = spiffeID
        self.selectors = selectors
        self.pid = pid
        self.svidTTL = svidTTL
        self.hint = hint
        self.federatesWith = federatesWith
    }
}

/// The simulator's Delegated Identity API state: current SVIDs per workload (each rotating on its
/// own schedule), open subscriptions and the admin socket's server.
struct DelegatedState: Sendable {
    struct Issued: Sendable {
        var svid: IssuedSVID
        var issuedAt: Date
        var ttl: TimeInterval
    }

    var issued: [String: Issued] = [:]
    /// Each open stream waits on its own signal and recomputes its message when it fires.
    var subscribers: [UUID: AsyncStream<Void>.Continuation] = [:]
    var server: GRPCServer<HTTP2ServerTransport.Posix>?
    var serverTask: Task<Void, any Error>?
    /// Set while stopping: new streams end at once, so the server can stop gracefully.
    var stopping = false
    var rotationTask: Task<Void, Never>?
    var rotations: [String: Int] = [:]
}

extension WorkloadAPISimulator {
    // MARK: Control

    /// The X.509-SVID each delegated workload currently has, by SPIFFE ID.
    public var currentDelegatedSVIDs: [String: IssuedSVID] {
        state.withLock { $0.delegated.issued.mapValues(\.svid) }
    }

    /// How often each delegated workload's SVID was re-issued, by SPIFFE ID.
    public var delegatedRotations: [String: Int] { state.withLock { $0.delegated.rotations } }

    /// Re-issues one delegated workload's SVID (new key and serial) and pushes it to the streams
    /// that see that workload.
    public func rotateDelegatedWorkload(spiffeID: String) throws {
        guard let workload = configuration.delegatedWorkloads.first(where: { $0.spiffeID == spiffeID }) else { return }
        try issueDelegated([workload])
        notifyDelegatedSubscribers()
    }

    /// Re-issues every delegated workload's SVID (what a restarted agent does).
    public func rotateDelegatedWorkloads() throws {
        try issueDelegated(configuration.delegatedWorkloads)
        notifyDelegatedSubscribers()
    }

    /// A new registration entry for a workload on this node.
    public func addDelegatedWorkload(_ workload: SimulatedWorkload) throws {
        state.withLock { s in
            s.configuration.delegatedWorkloads.removeAll { $0.spiffeID == workload.spiffeID }
            s.configuration.delegatedWorkloads.append(workload)
        }
        try issueDelegated([workload])
        notifyDelegatedSubscribers()
    }

    /// The workload's registration entry is deleted: its SVID leaves every stream.
    public func removeDelegatedWorkload(spiffeID: String) {
        state.withLock { s in
            s.configuration.delegatedWorkloads.removeAll { $0.spiffeID == spiffeID }
            s.delegated.issued[spiffeID] = nil
        }
        notifyDelegatedSubscribers()
    }

    /// Adds or removes the caller from `authorized_delegates`. SPIRE re-checks on every update, so
    /// open streams end with PermissionDenied at once.
    public func setAuthorizedDelegate(_ authorized: Bool) {
        state.withLock { $0.configuration.authorizedDelegate = authorized }
        notifyDelegatedSubscribers()
    }

    // MARK: Hooks called by WorkloadAPISimulator

    func issueDelegatedWorkloads() throws {
        try issueDelegated(configuration.delegatedWorkloads)
    }

    /// Serves the Delegated Identity API on the admin socket (if configured) and starts rotating
    /// the delegated workloads' SVIDs.
    func startDelegated() async throws {
        let path = configuration.adminSocketPath
        state.withLock { $0.delegated.stopping = false }
        if let path {
            try? FileManager.default.removeItem(atPath: path)
            let server = GRPCServer(
                transport: .http2NIOPosix(address: .unixDomainSocket(path: path), transportSecurity: .plaintext),
                services: [DelegatedIdentityService(simulator: self), AgentDebugService(simulator: self)]
            )
            let task = Task { try await server.serve() }
            state.withLock { s in
                s.delegated.server = server
                s.delegated.serverTask = task
            }
            _ = try await server.listeningAddress
        }
        scheduleDelegatedRotation()
    }

    /// Stops like a killed agent, as seen by clients: the admin socket disappears and every
    /// stream ends. The server itself stops gracefully rather than by cancellation: a connection
    /// accepted while a GRPCServer is being cancelled traps in NIO (apple/swift-nio#3481), and
    /// unlinking the socket first keeps new ones from arriving at all.
    func stopDelegated() async {
        if let path = configuration.adminSocketPath {
            try? FileManager.default.removeItem(atPath: path)
        }
        let (server, task, rotation) = state.withLock { s in
            let result = (s.delegated.server, s.delegated.serverTask, s.delegated.rotationTask)
            s.delegated.server = nil
            s.delegated.serverTask = nil
            s.delegated.rotationTask = nil
            s.delegated.stopping = true
            for c in s.delegated.subscribers.values { c.finish() }
            return result
        }
        rotation?.cancel()
        guard let server, let task else { return }
        server.beginGracefulShutdown()
        let stopped = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try? await task.value
                return true
            }
            group.addTask {
                // A handler that does not end in time is cancelled after all.
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

    func dropDelegatedStreams() {
        state.withLock { s in
            for c in s.delegated.subscribers.values { c.finish() }
        }
    }

    func notifyDelegatedSubscribers() {
        state.withLock { s in
            for c in s.delegated.subscribers.values { c.yield() }
        }
    }

    // MARK: Issuing and rotating

    private func issueDelegated(_ workloads: [SimulatedWorkload]) throws {
        let (configuration, issuer) = state.withLock { ($0.configuration, $0.issuer) }
        let now = clock()
        var fresh: [String: DelegatedState.Issued] = [:]
        for workload in workloads {
            let ttl = workload.svidTTL ?? configuration.svidTTL
            let svid = try SVIDFactory.svid(
                spiffeID: workload.spiffeID, issuer: issuer,
                notBefore: now.addingTimeInterval(-Self.backdating(ttl: ttl)),
                notAfter: now.addingTimeInterval(ttl), profile: LeafProfile(keyKind: configuration.keyKind))
            fresh[workload.spiffeID] = DelegatedState.Issued(svid: svid, issuedAt: now, ttl: ttl)
        }
        state.withLock { s in
            for (id, issued) in fresh {
                if s.delegated.issued[id] != nil { s.delegated.rotations[id, default: 0] += 1 }
                s.delegated.issued[id] = issued
            }
        }
    }

    /// Each workload rotates once the rotation fraction of its own lifetime has passed, like the
    /// Workload API SVIDs (see `scheduleRotation`), independently of the others.
    private func scheduleDelegatedRotation() {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                guard let self else { return }
                let (issued, fraction) = self.state.withLock {
                    ($0.delegated.issued, $0.configuration.rotationFraction)
                }
                func due(_ item: DelegatedState.Issued) -> Date {
                    let backdating = Self.backdating(ttl: item.ttl)
                    return item.issuedAt.addingTimeInterval(-backdating + (item.ttl + backdating) * fraction)
                }
                let next = issued.values.map(due).min() ?? self.clock().addingTimeInterval(1)
                let wait = min(60, max(0.05, next.timeIntervalSince(self.clock())))
                do { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) } catch { return }
                if self.currentFault == .stalledRotation { continue }
                let now = self.clock()
                let dueIDs = Set(issued.filter { due($0.value) <= now }.keys)
                let workloads = self.configuration.delegatedWorkloads.filter { dueIDs.contains($0.spiffeID) }
                guard !workloads.isEmpty else { continue }
                try? self.issueDelegated(workloads)
                self.notifyDelegatedSubscribers()
            }
        }
        state.withLock { $0.delegated.rotationTask = task }
    }

    // MARK: Subscriptions and responses (used by the service)

    func subscribeDelegated() -> (UUID, AsyncStream<Void>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        state.withLock { s in
            if s.delegated.stopping {
                continuation.finish()
                return
            }
            s.delegated.subscribers[id] = continuation
            s.statistics.openStreams += 1
        }
        return (id, stream)
    }

    func unsubscribeDelegated(_ id: UUID) {
        state.withLock { s in
            if s.delegated.subscribers.removeValue(forKey: id) != nil { s.statistics.openStreams -= 1 }
        }
    }

    /// SPIRE's authorization and availability checks, made at the start of a call and again
    /// before every update.
    func checkDelegatedAccess() throws {
        let (authorized, fault) = state.withLock { ($0.configuration.authorizedDelegate, $0.configuration.fault) }
        if fault == .unavailable { throw RPCError(code: .unavailable, message: "agent is shutting down") }
        guard authorized else {
            throw RPCError(code: .permissionDenied, message: "caller not configured as an authorized delegate")
        }
    }

    /// The message for the workloads matching `filter`, as SPIRE composes it: SVIDs with their
    /// keys, sorted by SPIFFE ID (SPIRE sorts by entry ID), and the trust domains they federate with.
    func delegatedSVIDResponse(
        matching filter: DelegatedFilter
    )
        -> Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsResponse
    {
        let s = state.withLock { $0 }
        var response = Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsResponse()
        var federates: Set<String> = []
        let matching = s.configuration.delegatedWorkloads.filter(filter.matches).sorted { $0.spiffeID < $1.spiffeID }
        for workload in matching {
            guard let issued = s.delegated.issued[workload.spiffeID] else { continue }
            var svid = Spire_Api_Types_X509SVID()
            svid.certChain = issued.svid.chain.map { Data(SVIDFactory.der($0)) }
            // SPIRE splits the ID: trust domain name without scheme, path with its leading slash.
            let body = workload.spiffeID.dropFirst("spiffe://".count)
            let slash = body.firstIndex(of: "/") ?? body.endIndex
            svid.id.trustDomain = String(body[..<slash])
            svid.id.path = String(body[slash...])
            svid.expiresAt = Int64(issued.svid.leaf.notValidAfter.timeIntervalSince1970)
            svid.hint = workload.hint
            var withKey = Spire_Api_Agent_Delegatedidentity_V1_X509SVIDWithKey()
            withKey.x509Svid = svid
            withKey.x509SvidKey = Data(issued.svid.keyPKCS8DER)
            if s.configuration.fault == .mismatchedKey, let other = try? s.configuration.keyKind.generate() {
                withKey.x509SvidKey = Data(SVIDFactory.pkcs8(other))
            }
            response.x509Svids.append(withKey)
            federates.formUnion(workload.federatesWith.map { "spiffe://\($0)" })
        }
        response.federatesWith = federates.sorted()
        return response
    }

    /// Every X.509 authority the agent holds, keyed by trust domain ID as SPIRE keys them.
    func delegatedBundlesResponse() -> Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509BundlesResponse {
        let s = state.withLock { $0 }
        var response = Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509BundlesResponse()
        response.caCertificates["spiffe://\(s.configuration.trustDomain)"] = Data(
            s.bundleRoots.flatMap { SVIDFactory.der($0.certificate) })
        for (domain, roots) in s.federated {
            response.caCertificates["spiffe://\(domain)"] = Data(roots.flatMap { SVIDFactory.der($0.certificate) })
        }
        return response
    }
}

/// Which workloads a delegated stream sees.
enum DelegatedFilter: Sendable {
    /// Entries whose selectors are all among these (SPIRE's subset match).
    case selectors(Set<String>)
    /// The workload the agent attests for this process.
    case pid(Int32)

    func matches(_ workload: SimulatedWorkload) -> Bool {
        switch self {
        case .selectors(let given): !workload.selectors.isEmpty && Set(workload.selectors).isSubset(of: given)
        case .pid(let pid): workload.pid == pid
        }
    }
}

/// SPIRE's Delegated Identity API as the admin socket serves it: authorization of the caller as a
/// delegate, selector or PID subscriptions that push a full message on every change, bundles.
/// No `workload.spiffe.io` header is required on the admin socket.
struct DelegatedIdentityService: Spire_Api_Agent_Delegatedidentity_V1_DelegatedIdentity.ServiceProtocol {
    let simulator: WorkloadAPISimulator

    func subscribeToX509SVIDs(
        request: ServerRequest<Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsResponse> {
        simulator.recordCall("SubscribeToX509SVIDs")
        try simulator.checkDelegatedAccess()
        let selectors = request.message.selectors
        guard !selectors.isEmpty, selectors.allSatisfy({ !$0.type.isEmpty && !$0.value.isEmpty }) else {
            throw RPCError(code: .invalidArgument, message: "could not parse provided selectors")
        }
        return svidStream(.selectors(Set(selectors.map { "\($0.type):\($0.value)" })))
    }

    func subscribeToX509SVIDsByPID(
        request: ServerRequest<Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsByPIDRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsResponse> {
        simulator.recordCall("SubscribeToX509SVIDsByPID")
        try simulator.checkDelegatedAccess()
        guard request.message.pid > 0 else { throw RPCError(code: .invalidArgument, message: "pid must be positive") }
        return svidStream(.pid(request.message.pid))
    }

    private func svidStream(
        _ filter: DelegatedFilter
    )
        -> StreamingServerResponse<Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsResponse>
    {
        let simulator = self.simulator
        return StreamingServerResponse(of: Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsResponse.self) {
            writer in
            let (id, changes) = simulator.subscribeDelegated()
            defer { simulator.unsubscribeDelegated(id) }
            var last = simulator.delegatedSVIDResponse(matching: filter)
            try await writer.write(last)
            if simulator.currentFault == .dropStreams {
                throw RPCError(code: .unavailable, message: "stream dropped by simulator")
            }
            for await _ in changes {
                try simulator.checkDelegatedAccess()
                let next = simulator.delegatedSVIDResponse(matching: filter)
                // SPIRE notifies a subscriber only when its workloads' identities changed.
                guard next != last else { continue }
                last = next
                try await writer.write(next)
            }
            return [:]
        }
    }

    func subscribeToX509Bundles(
        request: ServerRequest<Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509BundlesRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509BundlesResponse> {
        simulator.recordCall("SubscribeToX509Bundles")
        try simulator.checkDelegatedAccess()
        let simulator = self.simulator
        return StreamingServerResponse(of: Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509BundlesResponse.self) {
            writer in
            let (id, changes) = simulator.subscribeDelegated()
            defer { simulator.unsubscribeDelegated(id) }
            var last = simulator.delegatedBundlesResponse()
            try await writer.write(last)
            if simulator.currentFault == .dropStreams {
                throw RPCError(code: .unavailable, message: "stream dropped by simulator")
            }
            for await _ in changes {
                try simulator.checkDelegatedAccess()
                let next = simulator.delegatedBundlesResponse()
                guard next != last else { continue }
                last = next
                try await writer.write(next)
            }
            return [:]
        }
    }

    func fetchJWTSVIDs(
        request: ServerRequest<Spire_Api_Agent_Delegatedidentity_V1_FetchJWTSVIDsRequest>, context: ServerContext
    ) async throws -> ServerResponse<Spire_Api_Agent_Delegatedidentity_V1_FetchJWTSVIDsResponse> {
        simulator.recordCall("FetchJWTSVIDs")
        // The exporter does not use the delegated JWT RPCs; answer like an agent without them.
        throw RPCError(code: .unimplemented, message: "FetchJWTSVIDs is not implemented by the simulator")
    }

    func fetchJWTSVIDsByPID(
        request: ServerRequest<Spire_Api_Agent_Delegatedidentity_V1_FetchJWTSVIDsByPIDRequest>, context: ServerContext
    ) async throws -> ServerResponse<Spire_Api_Agent_Delegatedidentity_V1_FetchJWTSVIDsResponse> {
        simulator.recordCall("FetchJWTSVIDsByPID")
        throw RPCError(code: .unimplemented, message: "FetchJWTSVIDsByPID is not implemented by the simulator")
    }

    func subscribeToJWTBundles(
        request: ServerRequest<Spire_Api_Agent_Delegatedidentity_V1_SubscribeToJWTBundlesRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Spire_Api_Agent_Delegatedidentity_V1_SubscribeToJWTBundlesResponse> {
        simulator.recordCall("SubscribeToJWTBundles")
        throw RPCError(code: .unimplemented, message: "SubscribeToJWTBundles is not implemented by the simulator")
    }
}
