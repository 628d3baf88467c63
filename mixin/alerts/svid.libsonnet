// Group spiffe-exporter.svid: a function of the mixin _config (see mixin/config.libsonnet).
local u = import "../lib/util.libsonnet";

function(c) {
  name: "spiffe-exporter.svid",
  rules: [
    // Warning band. Fires when the SVID is still valid and either
    // (a) less than 25 % of its lifetime (notAfter - notBefore) is left, or
    // (b) less than 6 h is left AND it is past half-life.
    // SPIRE agents rotate an X.509-SVID at half-life at the latest, so both branches mean a rotation
    // is overdue. The half-life guard on (b) keeps short-lived SVIDs (SPIRE's default TTL is 1 h,
    // which is always "under 6 h") from firing permanently; for such SVIDs the alert means "rotation
    // is 10 minutes late".
    // TUNE: svidWarningFraction (0.25) and svidWarningSeconds (21600) in config.libsonnet.
    {
      alert: "SpiffeX509SVIDExpiringSoon",
      expr: |||
        spiffe_x509_svid_expires_in_seconds{%(sel)s} >= 0
        and
        (
            spiffe_x509_svid_expires_in_seconds{%(sel)s}
          / (spiffe_x509_svid_expiry_timestamp_seconds{%(sel)s} - spiffe_x509_svid_issued_timestamp_seconds{%(sel)s})
          < %(svidWarningFraction)s
          or
          (
              spiffe_x509_svid_expires_in_seconds{%(sel)s} < %(svidWarningSeconds)s
            and
              spiffe_x509_svid_expires_in_seconds{%(sel)s}
            / (spiffe_x509_svid_expiry_timestamp_seconds{%(sel)s} - spiffe_x509_svid_issued_timestamp_seconds{%(sel)s})
            < 0.5
          )
        )
      ||| % c,
      'for': "10m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "X.509-SVID {{ $labels.spiffe_id }} expires in {{ $value | humanizeDuration }} and has not been rotated.",
        description: "The X.509-SVID {{ $labels.spiffe_id }} (source {{ $labels.source }}, instance {{ $labels.instance }}) expires in {{ $value | humanizeDuration }}: less than " + u.percent(c.svidWarningFraction) + " of its lifetime is left, or less than " + u.humanDuration(c.svidWarningSeconds) + " with its half-life passed. It should already have been rotated.",
        runbook_url: c.runbookURLBase + "#spiffex509svidexpiringsoon",
      },
    },
    // Critical band: the on-call target is "time to expiry never below one hour".
    // The `< 0.5` half-life guard is always true for SVIDs living 2 h or longer, so for them the
    // rule is exactly "under 1 h". It keeps SVIDs whose whole lifetime is about an hour (SPIRE's
    // default) from paging all the time: those page only once past half-life, when the agent
    // should already have rotated them.
    // TUNE: svidCriticalSeconds (3600) in config.libsonnet.
    {
      alert: "SpiffeX509SVIDExpiringCritical",
      expr: |||
        spiffe_x509_svid_expires_in_seconds{%(sel)s} >= 0
        and
        spiffe_x509_svid_expires_in_seconds{%(sel)s} < %(svidCriticalSeconds)s
        and
          spiffe_x509_svid_expires_in_seconds{%(sel)s}
        / (spiffe_x509_svid_expiry_timestamp_seconds{%(sel)s} - spiffe_x509_svid_issued_timestamp_seconds{%(sel)s})
        < 0.5
      ||| % c,
      'for': "5m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "X.509-SVID {{ $labels.spiffe_id }} expires in {{ $value | humanizeDuration }}.",
        description: "The X.509-SVID {{ $labels.spiffe_id }} (source {{ $labels.source }}, instance {{ $labels.instance }}) expires in {{ $value | humanizeDuration }}, under the " + u.humanDuration(c.svidCriticalSeconds) + " target, and has not been rotated. The workload loses its identity (mTLS fails) when it expires.",
        runbook_url: c.runbookURLBase + "#spiffex509svidexpiringcritical",
      },
    },
    // An SVID is valid through its notAfter (RFC 5280), so "expired" is strictly negative.
    // The value is the time since expiry (positive).
    {
      alert: "SpiffeX509SVIDExpired",
      expr: "-spiffe_x509_svid_expires_in_seconds{%(sel)s} > 0" % c,
      'for': "1m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "X.509-SVID {{ $labels.spiffe_id }} expired {{ $value | humanizeDuration }} ago.",
        description: "The X.509-SVID {{ $labels.spiffe_id }} (source {{ $labels.source }}, instance {{ $labels.instance }}) expired {{ $value | humanizeDuration }} ago and is still the one the Workload API serves. Peers reject it.",
        runbook_url: c.runbookURLBase + "#spiffex509svidexpired",
      },
    },
    // One alert per failing check. `expired` has its own alert above. A brief chain_untrusted while
    // an SVID and a new bundle arrive in separate messages during a CA rotation is healed by `for:`.
    {
      alert: "SpiffeX509SVIDInvalid",
      expr: "spiffe_x509_svid_problem{%(sel)s, reason!=\"expired\"} == 1" % c,
      'for': "5m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "X.509-SVID {{ $labels.spiffe_id }} fails the {{ $labels.reason }} check.",
        description: "The X.509-SVID {{ $labels.spiffe_id }} (source {{ $labels.source }}, instance {{ $labels.instance }}) fails the {{ $labels.reason }} check (value {{ $value | humanize }}). Peers that verify it will reject it.",
        runbook_url: c.runbookURLBase + "#spiffex509svidinvalid",
      },
    },
    // An intermediate CA served with the SVID expires before the leaf does: the chain stops
    // verifying at the intermediate's NotAfter although the leaf still looks valid, so the expiry
    // alerts above (which read the leaf) warn too late. SPIRE caps an SVID at its CA's NotAfter, so
    // this points at an UpstreamAuthority or nested-SPIRE chain served stale. The value is the
    // intermediate's NotAfter. The series exists only for chains with intermediates.
    {
      alert: "SpiffeX509SVIDIntermediateExpiresFirst",
      expr: "spiffe_x509_svid_intermediate_expiry_timestamp_seconds{%(sel)s} < spiffe_x509_svid_expiry_timestamp_seconds{%(sel)s}" % c,
      'for': "15m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "The chain of X.509-SVID {{ $labels.spiffe_id }} breaks when its intermediate CA expires, before the leaf.",
        description: "An intermediate CA served with the X.509-SVID {{ $labels.spiffe_id }} (source {{ $labels.source }}, instance {{ $labels.instance }}) expires at {{ $value | humanizeTimestamp }}, before the leaf certificate. From then on peers reject the SVID unless it is re-issued under a newer intermediate.",
        runbook_url: c.runbookURLBase + "#spiffex509svidintermediateexpiresfirst",
      },
    },
  ],
}
