// Group spiffe-exporter-cert-files: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter-cert-files",
  rules: [
    // A certificate-file source (--collector.cert-files.dir / .glob) keeps failing to load: every
    // attempt in the last 5 minutes ended in an error and none succeeded, so what the exporter
    // shows for that source is stale or absent. Half-written files are re-read after a settle
    // delay before they count as errors, so a healthy spiffe-helper rewrite never trips this; the
    // periodic re-read (60 s) keeps producing attempts while the problem lasts.
    {
      alert: "SpiffeCertFilesLoadFailing",
      expr: |||
        (
          sum by (%(fleetBy)sinstance, job, source) (increase(spiffe_cert_file_loads_total{%(sel)s, result="error"}[5m])) > 0
        )
        unless on (instance, job, source)
        (
          sum by (%(fleetBy)sinstance, job, source) (increase(spiffe_cert_file_loads_total{%(sel)s, result="success"}[5m])) > 0
        )
      ||| % c,
      'for': "5m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "Certificate files of source {{ $labels.source }} fail to load on {{ $labels.instance }}.",
        description: "Every load of the certificate files of source {{ $labels.source }} on {{ $labels.instance }} failed for 5 minutes ({{ $value | humanize }} failed loads in the last 5 minutes). The reason is in spiffe_cert_file_load_errors_total{source=\"{{ $labels.source }}\"}.",
        runbook_url: c.runbookURLBase + "#spiffecertfilesloadfailing",
      },
    },
  ],
}
