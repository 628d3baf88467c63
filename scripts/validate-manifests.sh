#!/usr/bin/env bash
# Validates deploy/kubernetes: every built-in object (DaemonSet, ServiceAccount, Service, the
# dashboard ConfigMaps) strictly against the Kubernetes version the manifests target, with PyPI's
# kubernetes-validate; the PrometheusRule's rules with promtool; and that the kustomization lists
# every manifest. kubernetes-validate ships no schemas for monitoring.coreos.com objects:
# ServiceMonitor, PodMonitor and PrometheusRule are validated against the operator's CRD schemas
# in scripts/crd-schemas (their source and strictness are noted in regenerate.sh there), and the
# script first proves that those schemas reject an unknown field, a wrong enum and a missing field.
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
import copy, json, os, sys, yaml
import jsonschema
tmp = sys.argv[1]
root = "deploy/kubernetes"
kust = yaml.safe_load(open(f"{root}/kustomization.yaml"))
files = sorted(f for f in os.listdir(root) if f.endswith(".yaml") and f != "kustomization.yaml")
bad = 0
# podmonitor.yaml is the alternative to the ServiceMonitor, applied instead of it by hand.
if sorted(kust["resources"]) != [f for f in files if f != "podmonitor.yaml"]:
    print(f"FAIL kustomization resources {sorted(kust['resources'])} != manifests {files}"); bad = 1
schemas = {}
for kind in ("ServiceMonitor", "PodMonitor", "PrometheusRule"):
    schema = json.load(open(f"scripts/crd-schemas/monitoring.coreos.com_{kind.lower()}_v1.json"))
    schemas[kind] = jsonschema.Draft202012Validator(schema)

def problems(doc):
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in schemas[doc["kind"]].iter_errors(doc))

# A schema that accepts anything proves nothing: these must be rejected.
probe = yaml.safe_load(open(f"{root}/servicemonitor.yaml"))
for what, mutate in [
    ("an unknown field", lambda d: d["spec"]["endpoints"][0].__setitem__("intervall", "30s")),
    ("a wrong enum", lambda d: d["spec"]["endpoints"][0].__setitem__("scheme", "ftp")),
    ("a malformed duration", lambda d: d["spec"]["endpoints"][0].__setitem__("interval", "30 seconds")),
    ("a missing required field", lambda d: d["spec"].pop("selector")),
]:
    doc = copy.deepcopy(probe); mutate(doc)
    if not problems(doc):
        print(f"FAIL the ServiceMonitor schema accepts {what}"); bad = 1
for f in files:
    for doc in yaml.safe_load_all(open(f"{root}/{f}")):
        if not doc: continue
        kind = doc.get("kind")
        if kind in schemas:
            if doc.get("apiVersion") != "monitoring.coreos.com/v1":
                print(f"FAIL {f}: {kind} apiVersion {doc.get('apiVersion')}"); bad = 1
            for problem in problems(doc):
                print(f"FAIL {f}: {kind} {problem}"); bad = 1
            if not problems(doc):
                print(f"{f}: {kind} {doc['metadata']['name']} valid against its CRD schema")
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
