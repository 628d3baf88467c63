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
# Two passes. The suites that assert latencies (a change reaches /metrics within 1 s, a 500 ms
# response is recorded as ~500 ms) run in the second, apart from the CPU-heavy ones (10,000
# certificates, fuzz corpora, promtool rounds): on 2 cores those would starve the in-process
# collectors of the concurrency pool they share and turn a 50 ms rotation into a 1.3 s one.
# The wrk run (200 requests/s for 60 s) has a third pass to itself: wrk and the exporter need
# both cores. Suites carry time limits; `timeout` bounds a hang no limit can cancel.
latency_suites='DirectorySourceTests|GlobSourceTests|CollectorStreamingTests|CollectorFaultTests'
load_suites='WrkLoadTests'
timeout --kill-after=30 1200 swift test --skip-build --skip "$latency_suites|$load_suites"
timeout --kill-after=30 600 swift test --skip-build --filter "$latency_suites"
timeout --kill-after=30 600 swift test --skip-build --filter "$load_suites"
bash scripts/check-alert-rules.sh
SPIFFE_EXPORTER_BIN="$(swift build --show-bin-path)/spiffe-exporter" bash scripts/e2e-prometheus.sh
"$(swift build --show-bin-path)/spiffe-exporter-bench" --smoke >/dev/null  # benchmarks still run (docs/performance.md)
echo "all tests passed in $(( $(date +%s) - start )) s"
