// Group spiffe-exporter.exporter: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.exporter",
  rules: [
    // TUNE: jobSelector in config.libsonnet; it must select your spiffe-exporter scrape job(s).
    {
      alert: "SpiffeExporterDown",
      expr: "up{%(jobSelector)s} == 0" % c,
      'for': "5m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "spiffe-exporter {{ $labels.instance }} is down.",
        description: "Prometheus has failed to scrape spiffe-exporter {{ $labels.instance }} (job {{ $labels.job }}) for 5 minutes (up = {{ $value | humanize }}). Every SVID alert for this node is blind until it is back.",
        runbook_url: c.runbookURLBase + "#spiffeexporterdown",
      },
    },
  ],
}
