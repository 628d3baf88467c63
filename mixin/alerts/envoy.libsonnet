// Group spiffe-exporter.envoy: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.envoy",
  rules: [
    // Envoy (read by --collector.envoy.admin) holds an X.509-SVID older than the newest one the
    // other sources know for its SPIFFE ID: a static tls_certificates file it never re-reads, or
    // an SDS update it missed. Unlike the probe, this covers the client certificates Envoy
    // presents upstream too. Right after a rotation Envoy's SDS reload and one read interval
    // (30 s) can lag, hence `for:`. A failed read removes the series and is not this alert.
    // TUNE: `for: 10m` is the longest reload window you accept.
    {
      alert: "SpiffeEnvoyServingStaleSVID",
      expr: "spiffe_envoy_svid_current{%(sel)s} == 0" % c,
      'for': "10m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "Envoy {{ $labels.source }} holds a superseded SVID of {{ $labels.spiffe_id }} (missed reload).",
        description: "Envoy {{ $labels.source }} (read by {{ $labels.instance }}) still holds an X.509-SVID of {{ $labels.spiffe_id }} older than the newest one known for that ID, for 10 minutes: a listener or upstream cluster did not pick up the rotation (static certificate files, a missed SDS update). TLS with that context fails when the old SVID expires (spiffe_envoy_svid_expiry_timestamp_seconds).",
        runbook_url: c.runbookURLBase + "#spiffeenvoyservingstalesvid",
      },
    },
    // The exporter cannot read Envoy's admin /certs; the reason is in spiffe_envoy_failures_total.
    // Envoy's certificates are then not watched at all (their series are gone).
    {
      alert: "SpiffeEnvoyAdminDown",
      expr: "spiffe_envoy_up{%(sel)s} == 0" % c,
      'for': "10m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "spiffe-exporter on {{ $labels.instance }} cannot read Envoy's admin /certs (source {{ $labels.source }}).",
        description: "spiffe-exporter on {{ $labels.instance }} has not read Envoy's admin /certs (source {{ $labels.source }}) for 10 minutes: the certificates that Envoy holds are not watched. The reason is in spiffe_envoy_failures_total{source=\"{{ $labels.source }}\"}.",
        runbook_url: c.runbookURLBase + "#spiffeenvoyadmindown",
      },
    },
  ],
}
