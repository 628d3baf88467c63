import Foundation

/// The `check` rows of one Envoy read: one per SPIFFE ID Envoy holds an SVID for, its earliest
/// NotAfter against the thresholds, and WARNING when one of Envoy's copies is superseded.
public enum EnvoyCheckRows {
    public static func rows(_ reading: EnvoyReading, thresholds: CheckThresholds, now: Date) -> [CheckIdentity] {
        let caExpiry = reading.certificates.caExpiryByTrustDomain
        return reading.certificates.svids.map { svid in
            let leaf = svid.earliest
            let remaining = leaf.notAfter.timeIntervalSince(now)
            let lifetime = leaf.notAfter.timeIntervalSince(leaf.notBefore)
            var status = CheckStatus.ok
            var summary: String
            let freshness = reading.freshness[svid.spiffeID] ?? .unknown
            switch freshness {
            case .current: summary = "holds the newest SVID"
            case .unknown: summary = "not compared: no other source knows this SPIFFE ID"
            case .stale:
                status = .warning
                summary = "holds a superseded SVID (stale for \(CheckFormatter.duration(freshness.staleSeconds(at: now) ?? 0))): reload missed"
            }
            let (timeStatus, timeSummary) = CheckEvaluator.classify(
                problems: [], remaining: remaining, lifetime: lifetime, thresholds: thresholds)
            if timeStatus > status { (status, summary) = (timeStatus, timeSummary) }
            let trustDomain = (try? SPIFFEID(parsing: svid.spiffeID))?.trustDomain
            var row = CheckIdentity(
                source: reading.source, kind: "envoy", spiffeID: svid.spiffeID, audience: nil, expiresAt: leaf.notAfter,
                expiresInSeconds: remaining,
                lifetimeUsedPercent: lifetime > 0 ? min(100, max(0, now.timeIntervalSince(leaf.notBefore) / lifetime * 100)) : nil,
                problems: [], bundleCAExpiresAt: trustDomain.flatMap { caExpiry[$0] }, status: status, summary: summary)
            // Envoy's valid_from: /status draws the lifetime bar from it.
            row.issuedAt = leaf.notBefore
            return row
        }
    }
}
