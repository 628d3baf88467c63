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
    // The agent's own SVID passed its renewal deadline (SPIRE renews it at about half its life;
    // the deadline is --renewal.deadline-fraction, 0.75 by default: the renewal point plus grace)
    // and no new one has been seen. The agent cannot reach the server, or the server refuses it.
    // Every workload identity on the node dies with it.
    {
      alert: "SpiffeAgentSVIDRotationStuck",
      expr: |||
        (time() - spiffe_x509_svid_renewal_deadline_timestamp_seconds{%(sel)s})
        and on (instance, job, source, spiffe_id)
        (
          spiffe_x509_svid_renewal_overdue{%(sel)s} == 1
          and on (instance, job, source, spiffe_id) spiffe_agent_svid_expiry_timestamp_seconds{%(sel)s}
        )
      ||| % c,
      'for': "5m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "SPIRE agent SVID {{ $labels.spiffe_id }} is {{ $value | humanizeDuration }} past its renewal deadline.",
        description: "The SPIRE agent's own SVID {{ $labels.spiffe_id }} (source {{ $labels.source }}, instance {{ $labels.instance }}) should have been renewed {{ $value | humanizeDuration }} ago. When it expires the agent can renew nothing, and every identity on the node follows.",
        runbook_url: c.runbookURLBase + "#spiffeagentsvidrotationstuck",
      },
    },
    // Less than agentSVIDExpiringSeconds left and past its renewal deadline (short-lived agent
    // SVIDs of a healthy agent always have little left, but are renewed before the deadline).
    // Fires only while the SVID is still valid; SpiffeAgentSVIDExpired after.
    {
      alert: "SpiffeAgentSVIDExpiring",
      expr: |||
        spiffe_agent_svid_expires_in_seconds{%(sel)s} > 0 and spiffe_agent_svid_expires_in_seconds{%(sel)s} < %(agentSVIDExpiringSeconds)s
        and on (instance, job, source, spiffe_id) spiffe_x509_svid_renewal_overdue{%(sel)s} == 1
      ||| % c,
      'for': "1m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "SPIRE agent SVID {{ $labels.spiffe_id }} expires in {{ $value | humanizeDuration }}.",
        description: "The SPIRE agent's own SVID {{ $labels.spiffe_id }} (source {{ $labels.source }}, instance {{ $labels.instance }}) expires in {{ $value | humanizeDuration }} and has not been renewed. Once it expires the agent can renew no workload SVID.",
        runbook_url: c.runbookURLBase + "#spiffeagentsvidexpiring",
      },
    },
    // The value is the time since it expired.
    {
      alert: "SpiffeAgentSVIDExpired",
      expr: "-spiffe_agent_svid_expires_in_seconds{%(sel)s} >= 0" % c,
      'for': "0m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "SPIRE agent SVID {{ $labels.spiffe_id }} has expired.",
        description: "The SPIRE agent's own SVID {{ $labels.spiffe_id }} (source {{ $labels.source }}, instance {{ $labels.instance }}) expired {{ $value | humanizeDuration }} ago. The agent cannot renew anything until it attests again; check spiffe_agent_reattestable (0: it needs operator help).",
        runbook_url: c.runbookURLBase + "#spiffeagentsvidexpired",
      },
    },
    // The agent syncs with the server every 5 s; agentSyncStaleSeconds without a successful sync
    // means it can renew nothing (cached SVIDs keep being served, SPIRE's health checks stay green).
    {
      alert: "SpiffeAgentServerSyncStale",
      expr: "time() - spiffe_agent_last_sync_success_timestamp_seconds{%(sel)s} > %(agentSyncStaleSeconds)s" % c,
      'for': "5m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "The SPIRE agent (source {{ $labels.source }}) on {{ $labels.instance }} has not synced with the server for {{ $value | humanizeDuration }}.",
        description: "The SPIRE agent (source {{ $labels.source }}, instance {{ $labels.instance }}) last synced with the SPIRE server {{ $value | humanizeDuration }} ago. It keeps serving cached SVIDs but renews nothing; spiffe_node_outage_budget_seconds says how long the node has left.",
        runbook_url: c.runbookURLBase + "#spiffeagentserversyncstale",
      },
    },
    // How long the node keeps its identities if nothing can be renewed, and which identity ends it.
    // A healthy node with SPIRE-default 1 h SVIDs stays above ~27 minutes (rotation at 45-55 % of
    // the lifetime). Short-lived SVIDs sit under any threshold while healthy, so the rules also
    // ask that the budget shrinks second by second over 5 minutes (deriv about -1: nothing that
    // sets it was renewed); a spent budget (0: an identity expired) is critical as it is.
    {
      alert: "SpiffeNodeOutageBudgetLow",
      expr: |||
        (
          (
            spiffe_node_outage_budget_seconds{%(sel)s} < %(outageBudgetWarningSeconds)s
            and on (instance, job) deriv(spiffe_node_outage_budget_seconds{%(sel)s}[5m]) < -0.5
          )
          unless on (instance, job) spiffe_node_outage_budget_seconds{%(sel)s} < %(outageBudgetCriticalSeconds)s
        )
        * on (instance, job) group_left (source, spiffe_id, kind) spiffe_outage_budget_limit_info{%(sel)s}
      ||| % c,
      'for': "5m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "Node {{ $labels.instance }} loses an identity in {{ $value | humanizeDuration }} if nothing is renewed.",
        description: "If the SPIRE server stays unreachable, the first identity on {{ $labels.instance }} expires in {{ $value | humanizeDuration }}: {{ $labels.kind }} {{ $labels.spiffe_id }} of source {{ $labels.source }}.",
        runbook_url: c.runbookURLBase + "#spiffenodeoutagebudgetlow",
      },
    },
    {
      alert: "SpiffeNodeOutageBudgetCritical",
      expr: |||
        (
          (
            spiffe_node_outage_budget_seconds{%(sel)s} < %(outageBudgetCriticalSeconds)s
            and on (instance, job) deriv(spiffe_node_outage_budget_seconds{%(sel)s}[5m]) < -0.5
          )
          or spiffe_node_outage_budget_seconds{%(sel)s} == 0
        )
        * on (instance, job) group_left (source, spiffe_id, kind) spiffe_outage_budget_limit_info{%(sel)s}
      ||| % c,
      'for': "1m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "Node {{ $labels.instance }} loses an identity in {{ $value | humanizeDuration }}.",
        description: "The first identity on {{ $labels.instance }} expires in {{ $value | humanizeDuration }} and no renewal is in sight: {{ $labels.kind }} {{ $labels.spiffe_id }} of source {{ $labels.source }}.",
        runbook_url: c.runbookURLBase + "#spiffenodeoutagebudgetcritical",
      },
    },
    // The exporter cannot read the agent (admin socket, data file); its failure reason is in
    // spiffe_agent_failures_total. Everything else about the agent is then the last known value.
    {
      alert: "SpiffeAgentCollectorDown",
      expr: "spiffe_agent_up{%(sel)s} == 0" % c,
      'for': "5m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "spiffe-exporter on {{ $labels.instance }} cannot read the SPIRE agent (source {{ $labels.source }}).",
        description: "spiffe-exporter on {{ $labels.instance }} has not read the SPIRE agent (source {{ $labels.source }}) for 5 minutes: its own SVID and server sync are not watched. The reason is in spiffe_agent_failures_total{source=\"{{ $labels.source }}\"}.",
        runbook_url: c.runbookURLBase + "#spiffeagentcollectordown",
      },
    },
  ],
}
