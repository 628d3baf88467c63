extension MetricCatalog {
    public static let expectedIdentityPresent = MetricDescriptor(
        "spiffe_expected_identity_present", .gauge,
        "1 while a valid SVID of the expected SPIFFE ID is held, else 0 (source \"*\": any source).",
        labels: ["source", "spiffe_id"])
    public static let expectedIdentityMissingSeconds = MetricDescriptor(
        "spiffe_expected_identity_missing_seconds", .gauge,
        "Seconds the expected identity has been absent (0 while present; since the expectation was configured if never seen).",
        labels: ["source", "spiffe_id"])
    public static let expectedIdentityProblem = MetricDescriptor(
        "spiffe_expected_identity_problem", .gauge,
        "1 for why the expected identity is absent: never_seen, withdrawn, expired, not_authorized or invalid.",
        labels: ["source", "spiffe_id", "reason"])
    public static let expectedIdentitiesMatched = MetricDescriptor(
        "spiffe_expected_identities_matched", .gauge,
        "Distinct SPIFFE IDs with a valid SVID that match the expected glob.", labels: ["source", "pattern"])
    public static let expectedIdentitiesRequired = MetricDescriptor(
        "spiffe_expected_identities_required", .gauge,
        "The min_count configured for the expected glob.", labels: ["source", "pattern"])
    public static let clockSkewEstimate = MetricDescriptor(
        "spiffe_clock_skew_estimate_seconds", .gauge,
        "Median of arrival - NotBefore - issuer backdate over the last fresh SVIDs pushed on the stream: positive when the local clock is ahead of the issuer's. Absent until 3 samples.",
        labels: ["source"])

    /// Expected identities and the clock skew estimate.
    static let expectations: [MetricDescriptor] = [
        expectedIdentityPresent, expectedIdentityMissingSeconds, expectedIdentityProblem, expectedIdentitiesMatched,
        expectedIdentitiesRequired, clockSkewEstimate,
    ]

    /// Families that carry the labels derived from the SPIFFE ID (``SPIFFEIDLabels``): every one
    /// with a `spiffe_id` label.
    public static var spiffeIDLabelledFamilies: [MetricDescriptor] { all.filter { $0.labels.contains("spiffe_id") } }

    /// Every label name the catalog uses.
    public static var labelVocabulary: Set<String> { Set(all.flatMap(\.labels)) }
}
