#!/usr/bin/env bash
# Checks the Prometheus rules in alerts/:
#   1. `promtool check rules` on the alert and recording rule files;
#   2. every alert has a `## <AlertName>` section in docs/runbooks.md, its runbook_url points at
#      that section, and some test file in alerts/tests/ evaluates it;
#   3. `promtool test rules` on each alerts/tests/*.yml;
#   4. the mixin rendered with a non-default _config (a selector, no cluster label) still gives
#      rules promtool accepts, with the selector on every exporter series.
# Exits non-zero on any failure. The last line counts test files: "<N> passed, <M> failed".
# Needs promtool (Debian package `prometheus`); set PROMTOOL to use another binary.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
promtool="${PROMTOOL:-promtool}"
rules=alerts/spiffe-exporter.rules.yml
recording=alerts/spiffe-exporter.recording.yml
runbooks=docs/runbooks.md
runbook_base="https://github.com/spiffe-exporter/spiffe-exporter/blob/main/docs/runbooks.md#"

if ! command -v "$promtool" >/dev/null 2>&1; then
    echo "error: promtool not found (install the Debian package 'prometheus' or set PROMTOOL)" >&2
    exit 2
fi

status=0

echo "== promtool check rules"
"$promtool" check rules "$rules" "$recording" || status=1

shopt -s nullglob
tests=(alerts/tests/*.yml)
if ((${#tests[@]} == 0)); then
    echo "error: no test files in alerts/tests/" >&2
    status=1
fi

echo "== runbook sections and test coverage"
# The rendered YAML quotes string values (alert: "Name"); the quotes are optional here.
alerts=$(sed -n 's/^[[:space:]]*- alert:[[:space:]]*"\{0,1\}\([A-Za-z0-9]*\).*/\1/p' "$rules" | sort -u)
for alert in $alerts; do
    anchor=$(printf '%s' "$alert" | tr '[:upper:]' '[:lower:]')
    if ! grep -qx "## ${alert}" "$runbooks"; then
        echo "error: $alert has no '## $alert' section in $runbooks" >&2
        status=1
    fi
    if ! grep -qE "runbook_url: \"?${runbook_base}${anchor}\"?\$" "$rules"; then
        echo "error: $alert has no runbook_url ${runbook_base}${anchor}" >&2
        status=1
    fi
    if ((${#tests[@]} > 0)) && ! grep -qE "alertname:[[:space:]]*${alert}\$" "${tests[@]}"; then
        echo "error: no test in alerts/tests/ evaluates $alert" >&2
        status=1
    fi
done
# A runbook_url must never point at a section that does not exist.
while read -r anchor; do
    if ! grep -qix "## ${anchor}" "$runbooks"; then
        echo "error: runbook_url anchor #$anchor has no section in $runbooks" >&2
        status=1
    fi
done < <(grep -oE "runbook_url: \"?${runbook_base}[a-z0-9-]*" "$rules" | sed 's/.*#//' | sort -u)
echo "$(echo "$alerts" | wc -w) alerts checked"

echo "== mixin with a custom _config"
if command -v jsonnet >/dev/null 2>&1; then
    custom=$(mktemp -d "${TMPDIR:-/tmp}/mixin-custom.XXXXXX")
    jsonnet -S -e '
      local m = (import "mixin/mixin.libsonnet") + { _config+:: { selector: "job=\"spiffe\"", clusterLabel: "" } };
      std.manifestYamlDoc({ groups: m.prometheusAlerts.groups + m.prometheusRules.groups })' >"$custom/rules.yml"
    "$promtool" check rules "$custom/rules.yml" || status=1
    # Every raw spiffe_* series in an expr (recorded ones have a colon) must carry the selector.
    jsonnet -e '
      local m = (import "mixin/mixin.libsonnet") + { _config+:: { selector: "job=\"spiffe\"", clusterLabel: "" } };
      [r.expr for g in m.prometheusAlerts.groups + m.prometheusRules.groups for r in g.rules]' >"$custom/exprs.json"
    python3 - "$custom/exprs.json" <<'PY' || status=1
import json, re, sys
bad = [m.group(0) for e in json.load(open(sys.argv[1]))
       for m in re.finditer(r'(?<![:\w"])spiffe_(?!id\b)[a-z0-9_]+(\{[^}]*\})?', e) if 'job="spiffe"' not in m.group(0)]
if bad:
    sys.exit("error: series without the configured selector: " + ", ".join(bad))
PY
    rm -rf "$custom"
else
    echo "error: jsonnet not found (Debian package jsonnet)" >&2
    status=1
fi

echo "== promtool test rules"
passed=0
failed=0
for t in "${tests[@]}"; do
    if "$promtool" test rules "$t"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done

echo "${passed} passed, ${failed} failed"
if ((failed > 0 || status != 0)); then
    exit 1
fi
