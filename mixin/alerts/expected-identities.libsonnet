// Group spiffe-exporter.expected-identities: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.expected-identities",
  rules: [
    // An identity that must exist has no valid SVID: never issued (a registration entry missing or
    // not matching after a node restart), withdrawn, expired, refused (PermissionDenied) or
    // invalid; spiffe_expected_identity_problem{reason} says which. The value is how long it has
    // been missing; after an exporter restart an ID never seen counts from the start.
    // TUNE: `for: 5m` is how long a workload may go without its identity (pod start, rotation).
    {
      alert: "SpiffeExpectedIdentityMissing",
      expr: |||
        spiffe_expected_identity_missing_seconds{%(sel)s}
        and
        spiffe_expected_identity_present{%(sel)s} == 0
      ||| % c,
      'for': "5m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "Expected identity {{ $labels.spiffe_id }} is missing (source {{ $labels.source }}).",
        description: "No valid SVID of the expected identity {{ $labels.spiffe_id }} (source {{ $labels.source }}, \"*\" = any source; instance {{ $labels.instance }}) for {{ $value | humanizeDuration }}. spiffe_expected_identity_problem gives the reason: never_seen, withdrawn, expired, not_authorized or invalid.",
        runbook_url: c.runbookURLBase + "#spiffeexpectedidentitymissing",
      },
    },
    // Fewer identities than the expectation's min_count match a glob ("at least 3 payments
    // workloads on this node"). The value is how many match.
    // TUNE: `for: 10m` rides out a rolling restart that briefly drops one workload.
    {
      alert: "SpiffeExpectedIdentitiesTooFew",
      expr: |||
        spiffe_expected_identities_matched{%(sel)s} < spiffe_expected_identities_required{%(sel)s}
      ||| % c,
      'for': "10m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "Only {{ $value }} identities match {{ $labels.pattern }} (source {{ $labels.source }}), fewer than expected.",
        description: "Exporter {{ $labels.instance }} holds valid SVIDs for only {{ $value }} SPIFFE IDs matching {{ $labels.pattern }} (source {{ $labels.source }}, \"*\" = any source), fewer than the configured min_count (spiffe_expected_identities_required).",
        runbook_url: c.runbookURLBase + "#spiffeexpectedidentitiestoofew",
      },
    },
    // The host's clock is off from the SVID issuer's by more than clockSkewSeconds, estimated from
    // fresh SVIDs pushed on the stream. SPIRE backdates NotBefore by 10 s: a clock behind by more
    // than that sees fresh SVIDs as not yet valid, and its peers reject what it presents as expired
    // early when it is ahead. The value is the estimate (positive: this host is ahead).
    // TUNE: clockSkewSeconds (half the backdate) and `for: 15m` (a few rotations).
    {
      alert: "SpiffeClockSkewHigh",
      expr: |||
        spiffe_clock_skew_estimate_seconds{%(sel)s} > %(clockSkewSeconds)s or spiffe_clock_skew_estimate_seconds{%(sel)s} < -%(clockSkewSeconds)s
      ||| % c,
      'for': "15m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "The clock of {{ $labels.instance }} is about {{ $value }} s off from the SVID issuer's (source {{ $labels.source }}).",
        description: "Fresh SVIDs from source {{ $labels.source }} arrive {{ $value }} s away from their NotBefore plus the issuer's backdate (spiffe_clock_skew_estimate_seconds; positive when this host's clock is ahead, negative when behind). Past the 10 s backdate, fresh SVIDs look not yet valid to a host that is behind. Check NTP on the exporter's host and on the SPIRE server.",
        runbook_url: c.runbookURLBase + "#spiffeclockskewhigh",
      },
    },
  ],
}
