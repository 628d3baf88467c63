// Group spiffe-exporter.renewal: a function of the mixin _config (see mixin/config.libsonnet).
local u = import "../lib/util.libsonnet";

function(c) {
  name: "spiffe-exporter.renewal",
  rules: [
    // The exporter's renewal tracker says the current SVID is past its renewal deadline
    // (notBefore + lifetime x --renewal.deadline-fraction, default 0.75; SPIRE renews at about
    // 0.5) and no replacement has been seen. The value is the time since the deadline. A rotation
    // that arrives at or before the deadline never sets the gauge; one that arrives less than
    // `for:` after it stays silent here and is counted as `late` in the success rate below.
    // The gauge stays 1 after the SVID expires: inhibit this alert with SpiffeX509SVIDExpired
    // (see the header). TUNE: the deadline is the exporter flag, not a literal here.
    // The agent's own SVID is renewal-tracked too; SpiffeAgentSVIDRotationStuck speaks for it.
    {
      alert: "SpiffeX509SVIDRenewalOverdue",
      expr: |||
        (
          (time() - spiffe_x509_svid_renewal_deadline_timestamp_seconds{%(sel)s})
          and
          spiffe_x509_svid_renewal_overdue{%(sel)s} == 1
        )
        unless on (instance, job, source, spiffe_id) spiffe_agent_svid_expiry_timestamp_seconds{%(sel)s}
      ||| % c,
      'for': "5m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "X.509-SVID {{ $labels.spiffe_id }} is {{ $value | humanizeDuration }} past its renewal deadline.",
        description: "The X.509-SVID {{ $labels.spiffe_id }} (source {{ $labels.source }}, instance {{ $labels.instance }}) passed its renewal deadline {{ $value | humanizeDuration }} ago and no replacement has been seen. It keeps working until it expires; then mTLS fails.",
        runbook_url: c.runbookURLBase + "#spiffex509svidrenewaloverdue",
      },
    },
    // Fleet view, one alert per source: fewer than 99.9 % of the X.509-SVID generations that ended
    // over the last day were renewed on time (the rest were `late` or `missed`). Reads recorded
    // series (spiffe-exporter.recording.yml) so no rule scans a day of raw samples per identity.
    // Low volume: with fewer than 1000 generations a single late renewal already breaks 99.9 %
    // (one SPIRE-default 1 h SVID renews ~48 times a day), so the rule waits until the day holds
    // at least 1000 generations; then one failure is at most 0.1 % and never fires alone. Small
    // fleets rely on the per-identity alerts (SpiffeX509SVIDRenewalOverdue, ...Expired) instead.
    // TUNE: renewalSuccessObjective (0.999) and renewalMinGenerations (1000; keep it at least
    // 1 / (1 - objective)) in config.libsonnet.
    {
      alert: "SpiffeX509SVIDRenewalSuccessRateLow",
      expr: |||
        source:spiffe_x509_svid_renewals_total:on_time_ratio_increase1d < %(renewalSuccessObjective)s
        and
        source:spiffe_x509_svid_renewals_total:increase1d >= %(renewalMinGenerations)s
      ||| % c,
      'for': "15m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "Only {{ $value | humanizePercentage }} of the X.509-SVID renewals of source {{ $labels.source }} were on time over the last day.",
        description: "{{ $value | humanizePercentage }} of the X.509-SVID generations of source {{ $labels.source }} that ended over the last day were replaced by their renewal deadline, below the " + u.percent(c.renewalSuccessObjective) + " objective (out of {{ with printf \"source:spiffe_x509_svid_renewals_total:increase1d{source=%q}\" $labels.source | query }}{{ . | first | value | printf \"%.0f\" }}{{ end }} generations; the rest were renewed late or expired unreplaced).",
        runbook_url: c.runbookURLBase + "#spiffex509svidrenewalsuccessratelow",
      },
    },
  ],
}
