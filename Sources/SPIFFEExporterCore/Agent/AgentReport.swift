import Foundation

/// One certificate of the SPIRE agent's own SVID chain, as far as a channel tells it: the Debug
/// API gives the SPIFFE ID and NotAfter only, the data file whole certificates.
public struct AgentChainCertificate: Sendable, Hashable, Codable {
    /// Empty for a CA certificate without a SPIFFE ID.
    public var spiffeID: String
    /// Known from the data file; the Debug API does not carry it.
    public var notBefore: Date?
    public var notAfter: Date

    public init(spiffeID: String, notBefore: Date?, notAfter: Date) {
        self.spiffeID = spiffeID
        self.notBefore = notBefore
        self.notAfter = notAfter
    }
}

/// Where an ``AgentReport`` came from.
public enum AgentChannel: String, Sendable, Hashable, Codable {
    /// `spire.agent.debug.v1.Debug/GetInfo` on the admin socket.
    case debugAPI = "debug_api"
    /// `agent-data.json` (SPIRE ≥ 1.9).
    case dataFile = "data_file"
    /// `agent_svid.der` (SPIRE before 1.9).
    case legacyDataFile = "legacy_data_file"
}

/// The agent's SVID cache sizes from GetInfo (`spiffe_agent_cached_svids{type}`).
public struct AgentCachedSVIDs: Sendable, Hashable, Codable {
    public var x509: Int
    public var jwt: Int
    public var svidstore: Int

    public init(x509: Int, jwt: Int, svidstore: Int) {
        self.x509 = x509
        self.jwt = jwt
        self.svidstore = svidstore
    }
}

/// What the exporter knows of one SPIRE agent: its own SVID chain (never empty, leaf first), and,
/// from GetInfo, its link to the server; from the data file, whether it can re-attest.
public struct AgentReport: Sendable, Hashable {
    public var channel: AgentChannel
    public var chain: [AgentChainCertificate]
    /// `nil` without GetInfo; `Date(timeIntervalSince1970: 0)` when the agent has not synced since
    /// it started (GetInfo says 0).
    public var lastSyncSuccess: Date?
    public var uptime: TimeInterval?
    public var cachedSVIDs: AgentCachedSVIDs?
    /// From the data file only.
    public var reattestable: Bool?
    /// Root CAs of the data file's `bundle` (empty without one).
    public var bundle: [CertificateFacts] = []
    /// When the exporter received this answer.
    public var observedAt: Date

    public init(
        channel: AgentChannel, chain: [AgentChainCertificate], lastSyncSuccess: Date? = nil, uptime: TimeInterval? = nil,
        cachedSVIDs: AgentCachedSVIDs? = nil, reattestable: Bool? = nil, bundle: [CertificateFacts] = [], observedAt: Date
    ) {
        precondition(!chain.isEmpty, "an agent report has an SVID")
        self.channel = channel
        self.chain = chain
        self.lastSyncSuccess = lastSyncSuccess
        self.uptime = uptime
        self.cachedSVIDs = cachedSVIDs
        self.reattestable = reattestable
        self.bundle = bundle
        self.observedAt = observedAt
    }

    public var leaf: AgentChainCertificate { chain[0] }
    public var spiffeID: String { leaf.spiffeID }
    public var intermediates: ArraySlice<AgentChainCertificate> { chain.dropFirst() }

    /// The identity of one agent SVID for renewal tracking. Not the serial: GetInfo has none, and
    /// both channels must name the same SVID the same way.
    public var generationFingerprint: String {
        "\(spiffeID)@\(Int64(leaf.notAfter.timeIntervalSince1970.rounded()))"
    }

    /// This report with what only the other channel knows: GetInfo's live view is kept, the data
    /// file adds `reattestable`, its bundle, and the NotBefore of the certificates both describe.
    public func merged(withDataFile file: AgentReport?) -> AgentReport {
        guard let file else { return self }
        var merged = self
        merged.reattestable = file.reattestable
        merged.bundle = file.bundle
        merged.chain = chain.map { cert in
            guard cert.notBefore == nil,
                let same = file.chain.first(where: {
                    $0.spiffeID == cert.spiffeID && abs($0.notAfter.timeIntervalSince(cert.notAfter)) < 1
                })
            else { return cert }
            return AgentChainCertificate(spiffeID: cert.spiffeID, notBefore: same.notBefore, notAfter: cert.notAfter)
        }
        return merged
    }
}

