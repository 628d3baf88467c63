#!/usr/bin/env bash
# /status in a real browser: headless Chromium loads the page of three demos (healthy, a source
# fault, an expired agent SVID), dumps the rendered DOM (checked by e2e-status-page.py: headline,
# reasons, urgency order, lifetime bars) and writes screenshots at 1400 px and phone width for
# people to look at (never compared pixel by pixel).
#
#   SPIFFE_EXPORTER_BIN  exporter binary (default: $(swift build --show-bin-path)/spiffe-exporter)
#   CHROMIUM             browser (default: chromium)
#   STATUS_SHOTS         where the screenshots go (default: .build/status-page)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
bin="${SPIFFE_EXPORTER_BIN:-$(swift build --show-bin-path)/spiffe-exporter}"
chromium="${CHROMIUM:-chromium}"
shots="${STATUS_SHOTS:-$repo/.build/status-page}"
command -v "$chromium" >/dev/null || { echo "FAIL $chromium not found (Debian package chromium; bash .ci/run installs it)"; exit 1; }
mkdir -p "$shots"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/spiffe-status.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
# Chromium's sandbox needs user namespaces a root CI container lacks.
browser=("$chromium" --headless --disable-gpu --no-first-run --user-data-dir="$tmp/profile")
[[ $(id -u) -ne 0 ]] || browser+=(--no-sandbox)
failed=0
mapfile -t ports < <(python3 scripts/e2e-prometheus.py free-ports 3)

# page NAME PORT HEADLINE [REASON...] : starts the demo with its flags already in $flags, waits
# until the headline can be what the state implies (sources have had their first answer or
# failure), then renders, checks and photographs /status.
page() {
    local name=$1 port=$2 headline=$3
    shift 3
    mkdir -p "$tmp/$name"
    TMPDIR="$tmp/$name" "$bin" demo --web.listen-address "127.0.0.1:$port" "${flags[@]}" >"$tmp/$name.log" 2>&1 &
    pids+=($!)
    local url="http://127.0.0.1:$port/status" until=$(( $(date +%s) + 60 )) got=""
    while (( $(date +%s) < until )); do
        got=$(curl -fsS --max-time 2 "$url?format=json" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || true)
        [[ "$got" == "$headline" ]] && break
        sleep 0.5
    done
    [[ "$got" == "$headline" ]] || { echo "FAIL $name: /status never said $headline (last: ${got:-no answer}); log:"; tail -5 "$tmp/$name.log"; failed=1; return; }
    "${browser[@]}" --dump-dom "$url" >"$tmp/$name.html" 2>"$tmp/$name.chromium.log" || { echo "FAIL $name: chromium --dump-dom"; tail -3 "$tmp/$name.chromium.log"; failed=1; return; }
    local reasons=()
    for reason in "$@"; do reasons+=(--reason "$reason"); done
    echo "-- $name (demo ${flags[*]:-})"
    python3 scripts/e2e-status-page.py "$tmp/$name.html" "$headline" "${reasons[@]}" || failed=1
    local size
    for size in 1400,1000 390,844; do
        "${browser[@]}" --window-size="$size" --screenshot="$shots/$name-${size%,*}px.png" "$url" >/dev/null 2>&1 || true
        if [[ -s "$shots/$name-${size%,*}px.png" ]]; then echo "PASS screenshot $shots/$name-${size%,*}px.png"; else echo "FAIL screenshot at $size"; failed=1; fi
    done
}

flags=()
page healthy "${ports[0]}" OK
flags=(--demo.fault unavailable)
page unavailable "${ports[1]}" WARNING "source workload_api (workload_api) never synced: unavailable"
flags=(--demo.fault unavailable --demo.agent-fault expired-agent-svid)
page agent-expired "${ports[2]}" CRITICAL "CRITICAL: agent_svid" "never synced: unavailable"
if ((failed)); then echo "status page: FAILED"; exit 1; fi
echo "status page: all checks passed"
