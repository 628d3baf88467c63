#!/usr/bin/env bash
# Checks the Prometheus rules in alerts/:
#   1. `promtool check rules` on the alert and recording rule files;
#   2. every alert has a `## <AlertName>` section in docs/runbooks.md, its runbook_url points at
#      that section, and some test file in alerts/tests/ evaluates it;
#   3. `promtool test rules` on each alerts/tests/*.yml.
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
alerts=$(sed -n 's/^[[:space:]]*- alert:[[:space:]]*\([A-Za-z0-9]*\).*/\1/p' "$rules" | sort -u)
for alert in $alerts; do
    anchor=$(printf '%s' "$alert" | tr '[:upper:]' '[:lower:]')
    if ! grep -qx "## ${alert}" "$runbooks"; then
        echo "error: $alert has no '## $alert' section in $runbooks" >&2
        status=1
    fi
    if ! grep -qF "runbook_url: ${runbook_base}${anchor}" "$rules"; then
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
done < <(grep -o "runbook_url: ${runbook_base}[a-z0-9-]*" "$rules" | sed 's/.*#//' | sort -u)
echo "$(echo "$alerts" | wc -w) alerts checked"

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
