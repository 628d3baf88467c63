#!/usr/bin/env bash
# Proof with real peers: the shipped alert and recording rules, loaded into a real Prometheus that
# scrapes real spiffe-exporter processes, fire the right alerts through a real Alertmanager to a
# webhook, stay silent for a healthy exporter, and every query of both dashboards returns data.
#
# Started on free loopback ports in a temporary directory (all stopped on exit):
#   healthy    `spiffe-exporter demo --demo.intermediate`, 40 s SVIDs issued by an intermediate CA
#              (rotated at half-life, on time), an expected identity that is present
#   (the three demos add a `namespace` label derived from the SPIFFE ID to every per-identity series)
#   stalled    `spiffe-exporter demo --demo.fault stalled-rotation --demo.agent-fault expired-agent-svid`,
#              20 s SVIDs that never rotate, and an agent whose own SVID has expired
#   agentdown  plain `spiffe-exporter` pointed at a socket nothing listens on (agent down)
#   mismatch   `spiffe-exporter demo --demo.fault mismatched-key --demo.federation-fault garbage-x5c`
#              (frontend key ≠ certificate; the partner's federation bundle endpoint serves garbage)
#   Prometheus (1 s scrape and rule evaluation), Alertmanager (routes everything to the webhook),
#   a webhook receiver (scripts/e2e-prometheus.py).
# Assertions (scripts/e2e-prometheus.py check) print one PASS/FAIL line each; the last line is
# "<N> passed, <M> failed". Exits non-zero on any failure.
#
# Usage: bash scripts/e2e-prometheus.sh
#   SPIFFE_EXPORTER_BIN  exporter binary (default: $(swift build --show-bin-path)/spiffe-exporter)
#   PROMETHEUS, ALERTMANAGER  binaries (default: prometheus, prometheus-alertmanager or alertmanager)
#   E2E_TIMEOUT          overall bound in seconds (default 360; a run takes about 2-3 minutes)
#   E2E_KEEP=1           keep the temporary directory (configs, logs, webhook log) for inspection
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
started=$(date +%s)
timeout_s="${E2E_TIMEOUT:-360}"
deadline=$((started + timeout_s))
passed=0
failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() {
    if [[ "${E2E_KEEP:-}" == 1 && -n "${tmp:-}" ]]; then
        echo "kept $tmp"
    fi
    echo "${passed} passed, ${failed} failed"
    if ((failed > 0)); then exit 1; fi
    exit 0
}

# --- tools --------------------------------------------------------------------------------------
bin="${SPIFFE_EXPORTER_BIN:-}"
if [[ -z "$bin" ]]; then
    bin="$(swift build --show-bin-path)/spiffe-exporter"
fi
prometheus="${PROMETHEUS:-prometheus}"
alertmanager="${ALERTMANAGER:-}"
if [[ -z "$alertmanager" ]]; then
    alertmanager=$(command -v prometheus-alertmanager || command -v alertmanager || echo prometheus-alertmanager)
fi
for tool in "$bin" "$prometheus" "$alertmanager" python3 curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        fail "required tool not found: $tool (build with 'swift build --product spiffe-exporter'; Debian packages prometheus, prometheus-alertmanager)"
        finish
    fi
done
helper="$repo/scripts/e2e-prometheus.py"

# --- processes, cleanup ---------------------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/spiffe-e2e.XXXXXX")"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ "${E2E_KEEP:-}" != 1 ]]; then
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'echo "FAIL interrupted"; exit 130' INT TERM

# start NAME CMD... : runs CMD in the background with its output in $tmp/NAME.log. The demo's
# simulated agent puts its socket under TMPDIR, so each process gets its own folder in $tmp.
start() {
    local name=$1
    shift
    mkdir -p "$tmp/$name"
    TMPDIR="$tmp/$name" "$@" >"$tmp/$name.log" 2>&1 &
    pids+=($!)
}

