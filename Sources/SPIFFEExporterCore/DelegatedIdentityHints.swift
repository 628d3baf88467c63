/// What an operator should do about a failure of the Delegated Identity API or the agent health
/// check: one sentence, shown in logs, by `check` and on /status. Never a label.
public enum DelegatedIdentityHints {
    /// A hint for a failed Delegated Identity stream, or `nil` when the reason speaks for itself.
    /// `code` is the gRPC code name, `detail` the server's message, `address` the admin socket.
    public static func hint(reason: ConnectionFailureReason, code: String, detail: String, address: String) -> String? {
        switch reason {
        case .notAuthorizedDelegate:
            if detail.contains("no identity issued") {
                return
                    "The agent has no identity for the exporter itself: create a registration entry whose selectors "
                    + "match the exporter's pod or process, and list that SPIFFE ID in the agent's authorized_delegates."
            }
            return
                "The agent does not accept the exporter as a delegate: add the exporter's SPIFFE ID to "
                + "authorized_delegates in the spire-agent configuration (agent { authorized_delegates = [...] }) "
                + "and restart the agent."
        case .socketNotFound:
            return
                "No admin socket at \(address): set admin_socket_path in the spire-agent configuration and mount "
                + "its directory into the exporter; it is not the Workload API socket."
        case .permissionDenied:
            return "The exporter may not open \(address): run it with a user or group the socket's file mode allows."
        case .connectionRefused:
            return "Nothing accepts connections on \(address): the agent is not running or left a stale socket."
        case .invalidArgument:
            return "The agent rejected the request: check the subscription's selectors (TYPE:VALUE) or process."
        case .timeout:
            return "The agent accepted the stream but sent nothing in time: it may be overloaded or still starting."
        case .other where code == "Unimplemented":
            return
                "\(address) does not serve the Delegated Identity API: point --collector.delegated.address at the "
                + "agent's admin socket (admin_socket_path), not at the Workload API socket."
        case .noIdentity, .unavailable, .streamClosed, .malformedResponse, .other:
            return nil
        }
    }

    /// A hint for an agent that fails its health check; `status` is the health status name
    /// (`NOT_SERVING`, `UNKNOWN`) or `nil` when the check itself failed with `reason`.
    public static func healthHint(status: String?, reason: ConnectionFailureReason?, address: String) -> String {
        if let status {
            return
                "The agent at \(address) reports \(status): it cannot serve its own Workload API (check the agent's "
                + "log for attestation or server connectivity errors)."
        }
        switch reason {
        case .socketNotFound?:
            return "No Workload API socket at \(address): the agent is not running or the socket is not mounted."
        case .permissionDenied?:
            return "The exporter may not open \(address): check the socket's file mode."
        case .connectionRefused?:
            return "Nothing accepts connections on \(address): the agent is down or left a stale socket."
        case .timeout?:
            return "The agent did not answer the health check in time: it may be overloaded."
        default:
            return "The agent at \(address) did not answer the health check."
        }
    }
}
