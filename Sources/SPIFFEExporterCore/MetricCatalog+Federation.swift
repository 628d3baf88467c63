import Foundation

extension MetricCatalog {
    // MARK: Federation bundle endpoints (--collector.federation.endpoint)

    public static let federationUp = MetricDescriptor(
        "spiffe_federation_bundle_up", .gauge,
        "1 when the last fetch of the federation bundle endpoint returned a valid bundle of its trust domain, else 0.",
        labels: ["source", "trust_domain"])
    public static let federationSequence = MetricDescriptor(
        "spiffe_federation_bundle_sequence", .gauge,
        "spiffe_sequence of the bundle last fetched from the endpoint (kept through failed fetches); absent when the bundle has none.",
        labels: ["source", "trust_domain"])
    public static let federationRefreshHint = MetricDescriptor(
        "spiffe_federation_bundle_refresh_hint_seconds", .gauge,
        "spiffe_refresh_hint of the bundle last fetched from the endpoint, as served (the exporter refetches at it, bounded to 30 s..1 h); absent when the bundle has none.",
        labels: ["source", "trust_domain"])
    public static let federationLastUpdate = MetricDescriptor(
        "spiffe_federation_bundle_last_update_timestamp_seconds", .gauge,
        "When the endpoint last served a valid bundle (changed or confirmed), in Unix seconds; absent before the first.",
        labels: ["source", "trust_domain"])
    public static let federationEarliestExpiry = MetricDescriptor(
        "spiffe_federation_bundle_earliest_expiry_timestamp_seconds", .gauge,
        "Earliest NotAfter among the unexpired X.509 root CAs of the bundle last fetched from the endpoint, in Unix seconds; absent when it has none.",
        labels: ["source", "trust_domain"])
    public static let federationFailures = MetricDescriptor(
        "spiffe_federation_bundle_failures_total", .counter,
        "Failed fetches of the federation bundle endpoint by reason (see docs/metrics.md); every reason starts at 0.",
        labels: ["source", "reason"])

    static let federation: [MetricDescriptor] = [
        federationUp, federationSequence, federationRefreshHint, federationLastUpdate, federationEarliestExpiry,
        federationFailures,
    ]
}

/// Renders the per-endpoint federation gauges fresh from the snapshots (the failure counters live
/// in the registry), so an endpoint removed by a reload simply stops being emitted.
public enum FederationMetrics {
    public static func collect(_ snapshots: [SourceSnapshot], now: Date, into builder: inout ScrapeBuilder) {
        var up: [Sample] = []
        var sequence: [Sample] = []
        var hint: [Sample] = []
        var lastUpdate: [Sample] = []
        var expiry: [Sample] = []
        for snapshot in snapshots.sorted(by: { $0.source < $1.source }) {
            guard let state = snapshot.federation else { continue }
            let labels = [snapshot.source, state.trustDomain]
            up.append(Sample(labels, state.isUp ? 1 : 0))
            if let updated = state.lastUpdate { lastUpdate.append(Sample(labels, updated.timeIntervalSince1970)) }
            guard let document = state.document else { continue }
            if let value = document.sequence { sequence.append(Sample(labels, Double(value))) }
            if let value = document.refreshHint { hint.append(Sample(labels, value)) }
            if let earliest = document.earliestExpiry(at: now) { expiry.append(Sample(labels, earliest.timeIntervalSince1970)) }
        }
        builder.add(MetricCatalog.federationUp, up)
        builder.add(MetricCatalog.federationSequence, sequence)
        builder.add(MetricCatalog.federationRefreshHint, hint)
        builder.add(MetricCatalog.federationLastUpdate, lastUpdate)
        builder.add(MetricCatalog.federationEarliestExpiry, expiry)
    }
}
