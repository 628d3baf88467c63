/// Closed vocabulary of served-certificate probe failures (`spiffe_probe_failures_total{reason}`),
/// documented in docs/metrics.md. Every reason is created at zero for every target.
public enum ProbeFailureReason: String, CaseIterable, Sendable, Hashable, Comparable {
    /// No TCP connection: refused, host unreachable, or the name does not resolve.
    case connectRefused = "connect_refused"
    /// The probe (connect, handshake and closing exchange) did not finish within `--probe.timeout`.
    case timeout
    /// The TLS handshake failed for a reason other than the ones below (no common protocol or
    /// cipher, not TLS at all, the server rejected the client SVID that was presented, ...).
    case handshakeFailed = "handshake_failed"
    /// The server's certificate is not an X.509-SVID that chains to the trust bundle of its
    /// trust domain at the probe time (no bundle known for it, foreign CA, expired leaf, ...).
    case untrusted
    /// The server presented a trusted SVID, but not for the target's `spiffe_id`.
    case wrongSPIFFEID = "wrong_spiffe_id"
    /// The server requires a client certificate and the exporter has no X.509-SVID of its own to
    /// present.
    case noClientSVID = "no_client_svid"
    /// A `starttls=` target whose server answered the upgrade request but declined TLS
    /// (PostgreSQL `N`: `ssl = off`).
    case startTLSRefused = "starttls_refused"
    /// A `starttls=` target whose server answered the upgrade request with bytes that are not
    /// that protocol's answer (not the protocol, or something injected before the handshake).
    case startTLSProtocolError = "starttls_protocol_error"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
