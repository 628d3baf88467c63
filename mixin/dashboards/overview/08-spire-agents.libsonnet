// Row "SPIRE agents and outage budgets" of the overview dashboard: the nodes closest to losing an
// identity if the SPIRE server went away, and the agents whose own SVID or server sync is closest
// to trouble, across the selected instances.
local ds = { type: 'prometheus', uid: '${datasource}' };
local table(title, description, gridPos, expr, valueName) = {
  type: 'table',
  title: title,
  description: description,
  datasource: ds,
  gridPos: gridPos,
  targets: [{
    datasource: ds,
    editorMode: 'code',
    expr: expr,
    refId: 'A',
    legendFormat: '__auto',
    range: false,
    instant: true,
    format: 'table',
  }],
  fieldConfig: {
    defaults: { unit: 's', custom: { align: 'auto', cellOptions: { type: 'color-text' } }, mappings: [] },
    overrides: [],
  },
  options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' }, sortBy: [{ displayName: valueName, desc: false }] },
  transformations: [
    { id: 'organize', options: { excludeByName: { Time: true, __name__: true, job: true }, renameByName: { Value: valueName } } },
  ],
};

function(c) {
  title: 'SPIRE agents and outage budgets',
  panels: [
    table(
      'Lowest node outage budgets',
      'The 10 exporters (nodes) whose identities would be the first to expire if nothing could be renewed (spiffe_node_outage_budget_seconds), with the identity that ends each budget (spiffe_outage_budget_limit_info). Red under %ds, orange under %ds.' % [c.outageBudgetCriticalSeconds, c.outageBudgetWarningSeconds],
      { x: 0, y: 0, w: 14, h: 8 },
      'bottomk(10, spiffe_node_outage_budget_seconds{instance=~"$instance"} * on (instance, job) group_left (source, spiffe_id, kind) spiffe_outage_budget_limit_info{instance=~"$instance"})',
      'budget',
    ) + {
      fieldConfig+: { defaults+: {
        color: { mode: 'thresholds' },
        thresholds: { mode: 'absolute', steps: [
          { color: 'red', value: null },
          { color: 'orange', value: c.outageBudgetCriticalSeconds },
          { color: 'green', value: c.outageBudgetWarningSeconds },
        ] },
      } },
    },
    table(
      'Agent SVIDs closest to expiry',
      "The 10 SPIRE agents whose own SVID expires first (spiffe_agent_svid_expires_in_seconds). A healthy agent renews at about half its SVID's life; one that cannot reach the server runs down to 0 (SpiffeAgentSVIDRotationStuck, SpiffeAgentSVIDExpiring).",
      { x: 14, y: 0, w: 10, h: 8 },
      'bottomk(10, spiffe_agent_svid_expires_in_seconds{instance=~"$instance"})',
      'SVID expires in',
    ),
  ],
}
