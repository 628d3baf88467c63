// Group spiffe-exporter.recording.renewal: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.recording.renewal",
  interval: "1m",
  rules: [
    // X.509-SVID generations ending per second, by outcome (on_time, late, missed), over the
    // last 5 minutes. The overview graphs it; the day figures below are built from it, so no rule
    // reads a day of raw samples of every identity (100,000 identities x 3 outcomes x 1440).
    {
      record: "source_outcome:spiffe_x509_svid_renewals_total:rate5m",
      expr: "sum by (%(fleetBy)ssource, outcome) (rate(spiffe_x509_svid_renewals_total{%(sel)s}[5m]))" % c,
    },
    // Generations that ended over the last day, by outcome. Every sample above is the mean rate
    // of the 5 minutes before it and the samples are 60 s apart, so the day's samples times 60 s
    // add up to the day's count (each generation is seen in five overlapping windows, each
    // crediting a fifth of it). The 60 is this group's `interval`: change them together.
    {
      record: "source_outcome:spiffe_x509_svid_renewals_total:increase1d",
      expr: "60 * sum_over_time(source_outcome:spiffe_x509_svid_renewals_total:rate5m[1d])" % c,
    },
    {
      record: "source:spiffe_x509_svid_renewals_total:increase1d",
      expr: "sum by (%(fleetBy)ssource) (source_outcome:spiffe_x509_svid_renewals_total:increase1d)" % c,
    },
    // Share of the last day's generations renewed on time (the renewal success rate).
    // Absent, not NaN, while no generation ended. SpiffeX509SVIDRenewalSuccessRateLow reads it.
    {
      record: "source:spiffe_x509_svid_renewals_total:on_time_ratio_increase1d",
      expr: |||
        sum by (%(fleetBy)ssource) (source_outcome:spiffe_x509_svid_renewals_total:increase1d{outcome="on_time"})
        /
        (source:spiffe_x509_svid_renewals_total:increase1d > 0)
      ||| % c,
    },
    // Identities past their renewal deadline with no replacement seen; 0 (not absent) when none.
    {
      record: "source_trust_domain:spiffe_x509_svid_renewal_overdue:sum",
      expr: |||
        sum by (%(fleetBy)ssource, trust_domain) (
          label_replace(spiffe_x509_svid_renewal_overdue{%(sel)s}, "trust_domain", "$1", "spiffe_id", "spiffe://([^/]+).*")
        )
      ||| % c,
    },
  ],
}
