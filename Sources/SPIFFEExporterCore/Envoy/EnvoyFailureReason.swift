/// Closed vocabulary of `spiffe_envoy_failures_total{reason}`, documented in docs/metrics.md.
public enum EnvoyFailureReason: String, CaseIterable, Sendable, Hashable, Codable {
    /// No TCP connection to the admin address (refused, unreachable, name not resolved), or it
    /// closed or reset before an answer.
    case connect
    /// No complete answer within `--collector.envoy.timeout`.
    case timeout
    /// An answer other than 200 OK (redirects are not followed).
    case httpStatus = "http_status"
    /// The body is larger than ``EnvoyCertificates/maximumBodySize``: reading stopped there.
    case bodyTooLarge = "body_too_large"
    /// Not Envoy's `/certs` JSON: HTML, garbage, the wrong shape, a certificate time that is no
    /// RFC 3339 date.
    case malformed

    /// What to do about it, for logs, `/status` and `check`.
    public var hint: String {
        switch self {
        case .connect:
            "Nothing answers at the admin address: is Envoy running with an admin listener (admin.address) on this host and port?"
        case .timeout: "Envoy's admin listener did not answer in time: Envoy may be overloaded or the address is filtered."
        case .httpStatus: "The admin address answered /certs with an error or a redirect: is it Envoy's admin listener?"
        case .bodyTooLarge: "No Envoy's /certs answer is this large: is the address Envoy's admin listener?"
        case .malformed: "The answer to /certs is not Envoy's certificates JSON: is the address Envoy's admin listener?"
        }
    }
}
