extension MetricCatalog {
    // MARK: Trust bundle consistency across channels

    public static let bundleConsistent = MetricDescriptor(
        "spiffe_trust_bundle_consistent", .gauge,
        "1 when every channel carrying the trust domain holds the same unexpired root CAs (and JWT key IDs), else 0; only for trust domains carried by two or more channels.",
        labels: ["trust_domain"])
    public static let bundleMissingRoots = MetricDescriptor(
        "spiffe_trust_bundle_missing_roots", .gauge,
        "Unexpired root CAs (and JWT keys) that another channel of the trust domain holds and this one lacks; 0 in agreement.",
        labels: ["source", "trust_domain"])
    public static let bundleBehindSeconds = MetricDescriptor(
        "spiffe_trust_bundle_behind_seconds", .gauge,
        "Seconds this channel has lacked a root that another channel of the trust domain already had; 0 in agreement.",
        labels: ["source", "trust_domain"])
    public static let bundleCannotVerifyPeers = MetricDescriptor(
        "spiffe_trust_bundle_cannot_verify_peers", .gauge,
        "1 when another channel of the trust domain holds unexpired root CAs and this one holds none of them (SVIDs issued under them fail to verify here), else 0.",
        labels: ["source", "trust_domain"])

    static let consistency: [MetricDescriptor] = [
        bundleConsistent, bundleMissingRoots, bundleBehindSeconds, bundleCannotVerifyPeers,
    ]
}
