extension MetricCatalog {
    // MARK: Served-certificate probe
    public static let probeSuccess = MetricDescriptor(
        "spiffe_probe_success", .gauge,
        "1 if the last probe of the target completed a TLS handshake with a trusted SVID of the expected SPIFFE ID, else 0.",
        labels: ["target"])
    public static let probeDuration = MetricDescriptor(
        "spiffe_probe_duration_seconds", .gauge,
        "How long the last probe of the target took (connect, TLS handshake, close), in seconds.",
        labels: ["target"])
    public static let probeFailures = MetricDescriptor(
        "spiffe_probe_failures_total", .counter,
        "Failed probes of the target, by reason (see docs/metrics.md).", labels: ["target", "reason"])
    public static let servedSVIDExpiry = MetricDescriptor(
        "spiffe_served_svid_expiry_timestamp_seconds", .gauge,
        "NotAfter of the X.509-SVID leaf the target presented at the last probe, in Unix seconds.",
        labels: ["target", "spiffe_id"])
    public static let servedSVIDCurrent = MetricDescriptor(
        "spiffe_served_svid_current", .gauge,
        "1 if the target presents the newest X.509-SVID known for its SPIFFE ID, 0 if an older one (a missed reload).",
        labels: ["target", "spiffe_id"])
    public static let servedSVIDStale = MetricDescriptor(
        "spiffe_served_svid_stale_seconds", .gauge,
        "Seconds since the SVID the target presents was superseded by a newer one (0 while current).",
        labels: ["target"])
    public static let probeClientAuthEnforced = MetricDescriptor(
        "spiffe_probe_client_auth_enforced", .gauge,
        "For a client_auth=required target: 1 if the server refused a client without a certificate, 0 if it accepted one.",
        labels: ["target"])
    public static let probeTLSVersionInfo = MetricDescriptor(
        "spiffe_probe_tls_version_info", .gauge,
        "The TLS version negotiated at the last probe of the target (value 1).", labels: ["target", "version"])
    public static let probeTLSCipherInfo = MetricDescriptor(
        "spiffe_probe_tls_cipher_info", .gauge,
        "The TLS cipher suite (IANA name) negotiated at the last probe of the target (value 1).",
        labels: ["target", "cipher"])

    public static let probeEndpointRequests = MetricDescriptor(
        "spiffe_probe_endpoint_requests_total", .counter,
        "Requests to /probe, by outcome: probed, bad_request, not_allowed (probe.allowed_targets), too_many (probe.max_concurrent).",
        labels: ["outcome"])

    /// Served-certificate probe families.
    static let probe: [MetricDescriptor] = [
        probeSuccess, probeDuration, probeFailures, servedSVIDExpiry, servedSVIDCurrent, servedSVIDStale,
        probeClientAuthEnforced, probeTLSVersionInfo, probeTLSCipherInfo, probeEndpointRequests,
    ]
}
