#!/usr/bin/env bash
# Validates deploy/kubernetes: every built-in object (DaemonSet, ServiceAccount, Service, the
# dashboard ConfigMaps) strictly against the Kubernetes version the manifests target, with PyPI's
# kubernetes-validate; the PrometheusRule's rules with promtool; and that the kustomization lists
# every manifest. kubernetes-validate ships no schemas for monitoring.coreos.com objects, and no
# copy of the operator's CRDs may be fetched on this machine, so ServiceMonitor, PodMonitor and
# PrometheusRule are checked for kind, apiVersion and required fields only (docs/deployment notes).
#   KUBERNETES_VALIDATE  the tool (default: .build-venv/bin/kubernetes-validate, made by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
target=1.30.0  # the oldest Kubernetes release the manifests are written for
kv="${KUBERNETES_VALIDATE:-.build-venv/bin/kubernetes-validate}"
[[ -x "$kv" ]] || kv=$(command -v kubernetes-validate || true)
[[ -n "$kv" ]] || { echo "FAIL kubernetes-validate not found (bash .ci/run installs it into .build-venv)"; exit 1; }
python="$(dirname "$kv")/python3"
[[ -x "$python" ]] || python=python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/validate-manifests.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
out=$("$kv" --strict -k "$target" deploy/kubernetes/*.yaml 2>&1) || failed=1
echo "$out" | grep -E "^(ERROR|FAIL)" && failed=1
# Only the two kinds without a Kubernetes schema may go unvalidated.
if echo "$out" | grep -E "^WARN" | grep -vE "kind (Kustomization|ServiceMonitor|PodMonitor|PrometheusRule) with api version (kustomize.config.k8s.io/v1beta1|monitoring.coreos.com/v1) "; then
    echo "FAIL an object kubernetes-validate has no schema for"; failed=1
fi
passed=$(echo "$out" | grep -c " passed for resource " || true)
echo "kubernetes-validate --strict -k $target: $passed built-in objects passed"
"$python" - "$tmp" <<'PY' || failed=1
import os, sys, yaml
tmp = sys.argv[1]
root = "deploy/kubernetes"
kust = yaml.safe_load(open(f"{root}/kustomization.yaml"))
files = sorted(f for f in os.listdir(root) if f.endswith(".yaml") and f != "kustomization.yaml")
bad = 0
# podmonitor.yaml is the alternative to the ServiceMonitor, applied instead of it by hand.
if sorted(kust["resources"]) != [f for f in files if f != "podmonitor.yaml"]:
    print(f"FAIL kustomization resources {sorted(kust['resources'])} != manifests {files}"); bad = 1
required = {"PrometheusRule": ["groups"], "ServiceMonitor": ["selector", "endpoints"], "PodMonitor": ["selector", "podMetricsEndpoints"]}
for f in files:
    for doc in yaml.safe_load_all(open(f"{root}/{f}")):
        if not doc: continue
        kind = doc.get("kind")
        if kind in required:
            missing = [k for k in required[kind] if k not in (doc.get("spec") or {})]
            if doc.get("apiVersion") != "monitoring.coreos.com/v1" or missing or not doc.get("metadata", {}).get("name"):
                print(f"FAIL {f}: {kind} lacks {missing or 'apiVersion/name'}"); bad = 1
        if kind == "PrometheusRule":
            with open(f"{tmp}/rules.yml", "w") as out:
                yaml.safe_dump({"groups": doc["spec"]["groups"]}, out)
        if kind == "ConfigMap" and doc["metadata"].get("labels", {}).get("grafana_dashboard") != "1":
            print(f"FAIL {f}: ConfigMap {doc['metadata']['name']} lacks grafana_dashboard: \"1\""); bad = 1
sys.exit(bad)
PY
promtool check rules "$tmp/rules.yml" >/dev/null || { echo "FAIL promtool rejects the PrometheusRule's rules"; failed=1; }
((failed == 0)) && echo "deploy/kubernetes: all manifests valid"
exit "$failed"
