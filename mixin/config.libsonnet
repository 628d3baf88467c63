// The mixin's settings. Override any of them when you import the mixin:
//   (import 'spiffe-exporter-mixin/mixin.libsonnet') + { _config+:: { selector: 'job="spiffe"' } }
// Every threshold is used by the alert rules, their annotations and the dashboards (hidden
// constant variables and panel thresholds), so one change here keeps all of them in step.
{
  _config+:: {
    // Label matchers added to every spiffe_* series the rules read, e.g. 'job="spiffe-exporter"'.
    // Empty by default: only spiffe-exporter exports spiffe_* series.
    selector: '',
    // Selects the exporter's scrape jobs for SpiffeExporterDown (reads `up`, which every job has).
    jobSelector: 'job=~".*spiffe-exporter.*"',

    // Multi-cluster: the label that tells clusters apart (an external label in Thanos/Mimir, or a
    // target label). The recording rules keep it, and the dashboards get a `cluster` variable that
    // filters every query; "All" (.*) also matches series without the label, so a single
    // Prometheus works unchanged. showMultiCluster: false hides the variable.
    clusterLabel: 'cluster',
    showMultiCluster: true,

    // SpiffeX509SVIDExpiringSoon: less than this fraction of the lifetime left, or less than
    // svidWarningSeconds left past half-life.
    svidWarningFraction: 0.25,
    svidWarningSeconds: 21600,
    // SpiffeX509SVIDExpiringCritical: less than this left (past half-life).
    svidCriticalSeconds: 3600,
    // SpiffeX509SVIDRenewalSuccessRateLow: the objective, and the day's generations it needs
    // before it may fire (keep it at least 1 / (1 - objective)).
    renewalSuccessObjective: 0.999,
    renewalMinGenerations: 1000,
    // SpiffeJWTSVIDExpiring: fraction of the token's lifetime left.
    jwtWarningFraction: 0.25,
    // SpiffeWorkloadAPIConnectionFailures: failures per minute (5-minute average).
    connectionFailuresPerMinute: 0.5,
    // SpiffeWorkloadAPISlowLoad: p99 time to first response, seconds.
    slowLoadSeconds: 1,
    // SpiffeTrustBundleCAExpiring (warning): horizon under this, or under the long-lived one while
    // the horizon has not moved for 7 days.
    bundleHorizonSeconds: 21600,
    bundleLongLivedHorizonSeconds: 2592000,
    // Dashboard "Since last successful load" (cert files): orange from, red from (seconds).
    certFilesLoadWarningSeconds: 180,
    certFilesLoadCriticalSeconds: 600,

    // SpiffeAgentSVIDExpiring: the agent's own SVID, past its renewal deadline, has less than this
    // left (seconds). SpiffeAgentServerSyncStale: no sync with the server for longer than this.
    agentSVIDExpiringSeconds: 600,
    agentSyncStaleSeconds: 600,
    // SpiffeNodeOutageBudgetLow / ...Critical: the node's outage budget under these (seconds), and
    // shrinking unrenewed. A healthy node with 1 h SVIDs stays above ~27 minutes.
    outageBudgetWarningSeconds: 900,
    outageBudgetCriticalSeconds: 300,
    // SpiffeClockSkewHigh: |estimated skew| over this (seconds), half SPIRE's 10 s backdate.
    clockSkewSeconds: 5,

    // SpiffeTrustBundleChannelBehind: a copy of a bundle lacking a root another copy holds for
    // longer than this (seconds).
    bundleBehindSeconds: 900,
    // SpiffeFederationBundleStale: no valid bundle from a federation bundle endpoint for longer
    // than this (seconds); two of the longest refresh intervals (1 h).
    federationBundleStaleSeconds: 7200,

    runbookURLBase: 'https://github.com/spiffe-exporter/spiffe-exporter/blob/main/docs/runbooks.md',

    // Derived, not meant to be set: the selector as filled into `{%(sel)s}` placeholders, and the
    // leading labels of the recording rules' `by (...)` clauses.
    sel: self.selector,
    fleetBy: if self.clusterLabel == '' then '' else self.clusterLabel + ', ',
  },
}
