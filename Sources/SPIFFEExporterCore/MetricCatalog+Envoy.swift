extension MetricCatalog {
    // MARK: Envoy's admin /certs

    public static let envoyUp = MetricDescriptor(
        "spiffe_envoy_up", .gauge,
        "1 when the last read of the Envoy admin endpoint's /certs succeeded, else 0.", labels: ["source"])
    public static let envoyCertificates = MetricDescriptor(
        "spiffe_envoy_certificates", .gauge,
        "Certificates Envoy holds (every ca_cert and cert_chain entry of every TLS context in /certs) at the last good read.",
        labels: ["source"])
    public static let envoySVIDExpiry = MetricDescriptor(
        "spiffe_envoy_svid_expiry_timestamp_seconds", .gauge,
        "Earliest NotAfter among the X.509-SVID leaves Envoy holds for the SPIFFE ID (listener and upstream contexts), in Unix seconds.",
        labels: ["source", "spiffe_id"])
    public static let envoySVIDCurrent = MetricDescriptor(
        "spiffe_envoy_svid_current", .gauge,
        "1 if every X.509-SVID Envoy holds for the SPIFFE ID is the newest one known from the other sources, 0 if one is older (a missed reload); absent when no other source knows the ID.",
        labels: ["source", "spiffe_id"])
    public static let envoyCAExpiry = MetricDescriptor(
        "spiffe_envoy_ca_expiry_timestamp_seconds", .gauge,
        "Earliest NotAfter among the CA certificates (ca_cert) Envoy holds for the trust domain, in Unix seconds.",
        labels: ["source", "trust_domain"])
    public static let envoyFailures = MetricDescriptor(
        "spiffe_envoy_failures_total", .counter,
        "Failed reads of the Envoy admin endpoint's /certs, by reason (see docs/metrics.md).", labels: ["source", "reason"])

    /// Envoy families.
    static let envoy: [MetricDescriptor] = [
        envoyUp, envoyCertificates, envoySVIDExpiry, envoySVIDCurrent, envoyCAExpiry, envoyFailures,
    ]
}
