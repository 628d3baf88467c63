extension MetricCatalog {
    // MARK: Delegated Identity API
    //
    // The SVIDs of each subscription use the X.509-SVID, renewal and trust bundle families with
    // `source` = the subscription name; its streams use the `spiffe_workload_api_*` families with
    // `rpc` = `SubscribeToX509SVIDs`, `SubscribeToX509SVIDsByPID` or `SubscribeToX509Bundles`.
    public static let delegatedSubscriptionSVIDs = MetricDescriptor(
        "spiffe_delegated_subscription_svids", .gauge,
        "X.509-SVIDs a Delegated Identity API subscription currently receives (0: no registration entry matches, or no process was found).",
        labels: ["source"])
    public static let delegatedSubscriptionProcesses = MetricDescriptor(
        "spiffe_delegated_subscription_processes", .gauge,
        "Processes found in /proc for a process-name subscription, each subscribed to by PID.",
        labels: ["source"])

    // MARK: Agent health
    public static let agentHealthy = MetricDescriptor(
        "spiffe_agent_healthy", .gauge,
        "1 if the agent answered SERVING to the last grpc.health.v1.Health/Check, else 0 (NOT_SERVING, error or no answer).",
        labels: ["source"])
    public static let agentHealthCheckDuration = MetricDescriptor(
        "spiffe_agent_health_check_duration_seconds", .gauge,
        "How long the last grpc.health.v1.Health/Check call on the agent's Workload API socket took.",
        labels: ["source"])

    /// Delegated Identity API and agent health families.
    static let delegated: [MetricDescriptor] = [
        delegatedSubscriptionSVIDs, delegatedSubscriptionProcesses, agentHealthy, agentHealthCheckDuration,
    ]
}
