// Row "Envoy" of the overview dashboard: what Envoy proxies hold, read from their admin /certs
// (--collector.envoy.admin): the SVIDs closest to expiry, those older than the newest known (a
// missed reload: static certificate files, a lost SDS update), and admin endpoints that cannot
// be read, across the selected instances.
local ds = { type: 'prometheus', uid: '${datasource}' };
local table(title, description, gridPos, expr, valueName, unit) = {
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
    defaults: { unit: unit, custom: { align: 'auto', cellOptions: { type: 'color-text' } }, mappings: [] },
    overrides: [],
  },
  options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' }, sortBy: [{ displayName: valueName, desc: false }] },
  transformations: [
    { id: 'organize', options: { excludeByName: { Time: true, __name__: true, job: true }, renameByName: { Value: valueName } } },
  ],
};
local states(zero, one) = [{
  type: 'value',
  options: {
    '0': { text: zero, color: 'red', index: 0 },
    '1': { text: one, color: 'green', index: 1 },
  },
}];

function(c) {
  title: 'Envoy',
  panels: [
    table(
      'Envoy SVIDs closest to expiry',
      'The 10 SVIDs Envoy holds (listener and upstream cluster contexts, from its admin /certs) that expire first: the earliest NotAfter per Envoy and SPIFFE ID (spiffe_envoy_svid_expiry_timestamp_seconds) minus now. An Envoy that reloads stays near the rotation point; one that does not runs down to 0.',
      { x: 0, y: 0, w: 10, h: 8 },
      'bottomk(10, spiffe_envoy_svid_expiry_timestamp_seconds{instance=~"$instance"} - time())',
      'expires in',
      's',
    ),
    table(
      'Envoy SVIDs current',
      'Per Envoy and SPIFFE ID: current when every SVID Envoy holds is the newest one the other sources know, stale when one is older (spiffe_envoy_svid_current; SpiffeEnvoyServingStaleSVID after 10 minutes). Stale rows sort first.',
      { x: 10, y: 0, w: 9, h: 8 },
      'spiffe_envoy_svid_current{instance=~"$instance"}',
      'state',
      'none',
    ) + { fieldConfig+: { defaults+: { mappings: states('stale', 'current') } } },
    table(
      'Envoy admin endpoints',
      'Whether the last read of each Envoy admin /certs succeeded (spiffe_envoy_up; SpiffeEnvoyAdminDown after 10 minutes). The reason of a failure is in spiffe_envoy_failures_total.',
      { x: 19, y: 0, w: 5, h: 8 },
      'spiffe_envoy_up{instance=~"$instance"}',
      'read',
      'none',
    ) + { fieldConfig+: { defaults+: { mappings: states('down', 'up') } } },
  ],
}
