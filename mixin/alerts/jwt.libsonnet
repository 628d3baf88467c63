// Group spiffe-exporter.jwt: a function of the mixin _config (see mixin/config.libsonnet).
function(c) {
  name: "spiffe-exporter.jwt",
  rules: [
    // The exporter's own JWT-SVID (per audience set) has less than a quarter of its lifetime left,
    // or has expired: the agent has stopped minting JWT-SVIDs. Healthy tokens never get there:
    // the exporter fetches a new one as soon as the current one passes half its lifetime, and
    // SPIRE agents mint a new one from then on. The exporter exports no issue time, so the
    // lifetime is taken as the most time left seen in the last hour (the time left just after a
    // fetch). That is exact for tokens living up to 80 minutes (a quarter is left after
    // 0.75 x 80 min = 60 min, still inside the window); longer-lived ones fire with 20 minutes left. After the JWT-SVID TTL is shortened (say
    // 1 h to 5 min) it fires for up to an hour, until the old tokens leave the window.
    // The value is the time left, negative once expired.
    // TUNE: jwtWarningFraction (0.25) in config.libsonnet.
    {
      alert: "SpiffeJWTSVIDExpiring",
      expr: |||
        spiffe_jwt_svid_expires_in_seconds{%(sel)s}
          < %(jwtWarningFraction)s * max_over_time(spiffe_jwt_svid_expires_in_seconds{%(sel)s}[1h])
      ||| % c,
      'for': "1m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "JWT-SVID {{ $labels.spiffe_id }} for audience {{ $labels.audience }} {{ if lt $value 0.0 }}has expired{{ else }}expires in {{ $value | humanizeDuration }}{{ end }} and has not been renewed.",
        description: "The JWT-SVID {{ $labels.spiffe_id }} for audience {{ $labels.audience }} (source {{ $labels.source }}, instance {{ $labels.instance }}) {{ if lt $value 0.0 }}expired {{ $value | printf \"%.3f\" | reReplaceAll \"^-\" \"\" | humanizeDuration }} ago{{ else }}expires in {{ $value | humanizeDuration }}, less than a quarter of its lifetime{{ end }}: the Workload API has stopped delivering new JWT-SVIDs. Services reject expired tokens.",
        runbook_url: c.runbookURLBase + "#spiffejwtsvidexpiring",
      },
    },
    // One alert per failing check of the exporter's own JWT-SVID; `expired` is left to
    // SpiffeJWTSVIDExpiring. A token signed with a new key seen before the JWT bundle that
    // carries it (unknown_kid during a JWT authority rotation) is healed by `for:`.
    {
      alert: "SpiffeJWTSVIDInvalid",
      expr: "spiffe_jwt_svid_problem{%(sel)s, reason!=\"expired\"} == 1" % c,
      'for': "5m",
      labels: {
        severity: "critical",
      },
      annotations: {
        summary: "JWT-SVID {{ $labels.spiffe_id }} for audience {{ $labels.audience }} fails the {{ $labels.reason }} check.",
        description: "The JWT-SVID {{ $labels.spiffe_id }} for audience {{ $labels.audience }} (source {{ $labels.source }}, instance {{ $labels.instance }}) fails the {{ $labels.reason }} check (value {{ $value | humanize }}). Services that validate JWT-SVIDs against the trust bundle will reject it.",
        runbook_url: c.runbookURLBase + "#spiffejwtsvidinvalid",
      },
    },
  ],
}
