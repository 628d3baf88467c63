// Group spiffe-exporter-federation: a function of the mixin _config (see mixin/config.libsonnet).
// Federation bundle endpoints the exporter fetches (spiffe_federation_bundle_* families,
// docs/metrics.md#federation-bundle-endpoints). A partner's rotation that did not reach the agent
// shows in the bundle consistency alerts; these say the endpoint itself cannot be read.
function(c) {
  name: "spiffe-exporter-federation",
  rules: [
    // Every fetch failed for a quarter of an hour: a failed fetch is retried after 30..60 s, so
    // this is several attempts in a row, not one lost request. The SPIRE server fetching the same
    // endpoint likely fails too and keeps serving the partner's last bundle.
    // TUNE: `for: 15m`.
    {
      alert: "SpiffeFederationBundleFetchFailing",
      expr: "spiffe_federation_bundle_up{%(sel)s} == 0" % c,
      'for': "15m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "The federation bundle endpoint {{ $labels.source }} ({{ $labels.trust_domain }}) cannot be fetched.",
        description: "Every fetch of the {{ $labels.trust_domain }} bundle endpoint {{ $labels.source }} by {{ $labels.instance }} has failed for 15 minutes (spiffe_federation_bundle_failures_total says why). A CA rotation of {{ $labels.trust_domain }} is not seen while it lasts.",
        runbook_url: c.runbookURLBase + "#spiffefederationbundlefetchfailing",
      },
    },
    // The last valid bundle is older than federationBundleStaleSeconds: refresh hints are bounded
    // to one hour, so this many seconds without one means the endpoint has not served a valid
    // bundle across several refreshes. TUNE: federationBundleStaleSeconds and `for: 5m`.
    {
      alert: "SpiffeFederationBundleStale",
      expr: "time() - spiffe_federation_bundle_last_update_timestamp_seconds{%(sel)s} > %(federationBundleStaleSeconds)s" % c,
      'for': "5m",
      labels: {
        severity: "warning",
      },
      annotations: {
        summary: "The {{ $labels.trust_domain }} bundle from {{ $labels.source }} was last updated {{ $value | humanizeDuration }} ago.",
        description: "The federation bundle endpoint {{ $labels.source }} has not served a valid {{ $labels.trust_domain }} bundle to {{ $labels.instance }} for {{ $value | humanizeDuration }}. Roots the partner added since are unknown here, and likely to the SPIRE server fetching the same endpoint.",
        runbook_url: c.runbookURLBase + "#spiffefederationbundlestale",
      },
    },
  ],
}
