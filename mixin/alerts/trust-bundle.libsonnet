// Group spiffe-exporter.trust-bundle: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.trust-bundle",
  rules: [
    // Warning: the bundle's horizon (newest root's notAfter, worst exporter per trust domain) is
    // near. Expired roots in the bundle are normal and never fire by themselves.
    // (a) under 6 h: a SPIRE server with its default 24 h CA prepares the next CA with ~12 h
    // left, so its horizon never drops under ~12 h while rotation works.
    // (b) under 30 days, AND the horizon has not moved for 7 days, AND there are 7 days of
    // history (the `offset 7d` term): long-lived roots (UpstreamAuthority, a corporate root)
    // get a month's notice, while short-lived roots that rotate every day never match.
    // The hourly subquery keeps `changes` cheap: a new root moves the horizon for good, so
    // hourly points see it, and 168 points load far fewer samples than 7 days of raw data.
    // One alert per source/trust domain, not per exporter: a fleet shares the CA.
    // TUNE: bundleHorizonSeconds (21600, a) and bundleLongLivedHorizonSeconds (2592000, b) in config.libsonnet. A healthy CA's horizon never drops
    // under about half the CA TTL, so keep (a) under half your CA TTL, and if your CA TTL is over
    // 14 days (it may then go 7 days without a new root) keep (b) under half of it too.
    {
      alert: "SpiffeTrustBundleCAExpiring",
      expr: |||
        source_trust_domain:spiffe_trust_bundle_latest_expiry_timestamp_seconds:min - time() < %(bundleHorizonSeconds)s
        or
        (
            source_trust_domain:spiffe_trust_bundle_latest_expiry_timestamp_seconds:min - time() < %(bundleLongLivedHorizonSeconds)s
          and
            changes(source_trust_domain:spiffe_trust_bundle_latest_expiry_timestamp_seconds:min[7d:1h]) == 0
          and
            source_trust_domain:spiffe_trust_bundle_latest_expiry_timestamp_seconds:min offset 7d
        )
      ||| % c,
      'for': "15m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "Trust bundle of {{ $labels.trust_domain }} runs out of valid CAs in {{ $value | humanizeDuration }}.",
        description: "The newest CA certificate in the trust bundle of {{ $labels.trust_domain }} (source {{ $labels.source }}, worst exporter) expires in {{ $value | humanizeDuration }} and no newer CA has been published. When it expires no SVID of the trust domain verifies.",
        runbook_url: c.runbookURLBase + "#spiffetrustbundlecaexpiring",
      },
    },
    // Critical: this exporter's bundle has no CA certificate that is valid now (all expired, not
    // yet valid, or the bundle is empty). Same runbook section as the warning above.
    {
      alert: "SpiffeTrustBundleCAExpiring",
      expr: "spiffe_trust_bundle_valid_certificates{%(sel)s} == 0" % c,
      'for': "5m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "Trust bundle of {{ $labels.trust_domain }} on {{ $labels.instance }} has no valid CA.",
        description: "The trust bundle of {{ $labels.trust_domain }} (source {{ $labels.source }}, instance {{ $labels.instance }}) holds {{ $value | humanize }} CA certificates that are valid now. Nothing of this trust domain verifies on this node.",
        runbook_url: c.runbookURLBase + "#spiffetrustbundlecaexpiring",
      },
    },
  ],
}
