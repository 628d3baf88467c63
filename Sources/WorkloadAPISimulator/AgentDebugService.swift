import Foundation
import GRPCCore
import SPIFFEAgentAPIs
import SVIDFactory
import X509

/// Faults of the simulated agent itself, as the Debug API and the data file show them.
public enum SimulatedAgentFault: Sendable, Hashable {
    case none
    /// The agent cannot reach the server: `last_sync_success` stops advancing and the agent SVID
    /// is no longer renewed (the cached one keeps being served).
    case staleSync
    /// The agent's own SVID has expired (GetInfo and the data file show an expiry in the past).
    case expiredAgentSVID
    /// The admin socket serves no Debug API (an agent before it, or another server).
    case unimplemented
    /// GetInfo answers PermissionDenied.
    case permissionDenied
    /// GetInfo answers with no SVID at all.
    case emptyChain
}

/// The simulated agent's own state: its SVID from the server, start and last sync.
struct SimulatedAgentState: Sendable {
    var svid: IssuedSVID?
    var startedAt: Date
    var lastSync: Date
    var fault: SimulatedAgentFault = .none
    var rotations = 0
}

/// `spire.agent.debug.v1.Debug` on the admin socket, as a SPIRE agent serves it: no per-caller
/// check (access is the socket's permissions).
struct AgentDebugService: Spire_Agent_Debug_V1_Debug.ServiceProtocol {
    let simulator: WorkloadAPISimulator

    func getInfo(
        request: ServerRequest<Spire_Agent_Debug_V1_GetInfoRequest>, context: ServerContext
    ) async throws -> ServerResponse<Spire_Agent_Debug_V1_GetInfoResponse> {
        simulator.recordCall("GetInfo")
        let (agent, workloads, now) = simulator.state.withLock { s in
            (s.agent, s.svids.count + s.delegated.issued.count, simulator.clock())
        }
        switch agent.fault {
        case .unimplemented: throw RPCError(code: .unimplemented, message: "unknown service spire.agent.debug.v1.Debug")
        case .permissionDenied: throw RPCError(code: .permissionDenied, message: "permission denied")
        default: break
        }
        var response = Spire_Agent_Debug_V1_GetInfoResponse()
        if agent.fault != .emptyChain, let svid = agent.svid {
            response.svidChain = svid.chain.map { certificate in
                var cert = Spire_Agent_Debug_V1_GetInfoResponse.Cert()
                if let id = Self.spiffeID(of: certificate) {
                    var spiffeID = Spire_Api_Types_SPIFFEID()
                    spiffeID.trustDomain = id.trustDomain
                    spiffeID.path = id.path
                    cert.id = spiffeID
                }
                cert.expiresAt = Int64(certificate.notValidAfter.timeIntervalSince1970)
                cert.subject = String(describing: certificate.subject)
                return cert
            }
        }
        response.uptime = Int32(clamping: Int(now.timeIntervalSince(agent.startedAt)))
        response.lastSyncSuccess = Int64(simulator.agentLastSync(agent, now: now).timeIntervalSince1970)
        response.cachedX509SvidsCount = Int32(workloads)
        response.cachedJwtSvidsCount = Int32(simulator.state.withLock { $0.jwtCache.values.reduce(0) { $0 + $1.count } })
        response.cachedSvidstoreX509SvidsCount = 0
        return ServerResponse(message: response)
    }

    static func spiffeID(of certificate: Certificate) -> (trustDomain: String, path: String)? {
        guard let sans = try? certificate.extensions.subjectAlternativeNames else { return nil }
        for case .uniformResourceIdentifier(let uri) in sans where uri.hasPrefix("spiffe://") {
            let rest = uri.dropFirst("spiffe://".count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            return (String(rest[..<slash]), String(rest[slash...]))
        }
        return nil
    }
}

extension WorkloadAPISimulator {
    /// The simulated agent's own SPIFFE ID (SPIRE names agents `spire/agent/<attestor>/<id>`).
    public var agentSPIFFEID: String { "spiffe://\(configuration.trustDomain)/spire/agent/join_token/simulated" }

