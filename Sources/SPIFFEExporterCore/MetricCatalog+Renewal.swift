extension MetricCatalog {
    public static let x509SVIDRenewals = MetricDescriptor(
        "spiffe_x509_svid_renewals_total", .counter,
        "X.509-SVID generations by how they ended: on_time, late (after the renewal deadline) or missed (expired unreplaced).",
        labels: ["source", "spiffe_id", "outcome"])
    public static let x509SVIDRenewalOverdue = MetricDescriptor(
        "spiffe_x509_svid_renewal_overdue", .gauge,
        "1 while the current X.509-SVID is past its renewal deadline and no replacement has been seen, else 0.",
        labels: ["source", "spiffe_id"])
    public static let x509SVIDRenewalDeadline = MetricDescriptor(
        "spiffe_x509_svid_renewal_deadline_timestamp_seconds", .gauge,
        "When the current X.509-SVID should have been replaced: notBefore + lifetime x renewal deadline fraction.",
        labels: ["source", "spiffe_id"])

    /// Renewal tracking families.
    static let renewal: [MetricDescriptor] = [x509SVIDRenewals, x509SVIDRenewalOverdue, x509SVIDRenewalDeadline]
    public static let jwtSVIDExpiry = MetricDescriptor(
        "spiffe_jwt_svid_expiry_timestamp_seconds", .gauge,
        "The exp claim of the JWT-SVID fetched for the audience set, in Unix seconds.",
        labels: ["source", "spiffe_id", "audience"])
    public static let jwtSVIDExpiresIn = MetricDescriptor(
        "spiffe_jwt_svid_expires_in_seconds", .gauge,
        "Seconds from the scrape until the JWT-SVID expires; negative once expired.",
        labels: ["source", "spiffe_id", "audience"])
    public static let jwtSVIDValid = MetricDescriptor(
        "spiffe_jwt_svid_valid", .gauge,
        "1 if the JWT-SVID passes every check at scrape time (signature against the JWT bundle included), else 0.",
        labels: ["source", "spiffe_id", "audience"])
    public static let jwtSVIDProblem = MetricDescriptor(
        "spiffe_jwt_svid_problem", .gauge,
        "1 for each check the JWT-SVID fails at scrape time (reason: see docs/metrics.md).",
        labels: ["source", "spiffe_id", "audience", "reason"])
    public static let jwtSVIDRenewals = MetricDescriptor(
        "spiffe_jwt_svid_renewals_total", .counter,
        "JWT-SVID generations by how they ended: on_time, late or missed.",
        labels: ["source", "spiffe_id", "audience", "outcome"])
    public static let jwtBundleKeys = MetricDescriptor(
        "spiffe_jwt_bundle_keys", .gauge,
        "Number of usable JWT signing keys in the trust domain's JWT bundle.", labels: ["source", "trust_domain"])

    /// JWT-SVID and JWT bundle families.
    static let jwt: [MetricDescriptor] = [
        jwtSVIDExpiry, jwtSVIDExpiresIn, jwtSVIDValid, jwtSVIDProblem, jwtSVIDRenewals, jwtBundleKeys,
    ]
}
