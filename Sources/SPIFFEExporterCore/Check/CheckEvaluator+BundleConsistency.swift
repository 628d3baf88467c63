import Foundation

extension CheckEvaluator {
    /// The `kind` of a trust bundle disagreement row in `check` and `/status`.
    public static let trustBundleKind = "trust_bundle"

    /// One row per channel that lacks roots other channels of its trust domain hold, naming them:
    /// WARNING, or CRITICAL when it holds none of another channel's unexpired roots (peers fail).
    /// Channels in agreement add no row.
    public static func bundleConsistency(_ results: [TrustDomainConsistency]) -> [CheckIdentity] {
        var rows: [CheckIdentity] = []
        for result in results where !result.consistent {
            for channel in result.channels where channel.missingRoots > 0 {
                var summary = "lacks \(channel.missingRoots) \(channel.missingRoots == 1 ? "root" : "roots") that "
                    + channel.missingFrom.joined(separator: ", ") + (channel.missingFrom.count == 1 ? " holds" : " hold")
                if channel.behindSeconds > 0 { summary += ", behind for \(CheckFormatter.duration(channel.behindSeconds))" }
                if channel.cannotVerifyPeers { summary += "; holds none of their unexpired roots: their SVIDs fail here" }
                rows.append(
                    CheckIdentity(
                        source: channel.source, kind: trustBundleKind, spiffeID: "spiffe://" + result.trustDomain,
                        audience: nil, expiresAt: nil, expiresInSeconds: nil, lifetimeUsedPercent: nil, problems: [],
                        bundleCAExpiresAt: nil, status: channel.cannotVerifyPeers ? .critical : .warning, summary: summary))
            }
        }
        return rows
    }
}
