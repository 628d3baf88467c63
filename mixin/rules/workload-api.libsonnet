// Group spiffe-exporter.recording.workload-api: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.recording.workload-api",
  interval: "1m",
  rules: [
    // Healthy streams and streams in total: healthy fraction = sum / count.
    {
      record: "source:spiffe_workload_api_up:sum",
      expr: "sum by (%(fleetBy)ssource) (spiffe_workload_api_up{%(sel)s})" % c,
    },
    {
      record: "source:spiffe_workload_api_up:count",
      expr: "count by (%(fleetBy)ssource) (spiffe_workload_api_up{%(sel)s})" % c,
    },
    {
      record: "source_reason:spiffe_workload_api_connection_failures_total:rate5m",
      expr: "sum by (%(fleetBy)ssource, reason) (rate(spiffe_workload_api_connection_failures_total{%(sel)s}[5m]))" % c,
    },
    {
      record: "source_rpc_code:spiffe_workload_api_requests_total:rate5m",
      expr: "sum by (%(fleetBy)ssource, rpc, code) (rate(spiffe_workload_api_requests_total{%(sel)s}[5m]))" % c,
    },
    {
      record: "source_rpc:spiffe_workload_api_updates_total:rate5m",
      expr: "sum by (%(fleetBy)ssource, rpc) (rate(spiffe_workload_api_updates_total{%(sel)s}[5m]))" % c,
    },
    // Fleet histogram of time to first response (heatmap) and its quantiles. Rules in a group run
    // in order, so the quantiles below read this interval's bucket rates.
    {
      record: "source_rpc_le:spiffe_workload_api_request_duration_seconds_bucket:rate5m",
      expr: "sum by (%(fleetBy)ssource, rpc, le) (rate(spiffe_workload_api_request_duration_seconds_bucket{%(sel)s}[5m]))" % c,
    },
    {
      record: "source_rpc_quantile:spiffe_workload_api_request_duration_seconds:histogram_quantile_rate5m",
      expr: "histogram_quantile(0.99, source_rpc_le:spiffe_workload_api_request_duration_seconds_bucket:rate5m)" % c,
      labels: {
        quantile: "0.99",
      },
    },
    {
      record: "source_rpc_quantile:spiffe_workload_api_request_duration_seconds:histogram_quantile_rate5m",
      expr: "histogram_quantile(0.9, source_rpc_le:spiffe_workload_api_request_duration_seconds_bucket:rate5m)" % c,
      labels: {
        quantile: "0.9",
      },
    },
    {
      record: "source_rpc_quantile:spiffe_workload_api_request_duration_seconds:histogram_quantile_rate5m",
      expr: "histogram_quantile(0.5, source_rpc_le:spiffe_workload_api_request_duration_seconds_bucket:rate5m)" % c,
      labels: {
        quantile: "0.5",
      },
    },
  ],
}
