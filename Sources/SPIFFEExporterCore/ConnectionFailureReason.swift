/// Closed vocabulary of Workload API connection failures
/// (`spiffe_workload_api_connection_failures_total{reason}`), documented in docs/metrics.md.
public enum ConnectionFailureReason: String, CaseIterable, Sendable, Hashable {
    /// The socket path does not exist: agent not running, or wrong path.
    case socketNotFound = "socket_not_found"
    /// The socket exists but this process may not connect to it (file permissions).
    case permissionDenied = "permission_denied"
    /// The socket exists but nothing accepts connections on it (agent died, stale socket).
    case connectionRefused = "connection_refused"
    /// No first response within `--collector.workload-api.timeout`.
    case timeout
    /// gRPC PermissionDenied: the agent has no identity for this workload (not attested/registered).
    case noIdentity = "no_identity"
    /// gRPC Unavailable for any other reason (agent starting, shutting down, rate limited).
    case unavailable
    /// gRPC InvalidArgument (missing security header): a client bug; not retried fast.
    case invalidArgument = "invalid_argument"
    /// The stream ended, with OK or a dropped connection, after having delivered messages.
    case streamClosed = "stream_closed"
    /// A message could not be decoded or broke the protocol (empty mandatory fields, garbage DER).
    case malformedResponse = "malformed_response"
    /// Delegated Identity API only: gRPC PermissionDenied because the exporter's SPIFFE ID is not in
    /// the agent's `authorized_delegates`.
    case notAuthorizedDelegate = "not_authorized_delegate"
    /// Anything else (Internal, Unknown, Unimplemented, ...).
    case other
}

/// gRPC status code names as used in the `code` label (the canonical names grpc-go prints).
public enum GRPCCodeName {
    public static let all = [
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
        "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
        "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
    ]
}
