// Group spiffe-exporter.probe: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.probe",
  rules: [
    // A probed server (--probe.target) presents an older X.509-SVID than the newest one known for
    // its SPIFFE ID: it did not reload after spiffe-helper wrote the rotated files, and TLS to it
    // breaks when that old SVID expires. The value is the time since it was superseded. Right
    // after a rotation a healthy server can look stale for one probe interval (30 s) plus its own
    // reload delay, hence `for:`. Probe failures remove the served series and are not this alert.
    // The served series is on the left and matched `on` the target, so it keeps every label it
    // has, those derived from the SPIFFE ID (--label.from-spiffe-id) included.
    // TUNE: `for: 10m` is the longest reload window you accept.
    {
      alert: "SpiffeServedSVIDStale",
      expr: |||
        (
          (1 - spiffe_served_svid_current{%(sel)s})
          * on (instance, job, target) group_left ()
          spiffe_served_svid_stale_seconds{%(sel)s}
        ) > 0
      ||| % c,
      'for': "10m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "Target {{ $labels.target }} presents a superseded SVID of {{ $labels.spiffe_id }} (missed reload).",
        description: "Target {{ $labels.target }} (probed by {{ $labels.instance }}) still presents an X.509-SVID of {{ $labels.spiffe_id }} that a newer one replaced {{ $value | humanizeDuration }} ago: the server did not reload its certificate after the rotation. TLS to it fails when that old SVID expires.",
        runbook_url: c.runbookURLBase + "#spiffeservedsvidstale",
      },
    },
    // A probed server (--probe.target, or /probe through service discovery) cannot be checked at
    // all: no connection, STARTTLS refused, an untrusted, expired or wrong SVID. Its served series
    // are gone, so SpiffeServedSVIDStale cannot see it; the reason is in spiffe_probe_failures_total.
    // `for:` rides out a restart of the server.
    {
      alert: "SpiffeProbeFailing",
      expr: |||
        spiffe_probe_success{%(sel)s} == 0
      ||| % c,
      'for': "5m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "Probe of target {{ $labels.target }} is failing.",
        description: "Every probe of target {{ $labels.target }} (by {{ $labels.instance }}) failed for 5 minutes: the exporter cannot check which SVID it serves. spiffe_probe_failures_total{target=\"{{ $labels.target }}\"} says why (connect_refused, timeout, starttls_refused, untrusted, wrong_spiffe_id, ...).",
        runbook_url: c.runbookURLBase + "#spiffeprobefailing",
      },
    },
    // A `client_auth=required` target accepted the probe's connection without a client
    // certificate: anyone can reach a server that should demand an SVID. Nothing about expiry
    // shows it. `for:` rides out one probe during a deliberate configuration change.
    {
      alert: "SpiffeProbeClientAuthNotEnforced",
      expr: |||
        spiffe_probe_client_auth_enforced{%(sel)s} == 0
      ||| % c,
      'for': "5m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "Target {{ $labels.target }} accepts clients without a certificate.",
        description: "Target {{ $labels.target }} (probed by {{ $labels.instance }}) is configured with client_auth=required but completed a TLS connection with a client that presented no certificate: mutual TLS is not enforced, so any client can reach it.",
        runbook_url: c.runbookURLBase + "#spiffeprobeclientauthnotenforced",
      },
    },
  ],
}