/// Closed vocabulary of `spiffe_agent_failures_total{reason}`, documented in docs/metrics.md.
public enum AgentFailureReason: String, CaseIterable, Sendable, Hashable, Codable {
    /// The admin socket path does not exist: agent not running, admin API not enabled, wrong path.
    case socketNotFound = "socket_not_found"
    /// The socket or the data file may not be opened by this process (file permissions).
    case permissionDenied = "permission_denied"
    /// The socket exists but nothing accepts connections on it.
    case connectionRefused = "connection_refused"
    /// The socket is no Debug API: an agent before the Debug API, or the Workload API socket.
    case unimplemented
    /// gRPC Unavailable for any other reason.
    case unavailable
    /// No answer within `--collector.agent.timeout`.
    case timeout
    /// GetInfo could not be decoded, or named an SVID that is no SPIFFE ID or has no expiry.
    case malformedResponse = "malformed_response"
    /// GetInfo or the data file holds no agent SVID.
    case emptyChain = "empty_chain"
    /// The data file does not exist.
    case dataFileNotFound = "data_file_not_found"
    /// The data file exists but cannot be read (not a regular file, I/O error, symlink loop).
    case dataFileUnreadable = "data_file_unreadable"
    /// Larger than the limit: no agent data file is.
    case dataFileTooLarge = "data_file_too_large"
    /// `agent-data.json` is no JSON object of the expected shape, or its certificates are garbage.
    case dataFileMalformed = "data_file_malformed"
    /// A pre-1.9 `agent_svid.der` that is no DER certificate chain.
    case legacyDataFileMalformed = "legacy_data_file_malformed"
    /// Anything else (Internal, Unknown, ...).
    case other

    /// The Debug API failure for a Workload API-style classification of the same RPC end.
    public init(_ reason: ConnectionFailureReason, code: String) {
        if code == "Unimplemented" {
            self = .unimplemented
            return
        }
        switch reason {
        case .socketNotFound: self = .socketNotFound
        case .permissionDenied, .noIdentity, .notAuthorizedDelegate: self = .permissionDenied
        case .connectionRefused: self = .connectionRefused
        case .timeout: self = .timeout
        case .unavailable, .streamClosed: self = .unavailable
        case .malformedResponse: self = .malformedResponse
        case .invalidArgument, .other: self = .other
        }
    }
}

extension AgentFailureReason {
    /// What to do about it, for logs, `/status` and `check`.
    public func hint(channel: AgentChannel) -> String {
        switch self {
        case .socketNotFound:
            "No socket at the admin address: is the agent running with admin_socket_path set, and is that socket mounted here?"
        case .permissionDenied where channel == .debugAPI:
            "The exporter may not connect to the admin socket: run it as the agent's user or group, or relax the socket's mode."
        case .permissionDenied:
            "The data file is mode 0600, owned by the agent's user: run the exporter as that user, or use the admin socket."
        case .connectionRefused: "Nothing accepts connections on the admin socket: the agent is down or left a stale socket."
        case .unimplemented:
            "This socket serves no Debug API: point --collector.agent.admin-address at the agent's admin socket (admin_socket_path), not its Workload API socket."
        case .unavailable: "The agent is starting, stopping or overloaded."
        case .timeout: "The agent did not answer GetInfo in time: it may be overloaded."
        case .malformedResponse: "GetInfo's answer is not what SPIRE sends: is this a SPIRE agent's admin socket?"
        case .emptyChain: "The agent holds no SVID: it has not attested (yet); see the agent's log."
        case .dataFileNotFound:
            "Set --collector.agent.data-file to <data_dir>/agent-data.json (SPIRE 1.9 or later) or agent_svid.der (earlier)."
        case .dataFileUnreadable: "Check what the data file path points to (ls -lL): it must be a regular file."
        case .dataFileTooLarge: "No agent data file is this large: is the path right?"
        case .dataFileMalformed, .legacyDataFileMalformed:
            "The data file is not what the agent writes: a different file, or a damaged disk."
        case .other: "See the detail in the exporter's log."
        }
    }
}
