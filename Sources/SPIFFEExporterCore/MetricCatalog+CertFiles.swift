extension MetricCatalog {
    // MARK: Certificate files
    //
    // `result` (success|error) and `path` (the matched file) extend the label vocabulary of
    // STYLE.md: the certificate-files issue names them as its contract, and the number of paths is
    // bounded by the configured globs.
    public static let certFileLoads = MetricDescriptor(
        "spiffe_cert_file_loads_total", .counter,
        "Evaluations of a certificate-file source (read, parse, validate), by result (success or error).",
        labels: ["source", "result"])
    public static let certFileLoadErrors = MetricDescriptor(
        "spiffe_cert_file_load_errors_total", .counter,
        "Files of a certificate-file source that failed to load, by reason (see docs/metrics.md).",
        labels: ["source", "reason"])
    public static let certFileLoadDuration = MetricDescriptor(
        "spiffe_cert_file_load_duration_seconds", .histogram,
        "Time to read, parse and validate the files of a certificate-file source.",
        labels: ["source"],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])
    public static let certFileLastChange = MetricDescriptor(
        "spiffe_cert_file_last_change_timestamp_seconds", .gauge,
        "When a content change of the source's files was last detected, in Unix seconds (0: never).",
        labels: ["source"])
    public static let certFileLastLoadSuccess = MetricDescriptor(
        "spiffe_cert_file_last_load_success_timestamp_seconds", .gauge,
        "When the source last loaded without any error, in Unix seconds (0: never).", labels: ["source"])
    public static let certificateExpiry = MetricDescriptor(
        "spiffe_certificate_expiry_timestamp_seconds", .gauge,
        "NotAfter of the (first) certificate in a file matched by a glob, in Unix seconds.",
        labels: ["source", "path"])
    public static let certificateExpiresIn = MetricDescriptor(
        "spiffe_certificate_expires_in_seconds", .gauge,
        "Seconds from the scrape until the certificate in a file matched by a glob expires; negative once expired.",
        labels: ["source", "path"])

    /// Certificate-file source families (spiffe-helper directories and PEM globs).
    static let certFiles: [MetricDescriptor] = [
        certFileLoads, certFileLoadErrors, certFileLoadDuration, certFileLastChange, certFileLastLoadSuccess,
        certificateExpiry, certificateExpiresIn,
    ]
}