    /// The agent's current SVID chain (leaf first).
    public var currentAgentSVID: IssuedSVID? { state.withLock { $0.agent.svid } }

    public var agentRotations: Int { state.withLock { $0.agent.rotations } }

    public func setAgentFault(_ fault: SimulatedAgentFault) throws {
        let now = clock()
        let previous = state.withLock { s -> SimulatedAgentFault in
            let previous = s.agent.fault
            // Sync stops where it stood when the server became unreachable.
            if fault == .staleSync, previous != .staleSync { s.agent.lastSync = now }
            s.agent.fault = fault
            return previous
        }
        if fault == .expiredAgentSVID || previous == .expiredAgentSVID { try issueAgentSVID() }
    }

    /// Renews the agent SVID now, as the agent does at half its life.
    public func rotateAgentSVID() throws {
        try issueAgentSVID()
        state.withLock { $0.agent.rotations += 1 }
    }

    /// Renews the agent SVID once the rotation fraction of its life has passed, unless the
    /// server is unreachable (stale sync).
    func renewAgentSVIDIfDue() throws {
        let now = clock()
        let due = state.withLock { s -> Bool in
            guard s.agent.fault == .none, let leaf = s.agent.svid?.leaf else { return false }
            let lifetime = leaf.notValidAfter.timeIntervalSince(leaf.notValidBefore)
            return now >= leaf.notValidBefore.addingTimeInterval(lifetime * s.configuration.rotationFraction)
        }
        if due { try rotateAgentSVID() }
    }

    func issueAgentSVID() throws {
        let (configuration, issuer, fault) = state.withLock { ($0.configuration, $0.issuer, $0.agent.fault) }
        let now = clock()
        let ttl = configuration.agentSVIDTTL ?? configuration.svidTTL
        // An expired agent SVID: issued a lifetime ago and past its end by a minute.
        let end = fault == .expiredAgentSVID ? now.addingTimeInterval(-60) : now.addingTimeInterval(ttl)
        let svid = try SVIDFactory.svid(
            spiffeID: agentSPIFFEID, issuer: issuer,
            notBefore: end.addingTimeInterval(-ttl - Self.backdating(ttl: ttl)), notAfter: end,
            profile: LeafProfile(keyKind: configuration.keyKind))
        state.withLock { $0.agent.svid = svid }
    }

    /// A healthy agent syncs every 5 s; a stale one stopped when the fault began.
    func agentLastSync(_ agent: SimulatedAgentState, now: Date) -> Date {
        agent.fault == .staleSync ? agent.lastSync : now.addingTimeInterval(-1)
    }

    /// Writes `agent-data.json` as SPIRE 1.9 and later do (written to a temporary file, then
    /// renamed; mode 0600): `svid` and `bundle` as base64 strings of one PEM block each.
    public func writeAgentDataFile(to path: String, reattestable: Bool) throws {
        let (svid, roots) = state.withLock { ($0.agent.svid, $0.bundleRoots) }
        func encoded(_ certificate: Certificate) -> String {
            Data(SVIDFactory.pem("CERTIFICATE", SVIDFactory.der(certificate)).utf8).base64EncodedString()
        }
        let object: [String: Any] = [
            "svid": (svid?.chain ?? []).map(encoded),
            "bundle": roots.map { encoded($0.certificate) },
            "reattestable": reattestable,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        let temporary = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        _ = chmod(temporary, 0o600)
        _ = rename(temporary, path)
    }

    /// Writes a pre-1.9 `agent_svid.der`: the DER chain.
    public func writeLegacyAgentSVID(to path: String) throws {
        let chain = state.withLock { $0.agent.svid?.chain ?? [] }
        try Data(chain.flatMap(SVIDFactory.der)).write(to: URL(fileURLWithPath: path))
    }
}
