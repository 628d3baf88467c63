import Foundation

/// The latest good read of one Envoy source, with each SPIFFE ID's verdict against the newest
/// SVID the other sources knew at read time (as the probe compares at probe time).
public struct EnvoyReading: Sendable {
    public var source: String
    public var certificates: EnvoyCertificates
    /// By SPIFFE ID; IDs no other source knows are absent or `.unknown`.
    public var freshness: [String: ServedSVIDFreshness]

    public init(source: String, certificates: EnvoyCertificates, freshness: [String: ServedSVIDFreshness]) {
        self.source = source
        self.certificates = certificates
        self.freshness = freshness
    }
}

/// Renders the per-identity Envoy series at scrape time. `spiffe_envoy_up` and
/// `spiffe_envoy_failures_total` live in the ``MetricsRegistry``.
public enum EnvoyMetrics {
    public static func collect(_ readings: [EnvoyReading], into builder: inout ScrapeBuilder) {
        var count: [Sample] = []
        var expiry: [Sample] = []
        var current: [Sample] = []
        var caExpiry: [Sample] = []
        for reading in readings.sorted(by: { $0.source < $1.source }) {
            let source = reading.source
            count.append(Sample([source], Double(reading.certificates.certificateCount)))
            for svid in reading.certificates.svids {
                expiry.append(Sample([source, svid.spiffeID], svid.earliest.notAfter.timeIntervalSince1970))
                if let value = reading.freshness[svid.spiffeID]?.currentValue {
                    current.append(Sample([source, svid.spiffeID], value))
                }
            }
            for (domain, date) in reading.certificates.caExpiryByTrustDomain.sorted(by: { $0.key < $1.key }) {
                caExpiry.append(Sample([source, domain], date.timeIntervalSince1970))
            }
        }
        builder.add(MetricCatalog.envoyCertificates, count)
        builder.add(MetricCatalog.envoySVIDExpiry, expiry)
        builder.add(MetricCatalog.envoySVIDCurrent, current)
        builder.add(MetricCatalog.envoyCAExpiry, caExpiry)
    }
}
