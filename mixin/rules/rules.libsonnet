// The recording-rule groups, in the order they are rendered into alerts/spiffe-exporter.recording.yml.
[
  import 'svid.libsonnet',
  import 'renewal.libsonnet',
  import 'workload-api.libsonnet',
  import 'trust-bundle.libsonnet',
]
