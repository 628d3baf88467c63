// spiffe-exporter monitoring mixin (https://monitoring.mixins.dev layout): alerts, recording rules
// and Grafana dashboards, all built from _config (config.libsonnet). scripts/render-mixin.sh
// renders it into alerts/, dashboards/ and deploy/kubernetes/; see mixin/README.md.
local u = import 'lib/util.libsonnet';

// Every rule's expr goes through cleanExpr, so an empty selector leaves no `{}` behind.
local groups(list, c) = [
  local g = group(c);
  g { rules: [r { expr: u.cleanExpr(r.expr) } for r in g.rules] }
  for group in list
];

(import 'config.libsonnet') + {
  prometheusAlerts+:: { groups+: groups(import 'alerts/alerts.libsonnet', $._config) },
  prometheusRules+:: { groups+: groups(import 'rules/rules.libsonnet', $._config) },
  grafanaDashboards+:: {
    'spiffe-overview.json': (import 'dashboards/overview.libsonnet')($._config),
    'spiffe-workload.json': (import 'dashboards/workload.libsonnet')($._config),
  },
}