# wait_http NAME URL : waits (bounded) until URL answers 200.
wait_http() {
    local name=$1 url=$2 until=$(( $(date +%s) + 30 ))
    ((until < deadline)) || until=$deadline
    while (( $(date +%s) < until )); do
        if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
            pass "$name is up ($url)"
            return 0
        fi
        sleep 0.3
    done
    fail "$name did not come up at $url; last log lines:"
    tail -n 5 "$tmp/$name.log" 2>/dev/null | sed 's/^/    /' || true
    return 1
}

mapfile -t ports < <(python3 "$helper" free-ports 7)
p_healthy=${ports[0]} p_stalled=${ports[1]} p_agentdown=${ports[2]} p_mismatch=${ports[3]}
p_prom=${ports[4]} p_am=${ports[5]} p_hook=${ports[6]}
i_healthy="127.0.0.1:$p_healthy" i_stalled="127.0.0.1:$p_stalled"
i_agentdown="127.0.0.1:$p_agentdown" i_mismatch="127.0.0.1:$p_mismatch"

# --- configuration --------------------------------------------------------------------------------
mkdir -p "$tmp/prometheus/rules" "$tmp/prometheus/data" "$tmp/alertmanager/data"
# The shipped rule files, unchanged except for `for:`, which is shortened here (and only in this
# temporary copy) so the alerts fire within the test: every `for:` becomes 20s. That is still
# longer than the expiry bands' legitimate blip on the healthy demo: SPIRE-style SVIDs are
# backdated 10 s, so they pass "half their lifetime" 5 s before the half-life rotation.
# Thresholds, windows and recording intervals are the shipped ones.
for f in spiffe-exporter.rules.yml spiffe-exporter.recording.yml; do
    sed -E 's/^([[:space:]]*for:[[:space:]]*).*/\120s/' "alerts/$f" >"$tmp/prometheus/rules/$f"
done
if ! grep -q 'for: 20s' "$tmp/prometheus/rules/spiffe-exporter.rules.yml"; then
    fail "could not shorten the for: durations of the rule copy"
    finish
