#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ and runs each for N seconds (default 180) on its committed
# corpus (Fuzz/corpus/<target>/). New coverage-increasing inputs go to a scratch corpus, never into
# the committed one; crashers land in Fuzz/artifacts/<target>/ — add each as a corpus file (it then
# runs in Tests/ReliabilityTests) together with the fix. Not run in CI (too slow); see docs/reliability.md.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: pem der spiffe-id jwt jwks config agent-data envoy-certs federation-bundle
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds="${1:-180}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(pem der spiffe-id jwt jwks config agent-data envoy-certs federation-bundle)

# Resolve to the same versions as the main package (its Package.resolved, when present).
[ -f ../Package.resolved ] && cp ../Package.resolved Package.resolved
swift build -c release --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address
binary=.build-fuzz/release/spiffe-fuzz

status=0
for target in "${targets[@]}"; do
    scratch=".build-fuzz/corpus/$target"
    mkdir -p "$scratch" "artifacts/$target"
    echo "=== $target: ${seconds}s"
    # -timeout: an input taking over 10 s is a hang; -rss_limit_mb: a blow-up is a crash.
    if ! FUZZ_TARGET="$target" "$binary" "$scratch" "corpus/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="artifacts/$target/" -print_final_stats=1 2> ".build-fuzz/$target.log"; then
        echo "!!! $target found a problem; see Fuzz/.build-fuzz/$target.log and Fuzz/artifacts/$target/"
        status=1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" ".build-fuzz/$target.log" | tail -3 || true
done
exit $status
