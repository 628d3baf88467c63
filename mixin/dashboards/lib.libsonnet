// Builds a dashboard from its rows: lays the rows out top to bottom, numbers the panels, adds the
// shared variables (datasource, cluster, the alert thresholds as hidden constants) and scopes every
// query to the selected cluster.

{
  // Every query names the instance (exporter series) or reads a recorded fleet series filtered by
  // source; the cluster matcher goes in front of either. "All" is `.*`, which also matches series
  // without the label, so a single Prometheus needs no cluster label at all.
  scope(c, expr)::
    local m = if c.clusterLabel == '' then '' else c.clusterLabel + '=~"$cluster", ';
    std.foldl(function(e, p) std.strReplace(e, p[0], p[1]), [
      ['instance=~"$instance"', m + 'instance=~"$instance"'],
      ['instance="$instance"', m + 'instance="$instance"'],
      ['{source=~"$source"}', '{' + m + 'source=~"$source"}'],
      // The instance list: only the exporters the selector picks, in the selected cluster.
      ['label_values(spiffe_exporter_build_info, instance)', 'label_values(' + $.exporters(c, true) + ', instance)'],
    ], expr),

  // spiffe_exporter_build_info with the selector (and the cluster matcher): one series per exporter.
  exporters(c, inCluster)::
    local matchers = [x for x in [if inCluster && c.clusterLabel != '' then c.clusterLabel + '=~"$cluster"' else '', c.selector] if x != ''];
    'spiffe_exporter_build_info' + (if matchers == [] then '' else '{' + std.join(', ', matchers) + '}'),

  local scopeTarget(c, t) = t + (if std.objectHas(t, 'expr') then { expr: $.scope(c, t.expr) } else {}),
  local scopePanel(c, p) = p + (if std.objectHas(p, 'targets') then { targets: [scopeTarget(c, t) for t in p.targets] } else {}),
  local scopeVariable(c, v) = v + (
    if v.type != 'query' then {} else {
      definition: $.scope(c, v.definition),
      query+: { query: $.scope(c, v.query.query) },
    }
  ),

  local constant(name, value, description) = {
    name: name,
    type: 'constant',
    hide: 2,
    query: std.toString(value),
    description: description + ' (mixin _config; rendered into the alert rules too)',
    current: { selected: false, text: std.toString(value), value: std.toString(value) },
    options: [{ selected: true, text: std.toString(value), value: std.toString(value) }],
    skipUrlSync: true,
  },

  local datasource = {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
    skipUrlSync: false,
  },

  local cluster(c, multi) = {
    name: 'cluster',
    label: 'Cluster',
    type: 'query',
    datasource: { type: 'prometheus', uid: '${datasource}' },
    local q = 'label_values(' + $.exporters(c, false) + ', ' + c.clusterLabel + ')',
    definition: q,
    query: { qryType: 1, query: q, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    current: {},
    hide: if c.showMultiCluster then 0 else 2,
    includeAll: true,
    allValue: '.*',
    multi: multi,
    options: [],
    refresh: 2,
    regex: '',
    skipUrlSync: false,
    sort: 1,
  },

  // Rows are {title, panels}; a panel's gridPos.y counts from just below its row's header, and a
  // row is as tall as its tallest column. Panels without an id are numbered in order.
  layout(rowList)::
    local heights = [std.foldl(std.max, [p.gridPos.y + p.gridPos.h for p in r.panels], 0) for r in rowList];
    local starts = std.foldl(function(acc, h) acc + [acc[std.length(acc) - 1] + 1 + h], heights, [0]);
    local placed = std.flattenArrays([
      [{ type: 'row', title: rowList[i].title, collapsed: false, gridPos: { x: 0, y: starts[i], w: 24, h: 1 }, panels: [] }]
      + [p { gridPos+: { y: starts[i] + 1 + p.gridPos.y } } for p in rowList[i].panels]
      for i in std.range(0, std.length(rowList) - 1)
    ]);
    [placed[i] { id: i + 1 } for i in std.range(0, std.length(placed) - 1)],

  dashboard(c, top, variables, rows)::
    local rowList = [r(c) for r in rows];
    local multi = std.length([v for v in variables if v.name == 'instance' && v.multi]) > 0;
    top {
      annotations+: { list: [a + (if std.objectHas(a, 'expr') then { expr: $.scope(c, a.expr) } else {}) for a in super.list] },
      panels: [scopePanel(c, p) for p in $.layout(rowList)],
      templating: {
        list: [datasource]
              + (if c.clusterLabel == '' then [] else [cluster(c, multi)])
              + [scopeVariable(c, v) for v in variables]
              + [
                constant('critical_seconds', c.svidCriticalSeconds, 'SpiffeX509SVIDExpiringCritical threshold (s)'),
                constant('warning_seconds', c.svidWarningSeconds, 'SpiffeX509SVIDExpiringSoon absolute threshold (s)'),
                constant('warning_fraction', c.svidWarningFraction, 'SpiffeX509SVIDExpiringSoon fraction of lifetime'),
                constant('slow_load_seconds', c.slowLoadSeconds, 'SpiffeWorkloadAPISlowLoad p99 threshold (s)'),
              ],
      },
    },
}
