import Foundation

/// How the SVID a server presents compares with the newest SVID known for its SPIFFE ID.
public enum ServedSVIDFreshness: Sendable, Hashable {
    /// Nothing is known for the SPIFFE ID: no comparison is possible.
    case unknown
    /// The server presents the newest known SVID, or one at least as new.
    case current
    /// A newer SVID exists; `since` is its notBefore, the moment the served one was superseded
    /// at the latest.
    case stale(since: Date)

    /// Compares by serial number first (the same certificate), then by (notBefore, notAfter), the
    /// order `IdentityStore.newestSVID(spiffeID:)` uses: a served leaf at least as new as the
    /// newest known one (the server got it before the exporter saw it) is current.
    public static func compare(served: CertificateFacts, newest: CertificateFacts?) -> ServedSVIDFreshness {
        compare(
            servedSerialNumber: served.serialNumber, servedNotBefore: served.notBefore, servedNotAfter: served.notAfter,
            newest: newest)
    }

    /// The same rule for a leaf known only by its serial number (hex, any case, leading zeros
    /// ignored) and validity, as Envoy's admin `/certs` describes the certificates it holds.
    public static func compare(
        servedSerialNumber: String, servedNotBefore: Date, servedNotAfter: Date, newest: CertificateFacts?
    ) -> ServedSVIDFreshness {
        guard let newest else { return .unknown }
        if !servedSerialNumber.isEmpty, normalizedSerial(servedSerialNumber) == normalizedSerial(newest.serialNumber) {
            return .current
        }
        if (servedNotBefore, servedNotAfter) >= (newest.notBefore, newest.notAfter) { return .current }
        return .stale(since: newest.notBefore)
    }

    /// Lowercase hex without leading zeros: DER pads a serial with a 00 byte, Envoy prints none.
    static func normalizedSerial(_ serial: String) -> String {
        let trimmed = serial.lowercased().drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    /// `spiffe_served_svid_current`: 1, 0, or no series.
    public var currentValue: Double? {
        switch self {
        case .unknown: nil
        case .current: 1
        case .stale: 0
        }
    }

    /// `spiffe_served_svid_stale_seconds` at `now`: 0 when current, the time since the served SVID
    /// was superseded when stale (never negative), no series when unknown.
    public func staleSeconds(at now: Date) -> Double? {
        switch self {
        case .unknown: nil
        case .current: 0
        case .stale(let since): max(0, now.timeIntervalSince(since))
        }
    }
}

/// The outcome of one probe of one target, as kept until the next probe replaces it.
public struct ProbeResult: Sendable {
    public var target: String
    /// When the probe finished.
    public var finishedAt: Date
    public var duration: TimeInterval
    /// `nil` for a successful probe.
    public var failure: ProbeFailureReason?
    /// The trusted SVID the server presented (also set for a probe that failed only because that
    /// SVID has expired).
    public var served: ServedSVID?
    /// How `served` compared with the newest SVID known at probe time.
    public var freshness: ServedSVIDFreshness
    /// For logs only, never a label.
    public var detail: String
    /// For a `client_auth=required` target: whether the server refused the probe's connection
    /// without a client certificate; `nil` when not checked or that connection did not get far
    /// enough to tell (no connection, timeout, untrusted server).
    public var clientAuthEnforced: Bool?
    /// The negotiated protocol version as blackbox_exporter writes it (`TLS 1.3`), after a
    /// completed handshake.
    public var tlsVersion: String?
    /// The negotiated cipher suite by IANA name (`TLS_AES_128_GCM_SHA256`), after a completed
    /// handshake.
    public var tlsCipher: String?

    public init(
        target: String, finishedAt: Date, duration: TimeInterval, failure: ProbeFailureReason?,
        served: ServedSVID? = nil, freshness: ServedSVIDFreshness = .unknown, detail: String = ""
    ) {
        self.target = target
        self.finishedAt = finishedAt
        self.duration = duration
        self.failure = failure
        self.served = served
        self.freshness = served == nil ? .unknown : freshness
        self.detail = detail
    }

    public var succeeded: Bool { failure == nil }

    /// This result, with the moment its served SVID was first seen superseded carried over from
    /// `previous` when both probes saw the same served SVID stale. Each comparison only knows the
    /// newest SVID, whose notBefore moves forward with every further rotation; without this a
    /// server stuck through several rotations would look as if it had just missed one.
    public func keepingEarliestStaleness(from previous: ProbeResult?) -> ProbeResult {
        guard case .stale(let since) = freshness, let served, let previous,
            previous.served?.leaf.serialNumber == served.leaf.serialNumber,
            previous.served?.spiffeID == served.spiffeID,
            case .stale(let earlier) = previous.freshness, earlier < since
        else { return self }
        var result = self
        result.freshness = .stale(since: earlier)
        return result
    }
}

/// Renders the per-target probe series from the latest result of each target, at scrape time.
/// `spiffe_probe_failures_total` is a process counter and lives in the ``MetricsRegistry``.
public enum ProbeMetrics {
    public static func collect(_ results: [ProbeResult], now: Date, into builder: inout ScrapeBuilder) {
        var success: [Sample] = []
        var duration: [Sample] = []
        var expiry: [Sample] = []
        var current: [Sample] = []
        var stale: [Sample] = []
        var clientAuth: [Sample] = []
        var version: [Sample] = []
        var cipher: [Sample] = []
        for result in results {
            success.append(Sample([result.target], result.succeeded ? 1 : 0))
            duration.append(Sample([result.target], result.duration))
            if let enforced = result.clientAuthEnforced { clientAuth.append(Sample([result.target], enforced ? 1 : 0)) }
            if let name = result.tlsVersion { version.append(Sample([result.target, name], 1)) }
            if let name = result.tlsCipher { cipher.append(Sample([result.target, name], 1)) }
            guard let served = result.served else { continue }
            let labels = [result.target, served.spiffeID]
            expiry.append(Sample(labels, served.leaf.notAfter.timeIntervalSince1970))
            if let value = result.freshness.currentValue { current.append(Sample(labels, value)) }
            if let seconds = result.freshness.staleSeconds(at: now) { stale.append(Sample([result.target], seconds)) }
        }
        builder.add(MetricCatalog.probeSuccess, success)
        builder.add(MetricCatalog.probeDuration, duration)
        builder.add(MetricCatalog.servedSVIDExpiry, expiry)
        builder.add(MetricCatalog.servedSVIDCurrent, current)
        builder.add(MetricCatalog.servedSVIDStale, stale)
        // Only exporters with such targets / completed handshakes show these families at all.
        if !clientAuth.isEmpty { builder.add(MetricCatalog.probeClientAuthEnforced, clientAuth) }
        if !version.isEmpty { builder.add(MetricCatalog.probeTLSVersionInfo, version) }
        if !cipher.isEmpty { builder.add(MetricCatalog.probeTLSCipherInfo, cipher) }
    }
}
