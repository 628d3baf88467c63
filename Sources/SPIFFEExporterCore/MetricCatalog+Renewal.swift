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
    /// JWT-SVID and JWT bundle families.
    static let jwt: [MetricDescriptor] = []
}
