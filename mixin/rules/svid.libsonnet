// Group spiffe-exporter.recording.svid: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.recording.svid",
  interval: "1m",
  rules: [
    // Soonest SVID notAfter per source and trust domain; the dashboards subtract time().
    {
      record: "source_trust_domain:spiffe_x509_svid_expiry_timestamp_seconds:min",
      expr: |||
        min by (%(fleetBy)ssource, trust_domain) (
          label_replace(spiffe_x509_svid_expiry_timestamp_seconds{%(sel)s}, "trust_domain", "$1", "spiffe_id", "spiffe://([^/]+).*")
        )
      ||| % c,
    },
    // Number of identities (one spiffe_x509_svid_valid series per identity and exporter).
    {
      record: "source_trust_domain:spiffe_x509_svid_valid:count",
      expr: |||
        count by (%(fleetBy)ssource, trust_domain) (
          label_replace(spiffe_x509_svid_valid{%(sel)s}, "trust_domain", "$1", "spiffe_id", "spiffe://([^/]+).*")
        )
      ||| % c,
    },
    // Number of invalid identities; 0 (not absent) while all are valid, so panels show 0.
    {
      record: "source_trust_domain:spiffe_x509_svid_valid:count_eq0",
      expr: |||
        sum by (%(fleetBy)ssource, trust_domain) (
          label_replace(spiffe_x509_svid_valid{%(sel)s} == bool 0, "trust_domain", "$1", "spiffe_id", "spiffe://([^/]+).*")
        )
      ||| % c,
    },
    // Failing checks per reason.
    {
      record: "source_trust_domain_reason:spiffe_x509_svid_problem:sum",
      expr: |||
        sum by (%(fleetBy)ssource, trust_domain, reason) (
          label_replace(spiffe_x509_svid_problem{%(sel)s}, "trust_domain", "$1", "spiffe_id", "spiffe://([^/]+).*")
        )
      ||| % c,
    },
  ],
}
