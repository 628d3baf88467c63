// The overview dashboard (spiffe-overview). Rows are listed in order, one file each under overview/.
local lib = import 'lib.libsonnet';

function(c) lib.dashboard(c, {
  annotations: {
    list: [
      {
        builtIn: 1,
        datasource: {
          type: "grafana",
          uid: "-- Grafana --"
        },
        enable: true,
        hide: true,
        iconColor: "rgba(0, 211, 255, 1)",
        name: "Annotations & Alerts",
        type: "dashboard"
      }
    ]
  },
  description: "Fleet view of SPIFFE workload identities watched by spiffe-exporter. Fleet panels read the recording rules in alerts/spiffe-exporter.recording.yml.",
  editable: true,
  fiscalYearStartMonth: 0,
  graphTooltip: 1,
  id: null,
  links: [
    {
      asDropdown: false,
      icon: "external link",
      includeVars: true,
      keepTime: true,
      tags: [
        "spiffe-exporter"
      ],
      targetBlank: false,
      title: "SPIFFE dashboards",
      tooltip: "",
      type: "dashboards",
      url: ""
    }
  ],
  liveNow: false,
  refresh: "1m",
  schemaVersion: 39,
  tags: [
    "spiffe",
    "spire",
    "spiffe-exporter"
  ],
  time: {
    from: "now-6h",
    to: "now"
  },
  timepicker: {},
  timezone: "",
  title: "SPIFFE / Overview",
  uid: "spiffe-overview",
  version: 1,
  weekStart: ""
}, variables=[
  {
    name: "instance",
    label: "Instance",
    type: "query",
    datasource: {
      type: "prometheus",
      uid: "${datasource}"
    },
    definition: "label_values(spiffe_exporter_build_info, instance)",
    query: {
      qryType: 1,
      query: "label_values(spiffe_exporter_build_info, instance)",
      refId: "PrometheusVariableQueryEditor-VariableQuery"
    },
    current: {},
    hide: 0,
    includeAll: true,
    multi: true,
    options: [],
    refresh: 2,
    regex: "",
    skipUrlSync: false,
    sort: 1,
    allValue: ".*"
  },
  {
    name: "source",
    label: "Source",
    type: "query",
    datasource: {
      type: "prometheus",
      uid: "${datasource}"
    },
    definition: "label_values({__name__=~\"spiffe_.+\", instance=~\"$instance\"}, source)",
    query: {
      qryType: 1,
      query: "label_values({__name__=~\"spiffe_.+\", instance=~\"$instance\"}, source)",
      refId: "PrometheusVariableQueryEditor-VariableQuery"
    },
    current: {},
    hide: 0,
    includeAll: true,
    multi: true,
    options: [],
    refresh: 2,
    regex: "",
    skipUrlSync: false,
    sort: 1,
    allValue: ".*"
  },
  {
    name: "spiffe_id",
    label: "SPIFFE ID (regex)",
    type: "textbox",
    query: ".*",
    hide: 0,
    current: {
      selected: false,
      text: ".*",
      value: ".*"
    },
    options: [
      {
        selected: true,
        text: ".*",
        value: ".*"
      }
    ],
    skipUrlSync: false
  }
], rows=[
    import 'overview/01-fleet-summary.libsonnet',
    import 'overview/02-identities-by-time-to-expiry.libsonnet',
    import 'overview/03-renewal-and-jwt-svids.libsonnet',
    import 'overview/04-workload-api-health.libsonnet',
    import 'overview/05-load-latency-time-to-first-response.libsonnet',
    import 'overview/06-trust-bundles.libsonnet',
    import 'overview/07-exporters.libsonnet',
    import 'overview/08-spire-agents.libsonnet',
    import 'overview/09-envoy.libsonnet',
    import 'overview/10-served-certificates.libsonnet',
  ])
