#!/usr/bin/env bash
# Runs every test: one debug build (library, executable, tests), the Swift test suites (unit,
# integration against the Workload API simulator, end-to-end against the built binary with
# promtool), then the Prometheus rule checks and promtool unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in swift promtool; do
    command -v "$tool" >/dev/null || { echo "missing $tool: run 'bash .ci/run' to install test dependencies" >&2; exit 2; }
done

start=$(date +%s)
swift build --build-tests
# Suites carry time limits; this bounds a hang no limit can cancel (the run takes ~1-2 min).
timeout --kill-after=30 1200 swift test --skip-build
bash scripts/check-alert-rules.sh
SPIFFE_EXPORTER_BIN="$(swift build --show-bin-path)/spiffe-exporter" bash scripts/e2e-prometheus.sh
"$(swift build --show-bin-path)/spiffe-exporter-bench" --smoke >/dev/null  # benchmarks still run (docs/performance.md)
echo "all tests passed in $(( $(date +%s) - start )) s"
