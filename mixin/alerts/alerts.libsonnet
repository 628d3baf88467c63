// The alert groups, in the order they are rendered into alerts/spiffe-exporter.rules.yml.
// Adding a group: a new file here (a function of _config returning {name, rules}) and one line.
[
  import 'svid.libsonnet',
  import 'renewal.libsonnet',
  import 'jwt.libsonnet',
  import 'workload-api.libsonnet',
  import 'trust-bundle.libsonnet',
  import 'exporter.libsonnet',
  import 'probe.libsonnet',
  import 'cert-files.libsonnet',
  import 'agent.libsonnet',
  import 'expected-identities.libsonnet',
  import 'bundle-consistency.libsonnet',
  import 'envoy.libsonnet',
  import 'federation.libsonnet',
]
