// Two tables shared by both dashboards' "Trust bundles" rows: how the copies (channels) of each
// trust domain's bundle compare, and the federation bundle endpoints the exporter fetches.
// `instance` is the matcher of the dashboard ('instance="$instance"' or 'instance=~"$instance"'),
// `by` the labels kept across instances ('' on the workload dashboard: one instance).
{
  local ds = { type: 'prometheus', uid: '${datasource}' },
  local target(ref, expr) = {
    datasource: ds,
    editorMode: 'code',
    expr: expr,
    refId: ref,
    legendFormat: '__auto',
    range: false,
    instant: true,
    format: 'table',
  },
  local column(ref, name, extra=[]) = {
    matcher: { id: 'byName', options: 'Value #' + ref },
    properties: [{ id: 'displayName', value: name }] + extra,
  },
  local label(name, display) = {
    matcher: { id: 'byName', options: name },
    properties: [{ id: 'displayName', value: display }],
  },
  local redAbove(value) = [
    { id: 'thresholds', value: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: value }] } },
    { id: 'custom.cellOptions', value: { type: 'color-background' } },
  ],
  local table(title, description, gridPos, targets, overrides, order) = {
    type: 'table',
    title: title,
    description: description,
    datasource: ds,
    gridPos: gridPos,
    targets: targets,
    fieldConfig: {
      defaults: {
        custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false, filterable: true },
        thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] },
        mappings: [],
        color: { mode: 'thresholds' },
      },
      overrides: overrides,
    },
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } },
    transformations: [
      { id: 'merge', options: {} },
      {
        id: 'organize',
        options: {
          excludeByName: { Time: true, __name__: true, job: true },
          renameByName: {},
          indexByName: { [order[i]]: i for i in std.range(0, std.length(order) - 1) },
        },
      },
    ],
  },

  consistency(c, instance, by, gridPos)::
    local agg(f, m) = if by == '' then m else f + ' by (' + by + 'source, trust_domain) (' + m + ')';
    table(
      'Trust bundle consistency',
      'Each copy (channel) of each trust domain\'s bundle compared with the others: Workload API sources, spiffe-helper directories, delegated subscriptions, the agent data file, bundle files and federation bundle endpoints. Missing: unexpired roots another copy holds and this one lacks. Behind: how long it has lacked them (SpiffeTrustBundleChannelBehind past ' + c.bundleBehindSeconds + ' s). Cannot verify: it holds none of another copy\'s roots (SpiffeTrustBundleChannelCannotVerifyPeers). Only trust domains with two or more copies appear.',
      gridPos,
      [
        target('A', agg('max', 'spiffe_trust_bundle_missing_roots{' + instance + '}')),
        target('B', agg('max', 'spiffe_trust_bundle_behind_seconds{' + instance + '}')),
        target('C', agg('max', 'spiffe_trust_bundle_cannot_verify_peers{' + instance + '}')),
      ],
      [
        column('A', 'Missing roots', redAbove(1)),
        column('B', 'Behind', [{ id: 'unit', value: 's' }] + redAbove(c.bundleBehindSeconds)),
        column('C', 'Cannot verify peers', redAbove(1)),
        label('trust_domain', 'Trust domain'),
        label('source', 'Channel (source)'),
        label('instance', 'Instance'),
      ],
      ['trust_domain', 'source', 'instance', 'Value #A', 'Value #B', 'Value #C'],
    ),

  federation(c, instance, by, gridPos)::
    local agg(f, m) = if by == '' then m else f + ' by (' + by + 'source, trust_domain) (' + m + ')';
    table(
      'Federation bundle endpoints',
      'The federation bundle endpoints this exporter fetches (--collector.federation.endpoint). Up: the last fetch returned a valid bundle (SpiffeFederationBundleFetchFailing after 15 min at 0). Sequence: spiffe_sequence of the last good bundle. Updated: seconds since the last valid bundle (SpiffeFederationBundleStale past ' + c.federationBundleStaleSeconds + ' s). Failures: failed fetches over the time range, all reasons.',
      gridPos,
      [
        target('A', agg('min', 'spiffe_federation_bundle_up{' + instance + '}')),
        target('B', agg('max', 'spiffe_federation_bundle_sequence{' + instance + '}')),
        target('C', agg('max', 'time() - spiffe_federation_bundle_last_update_timestamp_seconds{' + instance + '}')),
        target('D', agg('min', 'spiffe_federation_bundle_earliest_expiry_timestamp_seconds{' + instance + '} * 1000')),
        target(
          'E',
          'sum by (' + (if by == '' then '' else by) + 'source) (increase(spiffe_federation_bundle_failures_total{' + instance + '}[$__range]))'
          + ' * on (' + (if by == '' then '' else by) + 'source) group_left (trust_domain) max by (' + (if by == '' then '' else by) + 'source, trust_domain) (spiffe_federation_bundle_up{' + instance + '} * 0 + 1)',
        ),
      ],
      [
        column('A', 'Up', [
          { id: 'thresholds', value: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }] } },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ]),
        column('B', 'Sequence', [{ id: 'decimals', value: 0 }]),
        column('C', 'Updated', [{ id: 'unit', value: 's' }] + redAbove(c.federationBundleStaleSeconds)),
        column('D', 'Soonest valid root expires', [{ id: 'unit', value: 'dateTimeAsIso' }]),
        column('E', 'Failures', [{ id: 'decimals', value: 0 }]),
        label('trust_domain', 'Trust domain'),
        label('source', 'Endpoint (source)'),
        label('instance', 'Instance'),
      ],
      ['source', 'trust_domain', 'instance', 'Value #A', 'Value #B', 'Value #C', 'Value #D', 'Value #E'],
    ),
}
