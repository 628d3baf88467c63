import Foundation

extension CheckEvaluator {
    /// The `kind` of the agent's own SVID in `check` and `/status`.
    public static let agentSVIDKind = "agent_svid"
    /// The agent syncs with the server every 5 s; no sync for this long means it cannot renew
    /// anything (the SpiffeAgentServerSyncStale alert uses the same default).
    public static let agentSyncStaleAfter: TimeInterval = 600

    /// The agent's own SVID as a `check` row: expiry against the thresholds, the sync with the
    /// server, and whether the agent can re-attest once the SVID is gone.
    public static func agent(_ report: AgentReport, source: String, thresholds: CheckThresholds, now: Date) -> CheckIdentity {
        let leaf = report.leaf
        let remaining = leaf.notAfter.timeIntervalSince(now)
        let lifetime = leaf.notBefore.map { leaf.notAfter.timeIntervalSince($0) }
        let used = leaf.notBefore.flatMap { notBefore -> Double? in
            guard let lifetime, lifetime > 0 else { return nil }
            return min(100, max(0, now.timeIntervalSince(notBefore) / lifetime * 100))
        }
        let problems = remaining <= 0 ? [SVIDProblem.expired.rawValue] : []
        var (status, summary) = classify(
            problems: problems, remaining: remaining, lifetime: lifetime, thresholds: thresholds)
        var notes: [String] = []
        if let sync = report.lastSyncSuccess {
            if sync.timeIntervalSince1970 == 0 {
                notes.append("never synced with the server since it started")
                status = max(status, .warning)
            } else {
                let age = now.timeIntervalSince(sync)
                notes.append("last server sync \(CheckFormatter.duration(max(0, age))) ago")
                if age > agentSyncStaleAfter { status = max(status, .warning) }
            }
        }
        if let intermediate = report.intermediates.map(\.notAfter).min(), intermediate < leaf.notAfter {
            notes.append("intermediate CA expires in \(CheckFormatter.duration(intermediate.timeIntervalSince(now)))")
        }
        if report.reattestable == false, status >= .warning {
            notes.append("cannot re-attest: once its SVID expires the agent needs a new join token or operator help")
        }
        if !notes.isEmpty { summary = ([summary == "ok" ? nil : summary].compactMap { $0 } + notes).joined(separator: "; ") }
        var identity = CheckIdentity(
            source: source, kind: agentSVIDKind, spiffeID: report.spiffeID, audience: nil, expiresAt: leaf.notAfter,
            expiresInSeconds: remaining, lifetimeUsedPercent: used, problems: problems, bundleCAExpiresAt: nil,
            status: status, summary: summary)
        identity.intermediateExpiresAt = report.intermediates.map(\.notAfter).min()
        identity.issuedAt = leaf.notBefore
        return identity
    }
}
