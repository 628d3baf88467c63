// Row "SPIRE agent and outage budget" of the workload dashboard: the agent's own SVID, its sync
// with the server and caches (agent collector), and how long this node keeps its identities if
// nothing can be renewed, with the identity that ends it first. Empty without an agent collector
// (--collector.agent.admin-address / --collector.agent.data-file) for the budget's agent part.
local ds = { type: 'prometheus', uid: '${datasource}' };
local target(expr, legend, ref='A', instant=false) = {
  datasource: ds,
  editorMode: 'code',
  expr: expr,
  refId: ref,
  legendFormat: legend,
  range: !instant,
  instant: instant,
  format: if instant then 'table' else 'time_series',
};
// Red under `critical`, orange under `warning` (seconds left).
local countdownSteps(critical, warning) = [
  { color: 'red', value: null },
  { color: 'orange', value: critical },
  { color: 'green', value: warning },
];
local stat(title, description, gridPos, targets, unit, steps) = {
  type: 'stat',
  title: title,
  description: description,
  datasource: ds,
  gridPos: gridPos,
  targets: targets,
  fieldConfig: {
    defaults: { unit: unit, color: { mode: 'thresholds' }, thresholds: { mode: 'absolute', steps: steps }, mappings: [] },
    overrides: [],
  },
  options: {
    reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    colorMode: 'background',
    graphMode: 'area',
    justifyMode: 'auto',
    orientation: 'auto',
    textMode: 'auto',
    wideLayout: true,
    showPercentChange: false,
  },
};
local timeseries(title, description, gridPos, targets, unit) = {
  type: 'timeseries',
  title: title,
  description: description,
  datasource: ds,
  gridPos: gridPos,
  targets: targets,
  fieldConfig: {
    defaults: {
      unit: unit,
      custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false, axisSoftMin: 0 },
      color: { mode: 'palette-classic' },
      thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] },
      mappings: [],
    },
    overrides: [],
  },
  options: {
    legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'min'] },
    tooltip: { mode: 'multi', sort: 'none' },
  },
};

function(c) {
  title: 'SPIRE agent and outage budget',
  panels: [
    stat(
      'Agent SVID expires in',
      "Countdown to the NotAfter of the SPIRE agent's own SVID. Red under %ds (SpiffeAgentSVIDExpiring, once past its renewal deadline), orange under %ds." % [c.agentSVIDExpiringSeconds, c.outageBudgetWarningSeconds],
      { x: 0, y: 0, w: 6, h: 5 },
      [target('spiffe_agent_svid_expires_in_seconds{instance="$instance"}', '{{source}}')],
      's', countdownSteps(c.agentSVIDExpiringSeconds, c.outageBudgetWarningSeconds),
    ),
    stat(
      'Since last server sync',
      'Time since the agent last synced with the SPIRE server (GetInfo last_sync_success; it syncs every 5 s). Red over %ds (SpiffeAgentServerSyncStale).' % c.agentSyncStaleSeconds,
      { x: 6, y: 0, w: 6, h: 5 },
      [target('time() - spiffe_agent_last_sync_success_timestamp_seconds{instance="$instance"}', '{{source}}')],
      's', [{ color: 'green', value: null }, { color: 'orange', value: 60 }, { color: 'red', value: c.agentSyncStaleSeconds }],
    ),
    stat(
      'Node outage budget',
      'How long this node keeps its identities if nothing can be renewed from now on: the time until the first X.509-SVID, intermediate CA or agent SVID expires. Red under %ds, orange under %ds (SpiffeNodeOutageBudgetCritical / Low, when it also shrinks unrenewed).' % [c.outageBudgetCriticalSeconds, c.outageBudgetWarningSeconds],
      { x: 12, y: 0, w: 6, h: 5 },
      [target('spiffe_node_outage_budget_seconds{instance="$instance"}', 'node')],
      's', countdownSteps(c.outageBudgetCriticalSeconds, c.outageBudgetWarningSeconds),
    ),
    stat(
      'Agent readable, can re-attest',
      'spiffe_agent_up: 1 when the last read of the agent (admin socket, data file) succeeded (SpiffeAgentCollectorDown). spiffe_agent_reattestable (data file only): 0 means an expired agent SVID needs operator help.',
      { x: 18, y: 0, w: 6, h: 5 },
      [
        target('spiffe_agent_up{instance="$instance"}', 'up {{source}}'),
        target('spiffe_agent_reattestable{instance="$instance"}', 'reattestable {{source}}', 'B'),
      ],
      'short', [{ color: 'red', value: null }, { color: 'green', value: 1 }],
    ),
    {
      type: 'table',
      title: 'Identity that sets the node budget',
      description: 'spiffe_outage_budget_limit_info: the source, SPIFFE ID and kind (x509_svid, intermediate, agent_svid) whose expiry ends the node outage budget, with the budget.',
      datasource: ds,
      gridPos: { x: 0, y: 5, w: 12, h: 5 },
      targets: [
        target(
          'spiffe_node_outage_budget_seconds{instance="$instance"} * on (instance, job) group_left (source, spiffe_id, kind) spiffe_outage_budget_limit_info{instance="$instance"}',
          '__auto', 'A', true
        ),
      ],
      fieldConfig: {
        defaults: { unit: 's', custom: { align: 'auto', cellOptions: { type: 'auto' } }, mappings: [] },
        overrides: [],
      },
      options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } },
      transformations: [
        { id: 'organize', options: { excludeByName: { Time: true, __name__: true, job: true, instance: true }, renameByName: { Value: 'budget' } } },
      ],
    },
    timeseries(
      'Outage budget per source',
      'spiffe_outage_budget_seconds: for each source holding X.509-SVIDs (the agent included), the time until its first SVID or intermediate CA expires. A healthy source saws up at each rotation; a straight line down means nothing is renewed.',
      { x: 12, y: 5, w: 12, h: 5 },
      [target('spiffe_outage_budget_seconds{instance="$instance"}', '{{source}}')],
      's',
    ),
    timeseries(
      'Agent caches',
      "SVIDs in the agent's caches (GetInfo), by type: x509, jwt, svidstore.",
      { x: 0, y: 10, w: 12, h: 6 },
      [target('spiffe_agent_cached_svids{instance="$instance"}', '{{source}} {{type}}')],
      'short',
    ),
    timeseries(
      'Agent read failures',
      'Failed reads of the agent per minute, by reason (spiffe_agent_failures_total; see docs/metrics.md).',
      { x: 12, y: 10, w: 12, h: 6 },
      [target('sum by (source, reason) (rate(spiffe_agent_failures_total{instance="$instance"}[$__rate_interval])) * 60', '{{source}} {{reason}}')],
      'short',
    ),
  ],
}
