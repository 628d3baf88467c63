#!/usr/bin/env bash
# Runs every benchmark of docs/performance.md and prints the results against their targets:
#   1-3, 5  spiffe-exporter-bench (in-process: SVID file load, scrape, rotation latency, outage)
#   1, 2    Python baselines on the same files / the same series (scripts/bench_baseline.py)
#   4       idle CPU and RSS of the release exporter binary watching 1,000 / 10,000 files
# Usage: scripts/bench.sh [--quick]   (--quick: small sizes and 10 s idle windows, a few minutes)
# Environment: IDLE_SECONDS (default 60), BENCH_FILES (default 10000), BENCH_PORT (default 19841).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
[[ "${1:-}" == "--quick" ]] && quick=true
files=${BENCH_FILES:-10000}
idle_seconds=${IDLE_SECONDS:-60}
outage_seconds=60
if $quick; then files=${BENCH_FILES:-1000}; idle_seconds=${IDLE_SECONDS:-10}; outage_seconds=10; fi
port=${BENCH_PORT:-19841}
out=.build-bench
scratch=.build-release
mkdir -p "$out"

echo "== build (release, --scratch-path $scratch)"
swift build -c release --scratch-path "$scratch" --product spiffe-exporter-bench
swift build -c release --scratch-path "$scratch" --product spiffe-exporter
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

echo "== python baselines venv ($out-venv)"
venv=.build-bench-venv
if [[ ! -x "$venv/bin/python" ]]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c 'import cryptography, prometheus_client' 2>/dev/null \
    || "$venv/bin/pip" install --quiet cryptography prometheus_client

echo "== 1, 2, 3, 5: spiffe-exporter-bench ($files files/identities)"
"$bin/spiffe-exporter-bench" --json --files "$files" --identities "$files" --outage-seconds "$outage_seconds" \
    --dir "$out/svids" --exposition-out "$out/exposition.txt" >"$out/swift.json"

echo "== 1, 2: Python baselines on the same files and series"
"$venv/bin/python" scripts/bench_baseline.py load "$out/svids" >"$out/py_load.json"
"$venv/bin/python" scripts/bench_baseline.py render "$out/exposition.txt" 50 >"$out/py_render.json"

echo "== 4: idle cost ($idle_seconds s windows)"
sock=/tmp/spiffe-bench-$$.sock
"$bin/spiffe-exporter-bench" --simulator "$sock" 2>/dev/null &
sim_pid=$!
exporter_pid=""
cleanup() {
    [[ -n "$exporter_pid" ]] && kill "$exporter_pid" 2>/dev/null || true
    kill "$sim_pid" 2>/dev/null || true
    rm -f "$sock"
}
trap cleanup EXIT
for _ in $(seq 100); do [[ -S "$sock" ]] && break; sleep 0.1; done

# The first 1,000 of the generated files, for the 1,000-file run.
rm -rf "$out/files-1000" && mkdir -p "$out/files-1000"
# (sed, not head: head closing the pipe early would fail the script under pipefail)
find "$out/svids" -name 'svid-*.pem' | sort | sed -n '1,1000p' | xargs cp -t "$out/files-1000/"

ticks=$(getconf CLK_TCK)
# measure NAME ARGS...: starts the exporter, waits until ready plus 5 s, then samples CPU time
# (utime+stime of /proc/PID/stat) over the idle window, and VmRSS/VmHWM at its end.
measure() {
    local name=$1; shift
    "$bin/spiffe-exporter" serve --web.listen-address "127.0.0.1:$port" --log.level warn \
        --collector.workload-api.address "unix://$sock" "$@" >"$out/exporter-$name.log" 2>&1 &
    exporter_pid=$!
    local ready=""
    for _ in $(seq 1200); do
        if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
        sleep 0.1
    done
    [[ -n "$ready" ]] || { echo "exporter ($name) never became ready" >&2; cat "$out/exporter-$name.log" >&2; exit 1; }
    local series
    series=$(curl -fs "http://127.0.0.1:$port/metrics" | grep -vc '^#')
    sleep 5
    local t0 c0 t1 c1
    t0=$(date +%s.%N); c0=$(awk '{print $14 + $15}' "/proc/$exporter_pid/stat")
    sleep "$idle_seconds"
    t1=$(date +%s.%N); c1=$(awk '{print $14 + $15}' "/proc/$exporter_pid/stat")
    local rss hwm
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$exporter_pid/status")
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$exporter_pid/status")
    kill "$exporter_pid"; wait "$exporter_pid" 2>/dev/null || true
    exporter_pid=""
    python3 -c "import json,sys; print(json.dumps({'idle_${name}_cpu_percent': ($c1-$c0)/$ticks/($t1-$t0)*100, \
'idle_${name}_rss_mb': $rss/1024, 'idle_${name}_hwm_mb': $hwm/1024, 'idle_${name}_series': $series, \
'idle_${name}_window_s': $t1-$t0}))" >"$out/idle_$name.json"
    cat "$out/idle_$name.json"
}
measure default
measure files1000 --collector.cert-files.glob "bench=$PWD/$out/files-1000/*.pem"
measure files10000 --collector.cert-files.glob "bench=$PWD/$out/svids/svid-*.pem"

