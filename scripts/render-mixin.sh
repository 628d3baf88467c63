#!/usr/bin/env bash
# Renders the monitoring mixin (mixin/) into the files it generates: alerts/*.yml and
# dashboards/*.json (the list is mixin/render.jsonnet). Needs Debian's `jsonnet`.
#   bash scripts/render-mixin.sh           rewrite the generated files
#   bash scripts/render-mixin.sh --check   fail (exit 1, with a diff) if a committed file differs
#                                          from a fresh render; scripts/test.sh runs this
set -euo pipefail
cd "$(dirname "$0")/.."
command -v jsonnet >/dev/null || { echo "missing jsonnet (Debian package jsonnet)" >&2; exit 2; }

out=$(mktemp -d "${TMPDIR:-/tmp}/render-mixin.XXXXXX")
trap 'rm -rf "$out"' EXIT
# jsonnet -m does not create folders: make the ones the render names first (its keys, read
# with -e), then let -m write the files and print their paths.
mapfile -t files < <(jsonnet -S -e 'std.join("\n", std.objectFields((import "mixin/render.jsonnet")()))')
for f in "${files[@]}"; do mkdir -p "$out/$(dirname "$f")"; done
jsonnet -S -m "$out" mixin/render.jsonnet >/dev/null
((${#files[@]} > 0)) || { echo "render-mixin: jsonnet wrote nothing" >&2; exit 1; }

if [[ "${1:-}" == --check ]]; then
    stale=0
    for f in "${files[@]}"; do
        if ! diff -u "$f" "$out/$f" >"$out/.diff" 2>&1; then
            echo "render-mixin: $f differs from a fresh render of mixin/ (run bash scripts/render-mixin.sh):" >&2
            head -n 40 "$out/.diff" >&2
            stale=1
        fi
    done
    ((stale == 0)) && echo "render-mixin: ${#files[@]} generated files match mixin/"
    exit "$stale"
fi
for f in "${files[@]}"; do
    mkdir -p "$(dirname "$f")"
    cp "$out/$f" "$f"
done
echo "render-mixin: wrote ${files[*]}"
