// Group spiffe-exporter-agent: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter-agent",
  rules: [
    // The SPIRE agent does not answer SERVING to grpc.health.v1.Health/Check on its Workload API
    // socket (what `spire-agent healthcheck` calls). Workloads on the node may not get or renew
    // SVIDs. A restart takes seconds; `for: 2m` keeps a rolling update from paging.
    {
      alert: "SpiffeAgentUnhealthy",
      expr: "spiffe_agent_healthy{%(sel)s} == 0" % c,
      'for': "2m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "SPIRE agent behind {{ $labels.source }} on {{ $labels.instance }} is unhealthy.",
        description: "The SPIRE agent at source {{ $labels.source }} on {{ $labels.instance }} has not answered SERVING to grpc.health.v1.Health/Check for 2 minutes (spiffe_agent_healthy = {{ $value | humanize }}); workloads on this node may not get or renew SVIDs.",
        runbook_url: c.runbookURLBase + "#spiffeagentunhealthy",
      },
    },
  ],
}
