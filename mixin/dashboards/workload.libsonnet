// The workload dashboard (spiffe-workload). Rows are listed in order, one file each under workload/.
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
      },
      {
        datasource: {
          type: "prometheus",
          uid: "${datasource}"
        },
        enable: true,
        hide: false,
        iconColor: "blue",
        name: "SVID rotations",
        expr: "changes(spiffe_x509_svid_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}[1m]) > 0",
        step: "30s",
        titleFormat: "SVID rotated",
        textFormat: "{{spiffe_id}} ({{source}})",
        tagKeys: "source,spiffe_id",
        useValueForTime: false
      },
      {
        datasource: {
          type: "prometheus",
          uid: "${datasource}"
        },
        enable: true,
        hide: false,
        iconColor: "red",
        name: "Stream down",
        expr: "spiffe_workload_api_up{instance=\"$instance\", source=~\"$source\"} == 0",
        step: "1m",
        titleFormat: "Workload API stream down",
        textFormat: "{{source}}",
        tagKeys: "source",
        useValueForTime: false
      }
    ]
  },
  description: "On-call view of one spiffe-exporter instance: its SVIDs, their rotations, problems, the Workload API stream, trust bundles and certificate files.",
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
    from: "now-24h",
    to: "now"
  },
  timepicker: {},
  timezone: "",
  title: "SPIFFE / Workload",
  uid: "spiffe-workload",
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
    includeAll: false,
    multi: false,
    options: [],
    refresh: 2,
    regex: "",
    skipUrlSync: false,
    sort: 1
  },
  {
    name: "source",
    label: "Source",
    type: "query",
    datasource: {
      type: "prometheus",
      uid: "${datasource}"
    },
    definition: "label_values({__name__=~\"spiffe_.+\", instance=\"$instance\"}, source)",
    query: {
      qryType: 1,
      query: "label_values({__name__=~\"spiffe_.+\", instance=\"$instance\"}, source)",
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
    label: "SPIFFE ID",
    type: "query",
    datasource: {
      type: "prometheus",
      uid: "${datasource}"
    },
    definition: "label_values(spiffe_x509_svid_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\"}, spiffe_id)",
    query: {
      qryType: 1,
      query: "label_values(spiffe_x509_svid_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\"}, spiffe_id)",
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
  }
], rows=[
    import 'workload/01-x-509-svid.libsonnet',
    import 'workload/02-renewal.libsonnet',
    import 'workload/03-jwt-svids.libsonnet',
    import 'workload/04-workload-api.libsonnet',
    import 'workload/05-trust-bundles.libsonnet',
    import 'workload/06-exporter-process.libsonnet',
    import 'workload/07-served-certificates.libsonnet',
    import 'workload/08-certificate-files.libsonnet',
    import 'workload/09-spire-agent.libsonnet',
  ])
