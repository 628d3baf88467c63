// Row "Served certificates" of the overview dashboard: what the TLS and STARTTLS servers probed by
// the selected exporters (--probe.target, and /probe scraped through service discovery) present:
// failing probes first, the longest missed reloads, and the TLS versions in use.
local ds = { type: 'prometheus', uid: '${datasource}' };
local table(title, description, gridPos, expr, valueName, defaults) = {
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
    defaults: { custom: { align: 'auto', cellOptions: { type: 'color-text' } }, mappings: [] } + defaults,
    overrides: [],
  },
  options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' }, sortBy: [{ displayName: valueName, desc: false }] },
  transformations: [
    { id: 'organize', options: { excludeByName: { Time: true, __name__: true, job: true }, renameByName: { Value: valueName } } },
  ],
};
local redUnder(limit) = { color: { mode: 'thresholds' }, thresholds: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: limit }] } };

function(c) {
  title: 'Served certificates',
  panels: [
    table(
      'Probe targets, failing first',
      'Every probed target of the selected exporters with its last result (spiffe_probe_success): failing probes (no connection, STARTTLS refused, an untrusted or wrong SVID) sort first. SpiffeProbeFailing pages on them.',
      { x: 0, y: 0, w: 9, h: 8 },
      'bottomk(20, min by (instance, target) (spiffe_probe_success{instance=~"$instance"}))',
      'probe',
      redUnder(1) + { mappings: [{ type: 'value', options: { '0': { text: 'failing', index: 0 }, '1': { text: 'ok', index: 1 } } }] },
    ),
    table(
      'Longest superseded served SVIDs',
      'The targets that have served a superseded X.509-SVID longest (spiffe_served_svid_stale_seconds; 0 = current): a server that missed its reload keeps the old SVID until it expires (SpiffeServedSVIDStale).',
      { x: 9, y: 0, w: 9, h: 8 },
      'topk(10, max by (instance, target) (spiffe_served_svid_stale_seconds{instance=~"$instance"}))',
      'superseded for',
      { unit: 's', color: { mode: 'thresholds' }, thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'orange', value: 1 }, { color: 'red', value: 600 }] } },
    ) + { options+: { sortBy: [{ displayName: 'superseded for', desc: true }] } },
    table(
      'TLS versions served',
      'How many probed targets negotiated each TLS version at their last probe (spiffe_probe_tls_version_info).',
      { x: 18, y: 0, w: 6, h: 8 },
      'count by (version) (spiffe_probe_tls_version_info{instance=~"$instance"})',
      'targets',
      {},
    ),
  ],
}
