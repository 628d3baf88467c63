// Group spiffe-exporter.recording.trust-bundle: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.recording.trust-bundle",
  interval: "1m",
  rules: [
    // The bundle's horizon as seen by the worst exporter: an agent stuck on an old bundle lowers
    // it. SpiffeTrustBundleCAExpiring (warning) reads this series.
    {
      record: "source_trust_domain:spiffe_trust_bundle_latest_expiry_timestamp_seconds:min",
      expr: "min by (%(fleetBy)ssource, trust_domain) (spiffe_trust_bundle_latest_expiry_timestamp_seconds{%(sel)s})" % c,
    },
    // Soonest expiry among roots that are still valid.
    {
      record: "source_trust_domain:spiffe_trust_bundle_earliest_expiry_timestamp_seconds:min",
      expr: "min by (%(fleetBy)ssource, trust_domain) (spiffe_trust_bundle_earliest_expiry_timestamp_seconds{%(sel)s})" % c,
    },
    // Fewest valid roots any exporter holds (0 = someone cannot verify anything).
    {
      record: "source_trust_domain:spiffe_trust_bundle_valid_certificates:min",
      expr: "min by (%(fleetBy)ssource, trust_domain) (spiffe_trust_bundle_valid_certificates{%(sel)s})" % c,
    },
  ],
}