fi
rule_count=$(grep -cE '^[[:space:]]*(- )?(alert|record):' "$tmp"/prometheus/rules/*.yml | awk -F: '{n += $2} END {print n}')

cat >"$tmp/prometheus/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
  external_labels:
    cluster: e2e
rule_files:
  - rules/spiffe-exporter.rules.yml
  - rules/spiffe-exporter.recording.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$p_am']
scrape_configs:
  - job_name: spiffe-exporter
    static_configs:
      - targets: ['$i_healthy', '$i_stalled', '$i_agentdown', '$i_mismatch']
        # A target label as multi-cluster setups have (the value of the external label, which it
        # shadows): the dashboards' cluster variable lists it.
        labels:
          cluster: e2e
  # /probe driven by service discovery (the __param_target pattern of docs/metrics.md): the
  # assertion helper writes the healthy demo's TLS backend into the file once the demo logged it.
  - job_name: spiffe-probe
    metrics_path: /probe
    file_sd_configs:
      - files: ['$tmp/prometheus/probe-targets.json']
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: '$i_healthy'
EOF
echo '[]' >"$tmp/prometheus/probe-targets.json"

cat >"$tmp/alertmanager/alertmanager.yml" <<EOF
route:
  receiver: webhook
  group_by: ['...']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: http://127.0.0.1:$p_hook/alerts
        send_resolved: true
EOF

# --- start everything -----------------------------------------------------------------------------
echo "== starting (binary: $bin, temp: $tmp)"
start webhook python3 "$helper" webhook --listen "127.0.0.1:$p_hook" --out "$tmp/webhook.jsonl"
start alertmanager "$alertmanager" --config.file="$tmp/alertmanager/alertmanager.yml" \
    --storage.path="$tmp/alertmanager/data" --web.listen-address="127.0.0.1:$p_am" --cluster.listen-address=
# The demos label every per-identity series with the namespace of its SPIFFE ID (as an operator
# routing by team would): the rules and dashboards must work with such series. The healthy one
# also expects its frontend identity (present: silent) and knows the simulator's 4 s backdate.
ns_label='namespace=^spiffe://[^/]+/ns/([^/]+)/'
start healthy "$bin" demo --web.listen-address "$i_healthy" --demo.svid-ttl 40s --demo.intermediate \
    --label.from-spiffe-id "$ns_label" --expect.identity workload_api=spiffe://example.org/ns/demo/sa/frontend \
    --clock.issuer-backdate 4s
start stalled "$bin" demo --web.listen-address "$i_stalled" --demo.svid-ttl 20s --demo.fault stalled-rotation \
    --demo.agent-fault expired-agent-svid --label.from-spiffe-id "$ns_label"
start agentdown "$bin" --web.listen-address "$i_agentdown" \
    --collector.workload-api.address "unix://$tmp/agentdown/missing/agent.sock"
start mismatch "$bin" demo --web.listen-address "$i_mismatch" --demo.svid-ttl 40s --demo.fault mismatched-key \
    --demo.federation-fault garbage-x5c --label.from-spiffe-id "$ns_label"
# Prometheus right away: the renewal counters must move after its first scrape to show in rates.
start prometheus "$prometheus" --config.file="$tmp/prometheus/prometheus.yml" \
    --storage.tsdb.path="$tmp/prometheus/data" --web.listen-address="127.0.0.1:$p_prom"
exporters_started=$(date +%s)

ok=1
wait_http webhook "http://127.0.0.1:$p_hook/healthz" || ok=0
wait_http alertmanager "http://127.0.0.1:$p_am/-/ready" || ok=0
for name in healthy stalled agentdown mismatch; do
    port_var="p_$name"
    wait_http "$name" "http://127.0.0.1:${!port_var}/metrics" || ok=0
done
wait_http prometheus "http://127.0.0.1:$p_prom/-/ready" || ok=0
if ((ok == 0)); then
    finish
fi

# --- assertions -----------------------------------------------------------------------------------
cat >"$tmp/check.json" <<EOF
{
  "prometheus": "http://127.0.0.1:$p_prom",
  "webhook_log": "$tmp/webhook.jsonl",
  "instances": {"healthy": "$i_healthy", "stalled": "$i_stalled", "agentdown": "$i_agentdown", "mismatch": "$i_mismatch"},
  "external_labels": {"cluster": "e2e"},
  "dashboards": ["$repo/dashboards/spiffe-overview.json", "$repo/dashboards/spiffe-workload.json"],
  "rule_count": $rule_count,
  "started": $exporters_started,
  "deadline": $((deadline - 15)),
  "alert_timeout": 120,
  "healthy_min_observe": 100,
  "dashboard_timeout": 60,
  "healthy_log": "$tmp/healthy.log",
  "probe_sd_file": "$tmp/prometheus/probe-targets.json"
}
EOF
echo "== assertions"
set +e
# The helper bounds each phase by the overall deadline (less 15 s to report and clean up);
# `timeout` is the backstop.
remaining=$((deadline - $(date +%s)))
((remaining > 5)) || remaining=5
timeout --kill-after=5 "$remaining" python3 "$helper" check --config "$tmp/check.json" \
    | tee "$tmp/check.out" | grep -v '^CHECKS '
status=${PIPESTATUS[0]}
set -e
c_pass=$(grep -c '^PASS ' "$tmp/check.out" || true)
c_fail=$(grep -c '^FAIL ' "$tmp/check.out" || true)
passed=$((passed + c_pass))
failed=$((failed + c_fail))
if ! grep -q '^CHECKS ' "$tmp/check.out"; then
    fail "assertion helper did not finish (status $status: overall timeout of ${timeout_s} s or a crash)"
elif ((status != 0 && c_fail == 0)); then
    fail "assertion helper ended with status $status"
fi
echo "== done in $(( $(date +%s) - started )) s"
finish