echo "== results"
python3 - "$out" "$quick" <<'PY'
import json, glob, os, sys
out, quick = sys.argv[1], sys.argv[2] == "true"
r = {}
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    r.update(json.load(open(path)))
rows = [
    ("1 load+parse+validate, us/cert", r["load_validate_us_per_cert"], f'<= Python {r["py_load_us_per_cert"]:.1f}',
     r["load_validate_us_per_cert"] <= r["py_load_us_per_cert"]),
    ("1 load+parse only (glob path), us/cert", r["load_parse_us_per_cert"], f'<= Python {r["py_load_us_per_cert"]:.1f}',
     r["load_parse_us_per_cert"] <= r["py_load_us_per_cert"]),
    ("1 load+parse+validate vs Python doing the same signature check, us/cert", r["load_validate_us_per_cert"],
     f'(Python + verify_directly_issued_by {r["py_load_verify_us_per_cert"]:.1f})', None),
    ("2 scrape p50, ms", r["scrape_p50_ms"], f'(Python render p50 {r["py_render_p50_ms"]:.1f})', None),
    ("2 scrape p99, ms", r["scrape_p99_ms"], f'<= 50 and <= 2x Python p99 {r["py_render_p99_ms"]:.1f}',
     r["scrape_p99_ms"] <= 50 and r["scrape_p99_ms"] <= 2 * r["py_render_p99_ms"]),
    ("2 scrape p99 cold (fresh render cache, as after all rotated), ms", r["scrape_cold_p99_ms"],
     f'<= 50 and <= 2x Python p99 {r["py_render_p99_ms"]:.1f}',
     r["scrape_cold_p99_ms"] <= 50 and r["scrape_cold_p99_ms"] <= 2 * r["py_render_p99_ms"]),
    ("2 scrape bytes / series", f'{r["scrape_bytes"]:.0f} / {r["scrape_series"]:.0f}',
     f'(Python {r["py_render_bytes"]} / {r["py_render_series"]})', None),
    ("3 stream rotation -> /metrics, max ms", r["rotation_stream_max_ms"], "<= 100", r["rotation_stream_max_ms"] <= 100),
    ("3 file rename -> /metrics, max ms", r["rotation_file_max_ms"], "<= 1000", r["rotation_file_max_ms"] <= 1000),
    ("4 idle CPU, 1,000 files + stream, %", r["idle_files1000_cpu_percent"], "<= 0.5", r["idle_files1000_cpu_percent"] <= 0.5),
    ("4 idle CPU, default config, %", r["idle_default_cpu_percent"], "(info)", None),
    ("4 RSS default config, MB", r["idle_default_rss_mb"], "<= 30", r["idle_default_rss_mb"] <= 30),
    ("4 RSS 1,000 files, MB", r["idle_files1000_rss_mb"], "(info)", None),
    ("4 RSS 10,000 files, MB (peak)", f'{r["idle_files10000_rss_mb"]:.1f} ({r["idle_files10000_hwm_mb"]:.1f})', "<= 150",
     r["idle_files10000_hwm_mb"] <= 150),
    ("5 outage attempts per RPC", r["outage_attempts_max_per_rpc"],
     f'<= backoff promise {r["outage_attempts_promised_per_rpc"]:.0f} in {r["outage_seconds"]:.0f} s',
     r["outage_attempts_max_per_rpc"] <= r["outage_attempts_promised_per_rpc"]),
    ("5 open streams steady / after recovery", f'{r["outage_steady_open_streams"]:.0f} / {r["outage_recovered_open_streams"]:.0f}',
     "== 2 / 2 (one per RPC kind)", r["outage_steady_open_streams"] == 2 and r["outage_recovered_open_streams"] == 2
     and r["outage_recovered_calls_max_per_rpc"] == 1),
]
def fmt(v):
    return f"{v:.2f}" if isinstance(v, float) else str(v)
lines = ["| benchmark | measured | target | met |", "|---|---|---|---|"]
for name, value, target, met in rows:
    lines.append(f"| {name} | {fmt(value)} | {target} | {'-' if met is None else ('yes' if met else 'NO')} |")
table = "\n".join(lines)
print(table)
open(os.path.join(out, "results.md"), "w").write(table + "\n")
json.dump(r, open(os.path.join(out, "all.json.txt"), "w"), indent=1, sort_keys=True)
if quick:
    print("(quick mode: sizes and windows are smaller than the targets assume)")
PY
