import Foundation
import SVIDFactory

/// Faults the simulator can inject, each mirroring something a real SPIRE agent does.
public enum SimulatorFault: Sendable, Hashable {
    case none
    /// PermissionDenied "no identity issued": the caller matches no registration entry.
    case noIdentity
    /// Unavailable: the agent is starting, shutting down or rate limiting.
    case unavailable
    /// Hold the first message of every stream back this long (agent minting SVIDs).
    case slowFirstResponse(Duration)
    /// Never rotate: the agent cannot renew (server unreachable) and keeps serving the old SVID.
    case stalledRotation
    /// End every stream right after its first message.
    case dropStreams
    /// Send bytes that are not DER in `x509_svid`.
    case garbageDER
    /// Serve an SVID whose notAfter has passed.
    case expiredSVID
    /// Serve an SVID whose SPIFFE ID belongs to another trust domain than its bundle.
    case wrongTrustDomain
    /// Serve a private key that belongs to a different certificate.
    case mismatchedKey
    /// Serve the trust domain's bundle with no CA certificate in it (SVID and bundle streams).
    case emptyBundle
    /// Answer every call InvalidArgument, as SPIRE does to a request it considers malformed.
    case rejectRequests
    /// Answer every call Unimplemented: a gRPC server on the socket that is not a Workload API.
    case unimplemented
    /// Send X509SVIDResponse messages with an empty `svids` list (a non-SPIRE server; SPIRE says
    /// PermissionDenied instead).
    case emptySVIDList
}

public struct SimulatorConfiguration: Sendable {
    public var socketPath: String
    public var trustDomain: String
    public var spiffeIDs: [String]
    /// Lifetime of each X.509-SVID.
    public var svidTTL: TimeInterval
    /// Rotate once this fraction of the lifetime has passed (SPIRE: about 0.5).
    public var rotationFraction: Double
    public var caTTL: TimeInterval
    public var keyKind: KeyKind
    /// Issue leaves from an intermediate CA (SPIRE's UpstreamAuthority mode).
    public var useIntermediate: Bool
    /// Trust domains whose bundles are delivered as federated bundles.
    public var federatedTrustDomains: [String]
    public var fault: SimulatorFault
    /// Lifetime of minted JWT-SVIDs (SPIRE default 5 min); re-minted once half of it has passed.
    public var jwtTTL: TimeInterval
    /// Where to serve SPIRE's admin API (the Delegated Identity API); `nil` serves none.
    public var adminSocketPath: String? = nil
    /// Other workloads on the node, served through the Delegated Identity API (see
    /// DelegatedIdentityService.swift).
    public var delegatedWorkloads: [SimulatedWorkload] = []
    /// Whether the caller is among the agent's `authorized_delegates`.
    public var authorizedDelegate = true
    /// What `grpc.health.v1.Health/Check` answers (NOT_SERVING anyway under the `unavailable` fault).
    public var healthStatus: SimulatedHealthStatus = .serving
    /// Lifetime of the agent's own SVID (served by the Debug API on the admin socket); `nil`: `svidTTL`.
    public var agentSVIDTTL: TimeInterval? = nil
    /// How far the simulated issuer's clock is ahead of the caller's (negative: behind): every
    /// NotBefore, NotAfter and JWT time is minted on it, as by a SPIRE server with a skewed clock.
    public var clockOffset: TimeInterval = 0

    public init(
        socketPath: String,
        trustDomain: String = "example.org",
        spiffeIDs: [String]? = nil,
        svidTTL: TimeInterval = 3600,
        rotationFraction: Double = 0.5,
        caTTL: TimeInterval = 24 * 3600,
        keyKind: KeyKind = .p256,
        useIntermediate: Bool = false,
        federatedTrustDomains: [String] = [],
        fault: SimulatorFault = .none,
        jwtTTL: TimeInterval = 300
    ) {
        self.jwtTTL = jwtTTL
        self.socketPath = socketPath
        self.trustDomain = trustDomain
        self.spiffeIDs = spiffeIDs ?? ["spiffe://\(trustDomain)/workload"]
        self.svidTTL = svidTTL
        self.rotationFraction = rotationFraction
        self.caTTL = caTTL
        self.keyKind = keyKind
        self.useIntermediate = useIntermediate
        self.federatedTrustDomains = federatedTrustDomains
        self.fault = fault
    }
}
