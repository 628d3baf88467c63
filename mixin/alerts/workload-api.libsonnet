// Group spiffe-exporter.workload-api: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.workload-api",
  rules: [
    // `for: 5m` restarts whenever the stream comes back, so a stream that flaps (up/down every
    // minute) does not page; SpiffeWorkloadAPIConnectionFailures reports the flapping instead.
    {
      alert: "SpiffeWorkloadAPIDown",
      expr: "spiffe_workload_api_up{%(sel)s} == 0" % c,
      'for': "5m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "Workload API stream of source {{ $labels.source }} on {{ $labels.instance }} is down.",
        description: "The Workload API X.509 stream of source {{ $labels.source }} on {{ $labels.instance }} has not been healthy for 5 minutes (spiffe_workload_api_up = {{ $value | humanize }}). New and rotated SVIDs cannot be delivered to workloads on this node.",
        runbook_url: c.runbookURLBase + "#spiffeworkloadapidown",
      },
    },
    // Failures per minute, per reason. The exporter retries with backoff, so a dead agent gives a
    // steady trickle; a single failure (e.g. an agent restart) stays below the threshold.
    // TUNE: connectionFailuresPerMinute (0.5, averaged over 5 minutes) in config.libsonnet.
    {
      alert: "SpiffeWorkloadAPIConnectionFailures",
      expr: "60 * rate(spiffe_workload_api_connection_failures_total{%(sel)s}[5m]) > %(connectionFailuresPerMinute)s" % c,
      'for': "10m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "Workload API connections of source {{ $labels.source }} on {{ $labels.instance }} fail ({{ $labels.reason }}).",
        description: "Workload API connections of source {{ $labels.source }} on {{ $labels.instance }} fail with reason {{ $labels.reason }} at {{ $value | printf \"%.2f\" }} per minute.",
        runbook_url: c.runbookURLBase + "#spiffeworkloadapiconnectionfailures",
      },
    },
    // p99 time to first response, per instance/source/rpc. No requests in the window gives NaN,
    // which never fires. TUNE: slowLoadSeconds (1) in config.libsonnet.
    {
      alert: "SpiffeWorkloadAPISlowLoad",
      expr: "histogram_quantile(0.99, rate(spiffe_workload_api_request_duration_seconds_bucket{%(sel)s}[10m])) > %(slowLoadSeconds)s" % c,
      'for': "10m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "Workload API {{ $labels.rpc }} of source {{ $labels.source }} on {{ $labels.instance }} is slow.",
        description: "The 99th percentile time to first response of {{ $labels.rpc }} (source {{ $labels.source }}, instance {{ $labels.instance }}) is {{ $value | printf \"%.2f\" }}s over the last 10 minutes, above " + c.slowLoadSeconds + "s.",
        runbook_url: c.runbookURLBase + "#spiffeworkloadapislowload",
      },
    },
  ],
}
