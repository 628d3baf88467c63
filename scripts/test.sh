#!/usr/bin/env bash
# Runs every test: the generated monitoring files against a fresh render of mixin/, one debug
# build (library, executable, tests), the Swift test suites (unit, integration against the
# Workload API simulator, end-to-end against the built binary with promtool), then the Prometheus
# rule checks and promtool unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in swift promtool jsonnet chromium; do
    command -v "$tool" >/dev/null || { echo "missing $tool: run 'bash .ci/run' to install test dependencies" >&2; exit 2; }
done

start=$(date +%s)
# alerts/*.yml and dashboards/*.json are generated: a hand edit there, or a mixin change that was
# not rendered, fails here, before the long build.
bash scripts/render-mixin.sh --check
swift build --build-tests
# Tests assert behaviour, never how long something took (benchmarks measure that; the watch
# loop's timing is tested on a manual clock). The suites run one test at a time: on 2 cores a few
# hundred tests at once, each with its own simulator, servers and child processes, starve one
# another for seconds and have hung the runner (Foundation child processes and NIO's shared event
# loops among them); serially they take about 80 s and nothing waits on anything else. The wrk run
# (200 requests/s for 60 s) has a pass to itself: wrk and the exporter need both cores.
# Suites carry time limits; `timeout` bounds a hang no limit can cancel.
load_suites='WrkLoadTests'
timeout --kill-after=30 1500 swift test --skip-build --no-parallel --skip "$load_suites"
timeout --kill-after=30 600 swift test --skip-build --filter "$load_suites"
bash scripts/check-alert-rules.sh
bash scripts/validate-manifests.sh
SPIFFE_EXPORTER_BIN="$(swift build --show-bin-path)/spiffe-exporter" bash scripts/e2e-prometheus.sh
SPIFFE_EXPORTER_BIN="$(swift build --show-bin-path)/spiffe-exporter" bash scripts/e2e-status-page.sh
"$(swift build --show-bin-path)/spiffe-exporter-bench" --smoke >/dev/null  # benchmarks still run (docs/performance.md)
echo "all tests passed in $(( $(date +%s) - start )) s"
