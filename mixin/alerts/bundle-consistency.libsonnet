// Group spiffe-exporter-bundle-consistency: a function of the mixin _config (see mixin/config.libsonnet).
// Copies of one trust domain's bundle that disagree (spiffe_trust_bundle_* consistency families,
// docs/metrics.md#trust-bundle-consistency).
function(c) {
  name: "spiffe-exporter-bundle-consistency",
  rules: [
    // A channel (source) has lacked a root that another copy of the trust domain's bundle holds
    // for longer than a rotation takes to propagate: spiffe-helper rewrites its files on the next
    // Workload API update, so a copy behind for minutes is not being updated.
    // TUNE: bundleBehindSeconds and `for: 5m`.
    {
      alert: "SpiffeTrustBundleChannelBehind",
      expr: "spiffe_trust_bundle_behind_seconds{%(sel)s} > %(bundleBehindSeconds)s" % c,
      'for': "5m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "The {{ $labels.trust_domain }} bundle of source {{ $labels.source }} is {{ $value | humanizeDuration }} behind another copy.",
        description: "Source {{ $labels.source }} on {{ $labels.instance }} has lacked a root CA of {{ $labels.trust_domain }} that another channel of the same exporter holds for {{ $value | humanizeDuration }} (spiffe_trust_bundle_missing_roots says how many). Once the old root expires or SVIDs are issued under the new one, whatever reads this copy rejects them.",
        runbook_url: c.runbookURLBase + "#spiffetrustbundlechannelbehind",
      },
    },
    // The copy holds none of the unexpired roots another copy has: SVIDs issued under them fail
    // to verify with it now ("unknown authority"), typically because the old root expired and
    // this copy never got the new one. TUNE: `for: 2m`.
    {
      alert: "SpiffeTrustBundleChannelCannotVerifyPeers",
      expr: "spiffe_trust_bundle_cannot_verify_peers{%(sel)s} == 1" % c,
      'for': "2m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "The {{ $labels.trust_domain }} bundle of source {{ $labels.source }} holds none of the valid roots its peers use.",
        description: "Source {{ $labels.source }} on {{ $labels.instance }} holds none of the unexpired root CAs of {{ $labels.trust_domain }} that another channel of the same exporter holds. SVIDs issued under those roots fail to verify with this copy: peers are rejected with \"unknown authority\".",
        runbook_url: c.runbookURLBase + "#spiffetrustbundlechannelcannotverifypeers",
      },
    },
  ],
}
