extension MetricCatalog {
    // MARK: The SPIRE agent itself (Debug API GetInfo, agent data file)

    public static let agentUp = MetricDescriptor(
        "spiffe_agent_up", .gauge,
        "1 when the last read of every configured agent channel (Debug API GetInfo, data file) succeeded, else 0.",
        labels: ["source"])
    public static let agentSVIDExpiry = MetricDescriptor(
        "spiffe_agent_svid_expiry_timestamp_seconds", .gauge,
        "NotAfter of the SPIRE agent's own SVID (the leaf), in Unix seconds; the last known value while the agent cannot be read.",
        labels: ["source", "spiffe_id"])
    public static let agentSVIDExpiresIn = MetricDescriptor(
        "spiffe_agent_svid_expires_in_seconds", .gauge,
        "Seconds from the scrape until the SPIRE agent's own SVID expires; negative once expired.",
        labels: ["source", "spiffe_id"])
    public static let agentLastSyncSuccess = MetricDescriptor(
        "spiffe_agent_last_sync_success_timestamp_seconds", .gauge,
        "When the SPIRE agent last synced with the server (GetInfo last_sync_success), in Unix seconds; 0 when it has not since it started.",
        labels: ["source"])
    public static let agentCachedSVIDs = MetricDescriptor(
        "spiffe_agent_cached_svids", .gauge,
        "SVIDs in the SPIRE agent's caches (GetInfo), by type: x509, jwt, svidstore.", labels: ["source", "type"])
    public static let agentUptime = MetricDescriptor(
        "spiffe_agent_uptime_seconds", .gauge, "Seconds since the SPIRE agent started (GetInfo uptime).", labels: ["source"])
    public static let agentReattestable = MetricDescriptor(
        "spiffe_agent_reattestable", .gauge,
        "1 when the agent data file says the agent can re-attest (get a new SVID without operator help) once its SVID expired, else 0.",
        labels: ["source"])
    public static let agentFailures = MetricDescriptor(
        "spiffe_agent_failures_total", .counter,
        "Failed reads of the SPIRE agent (GetInfo, data file) by reason (see docs/metrics.md).", labels: ["source", "reason"])

    // MARK: Outage budget

    public static let outageBudget = MetricDescriptor(
        "spiffe_outage_budget_seconds", .gauge,
        "Seconds until the first X.509-SVID of the source, or an intermediate CA in its chains, expires: how long its identities survive without renewal; 0 once one has expired.",
        labels: ["source"])
    public static let nodeOutageBudget = MetricDescriptor(
        "spiffe_node_outage_budget_seconds", .gauge,
        "The lowest outage budget of every source, the agent's own SVID included: how long this node keeps its identities if the SPIRE server is unreachable.")
    public static let outageBudgetLimit = MetricDescriptor(
        "spiffe_outage_budget_limit_info", .gauge,
        "1 for the identity whose expiry sets the node outage budget (kind: x509_svid, intermediate, agent_svid).",
        labels: ["source", "spiffe_id", "kind"])

    /// Agent and outage-budget families.
    static let agent: [MetricDescriptor] = [
        agentUp, agentSVIDExpiry, agentSVIDExpiresIn, agentLastSyncSuccess, agentCachedSVIDs, agentUptime,
        agentReattestable, agentFailures, outageBudget, nodeOutageBudget, outageBudgetLimit,
    ]
}
