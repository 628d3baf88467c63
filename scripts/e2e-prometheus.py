#!/usr/bin/env python3
"""Helper for scripts/e2e-prometheus.sh: free ports, the Alertmanager webhook receiver, assertions.

Subcommands:
  free-ports N                    print N free loopback TCP ports, one per line
  webhook --listen H:P --out F    receive Alertmanager webhooks, append each JSON body as one line to F
  check --config FILE             run the assertions described in the config (written by the .sh);
                                  prints one "PASS ..." / "FAIL ..." line per assertion
Standard library only.
"""

import argparse
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


# ------------------------------------------------------------------------------------------ free ports
def free_ports(count):
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        for s in sockets:
            print(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()


# ------------------------------------------------------------------------------------------ webhook
def webhook(listen, out):
    host, port = listen.rsplit(":", 1)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                payload = json.loads(body)
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            with lock, open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps({"received": time.time(), "payload": payload}) + "\n")
            self.send_response(200)
            self.end_headers()

        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


# ------------------------------------------------------------------------------------------ checks
class Checker:
    def __init__(self, config):
        self.c = config
        self.prom = config["prometheus"].rstrip("/")
        self.inst = config["instances"]  # role -> "127.0.0.1:port"
        self.passed = 0
        self.failed = 0

    # -- reporting
    def result(self, ok, text, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {text}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {text}" + (f": {detail}" if detail else ""), flush=True)

    def remaining(self):
        return self.c["deadline"] - time.time()

    def until(self, seconds):
        """A phase deadline, never past the overall one."""
        return min(time.time() + seconds, self.c["deadline"])

    # -- Prometheus HTTP API
    def api(self, path, **params):
        url = f"{self.prom}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"{path}: {body}")
        return body["data"]

    def query(self, expr):
        """Instant query through /api/v1/query; returns the result list (a scalar becomes one item)."""
        data = self.api("/api/v1/query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def value(self, expr):
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    # -- webhook log
    def webhook_alerts(self):
        alerts = []
        try:
            with open(self.c["webhook_log"], encoding="utf-8") as f:
                for line in f:
                    for a in json.loads(line)["payload"].get("alerts", []):
                        alerts.append(a)
        except FileNotFoundError:
            pass
        return alerts

    # ---------------------------------------------------------------------------------- phases
    def targets_up(self):
        end = self.until(30)
        want = sorted(self.inst.values())
        up = []
        while time.time() < end:
            try:
                up = sorted(r["metric"]["instance"] for r in self.query('up{job="spiffe-exporter"} == 1'))
            except Exception:  # Prometheus still starting
                up = []
            if up == want:
                break
            time.sleep(1)
        self.result(up == want, f"Prometheus scrapes all {len(want)} exporters (up == 1)", f"up: {up}")

    def probe_endpoint(self):
        """Prometheus scrapes /probe for a file_sd target through relabelling, as docs/metrics.md shows."""
        end = self.until(30)
        backend = None
        while time.time() < end and backend is None:
            with open(self.c["healthy_log"], errors="replace") as log:
                m = re.search(r"demo_backend=(127\.0\.0\.1:\d+)", log.read())
            backend = m.group(1) if m else None
            if backend is None:
                time.sleep(0.5)
        if backend is None:
            self.result(False, "the healthy demo logged its TLS backend's address")
            return
        sd = self.c["probe_sd_file"]
        with open(sd + ".tmp", "w") as out:
            json.dump([{"targets": [backend]}], out)
        os.rename(sd + ".tmp", sd)
        end = self.until(40)
        results = {}
        exprs = {
            "up": f'up{{job="spiffe-probe",instance="{backend}"}}',
            "success": f'spiffe_probe_success{{job="spiffe-probe",instance="{backend}",target="{backend}"}}',
            "current": f'spiffe_served_svid_current{{job="spiffe-probe",instance="{backend}"}}',
            "version": f'count(spiffe_probe_tls_version_info{{job="spiffe-probe",instance="{backend}"}})',
        }
        while time.time() < end:
            try:
                results = {k: self.value(e) for k, e in exprs.items()}
            except Exception:
                results = {}
            if results and all(v == 1 for v in results.values()):
                break
            time.sleep(1)
        self.result(bool(results) and all(v == 1 for v in results.values()),
                    f"Prometheus probes the file_sd target {backend} through /probe: up, success, current SVID, TLS version",
                    f"{results}")

    def expected_alerts(self):
        """Every expected alert must reach the webhook, with the labels an on-call needs."""
        base = {"job": "spiffe-exporter", "source": "workload_api", **self.c["external_labels"]}
        frontend = "spiffe://example.org/ns/demo/sa/frontend"
        backend = "spiffe://example.org/ns/demo/sa/backend"
        expected = []
        for alertname, severity in [("SpiffeX509SVIDRenewalOverdue", "warning"), ("SpiffeX509SVIDExpired", "critical")]:
            for sid in (frontend, backend):
                expected.append((alertname, {**base, "severity": severity, "instance": self.inst["stalled"],
                                             "spiffe_id": sid, "namespace": "demo"}))
        # The stalled instance's agent has an expired SVID of its own (--demo.agent-fault).
        agent = {**base, "source": "agent", "instance": self.inst["stalled"],
                 "spiffe_id": "spiffe://example.org/spire/agent/join_token/simulated"}
        expected.append(("SpiffeAgentSVIDExpired", {**agent, "severity": "critical"}))
        expected.append(("SpiffeNodeOutageBudgetCritical", {**agent, "severity": "critical", "kind": "agent_svid"}))
        expected.append(("SpiffeWorkloadAPIDown", {**base, "severity": "critical", "instance": self.inst["agentdown"]}))
        expected.append(("SpiffeWorkloadAPIConnectionFailures",
                         {**base, "severity": "warning", "instance": self.inst["agentdown"], "reason": "socket_not_found"}))
        expected.append(("SpiffeX509SVIDInvalid", {**base, "severity": "critical", "instance": self.inst["mismatch"],
                                                   "spiffe_id": frontend, "namespace": "demo",
                                                   "reason": "key_mismatch"}))
        # The mismatch instance's federation bundle endpoint serves a garbage x5c (--demo.federation-fault).
        expected.append(("SpiffeFederationBundleFetchFailing",
                         {**base, "severity": "warning", "instance": self.inst["mismatch"], "source": "partner",
                          "trust_domain": "partner.example"}))
        begin = time.time()
        end = self.until(self.c["alert_timeout"])
        found = {}
        while time.time() < end and len(found) < len(expected):
            for a in self.webhook_alerts():
                if a.get("status") != "firing":
                    continue
                labels = a.get("labels", {})
                for i, (name, want) in enumerate(expected):
                    if i not in found and labels.get("alertname") == name and all(
                            labels.get(k) == v for k, v in want.items()):
                        found[i] = a
            time.sleep(1)
        for i, (name, want) in enumerate(expected):
            role = next(r for r, v in self.inst.items() if v == want["instance"])
            what = f"{name} reached the webhook for the {role} instance ({want['instance']})" + (
                f" {want['spiffe_id'].rsplit('/', 1)[-1]}" if "spiffe_id" in want else "") + (
                f" reason={want['reason']}" if "reason" in want else "")
            if i not in found:
                self.result(False, what, f"not received within {int(time.time() - begin)} s")
                continue
            a = found[i]
            anchor = "#" + name.lower()
            ok = a.get("annotations", {}).get("runbook_url", "").endswith(anchor) and a["annotations"].get("summary")
            self.result(bool(ok), what + ", with severity, external labels, summary and runbook_url",
                        json.dumps(a.get("annotations")))

    def wait_for_recordings(self):
        """The recording groups run every minute: wait until the day figures include the stalled SVIDs."""
        end = self.until(150)
        expr = 'source_outcome:spiffe_x509_svid_renewals_total:increase1d{outcome="missed"} > 0'
        seen = False
        while time.time() < end:
            if self.query(expr) and self.query("source:spiffe_x509_svid_renewals_total:on_time_ratio_increase1d"):
                seen = True
                break
            time.sleep(2)
        self.result(seen, "recording rules record the missed generations of the stalled instance")

    def success_rate_guard(self):
        ratio = self.value('source:spiffe_x509_svid_renewals_total:on_time_ratio_increase1d{source="workload_api"}')
        generations = self.value('source:spiffe_x509_svid_renewals_total:increase1d{source="workload_api"}')
        active = self.query('ALERTS{alertname="SpiffeX509SVIDRenewalSuccessRateLow"}')
        ok = ratio is not None and ratio < 0.999 and generations is not None and generations < 1000 and not active
        self.result(ok, "SpiffeX509SVIDRenewalSuccessRateLow stays silent under the 1000-generation floor "
                        f"(on-time share {ratio if ratio is None else round(ratio * 100, 1)} %, "
                        f"{generations if generations is None else round(generations)} generations)",
                    f"ALERTS: {active}")

    def healthy_silent(self):
        """Judged after a minimum observation time: several rotations, several times the `for:`."""
        h = self.inst["healthy"]
        wait = self.c["started"] + self.c["healthy_min_observe"] - time.time()
        if wait > 0:
            print(f"   (observing the healthy instance {int(wait)} s more)", flush=True)
            time.sleep(min(wait, max(0, self.remaining() - 20)))
        window = f"{int(time.time() - self.c['started']) + 60}s"
        # The demo's Workload API identities (TTL set by the script) must have rotated on time; every
        # identity of the instance, whatever its source, must never be overdue, late or missed.
        wl = f'instance="{h}",source="workload_api"'
        on_time = self.query(f'increase(spiffe_x509_svid_renewals_total{{{wl},outcome="on_time"}}[{window}]) >= 1')
        bad = self.value(f'sum(max_over_time(spiffe_x509_svid_renewals_total{{instance="{h}",outcome!="on_time"}}[{window}]))')
        overdue = self.value(f'max(max_over_time(spiffe_x509_svid_renewal_overdue{{instance="{h}"}}[{window}]))')
        self.result(len(on_time) == 2 and bad == 0 and overdue == 0,
                    "healthy instance renews both SVIDs on time, never overdue, no late or missed generation",
                    f"on_time series >= 1: {len(on_time)}, late+missed: {bad}, max overdue: {overdue}")
        jwt = self.value(f'min(min_over_time(spiffe_jwt_svid_valid{{{wl}}}[{window}]))')
        renewed = self.query(f'increase(spiffe_jwt_svid_renewals_total{{{wl},outcome="on_time"}}[{window}]) >= 1')
        self.result(jwt == 1 and len(renewed) == 2, "healthy instance keeps valid JWT-SVIDs and renews them on time",
                    f"min valid: {jwt}, renewed series: {len(renewed)}")
        fired = self.query(f'count_over_time(ALERTS{{instance="{h}",alertstate="firing"}}[{window}])')
        self.result(not fired, "no alert ever fired in Prometheus for the healthy instance",
                    ", ".join(r["metric"].get("alertname", "?") for r in fired))
        received = sorted({a["labels"].get("alertname", "?") for a in self.webhook_alerts()
                           if a.get("labels", {}).get("instance") == h})
        self.result(not received, "no alert with the healthy instance label reached the webhook", ", ".join(received))

    def expectations_and_labels(self):
        """The healthy demo's expected identity is present, with the derived label on it and on its SVIDs."""
        h = self.inst["healthy"]
        sid = "spiffe://example.org/ns/demo/sa/frontend"
        present = self.value(f'spiffe_expected_identity_present{{instance="{h}",source="workload_api",spiffe_id="{sid}",namespace="demo"}}')
        labelled = self.query(f'spiffe_x509_svid_valid{{instance="{h}",source="workload_api",namespace="demo"}}')
        problems = self.query(f'spiffe_expected_identity_problem{{instance="{h}"}}')
        self.result(present == 1 and len(labelled) == 2 and not problems,
                    "healthy instance: expected identity present, namespace label on its SVID series",
                    f"present: {present}, labelled SVIDs: {len(labelled)}, problems: {problems}")

    def rules_healthy(self):
        groups = self.api("/api/v1/rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") != "ok"]
        want = self.c["rule_count"]
        self.result(not bad and len(rules) == want,
                    f"all {want} shipped rules loaded and evaluated without error", f"{len(rules)} rules; {bad}")

    # ---------------------------------------------------------------------------------- dashboards
    VAR = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\[\[(\w+)\]\]|\$(\w+)")

    def substitute(self, text, values):
        def repl(m):
            name = m.group(1) or m.group(2) or m.group(3)
            if name not in values:
                raise KeyError(name)
            return values[name]
        return self.VAR.sub(repl, text)

    def label_values(self, query, values):
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query, re.S)
        if not m:
            raise ValueError(f"unsupported variable query {query!r}")
        expr, label = self.substitute(m.group(1), values), m.group(2)
        return sorted({r["metric"].get(label, "") for r in self.query(f"count by ({label}) ({expr})")} - {""})

    def dashboards(self):
        """Every template variable query and every PromQL expression of both dashboards returns data.

        Rules (Grafana's own defaults, made concrete):
        - $__rate_interval = 1m, $__interval = 15s, $__range = time since the test started + 1m; constants
          take their value; $datasource never appears in an expression.
        - Variables with "All" take their allValue (.*), as Grafana selects "All" first; the workload
          dashboard's single $instance is the healthy instance, and its variable list must hold every
          instance.
        - Range panels are checked with an instant query at the current time.
        - FAULT_ONLY: workload-dashboard queries whose series exist only while something is broken are
          run with $instance set to the instance that has that fault. The overview's $instance is All,
          so its failure panels see the faulty instances without an exception.
        """
        fault_only = {
            ("spiffe-workload", "Problems"): "mismatch",
            ("spiffe-workload", "Problems over time"): "mismatch",
            ("spiffe-workload", "Connection failures by reason"): "agentdown",
            ("spiffe-workload", "annotation: Stream down"): "agentdown",
        }
        builtins = {"__rate_interval": "1m", "__interval": "15s",
                    "__range": f"{int(time.time() - self.c['started']) + 60}s"}
        end = self.until(self.c["dashboard_timeout"])
        for path in self.c["dashboards"]:
            d = json.load(open(path, encoding="utf-8"))
            uid = d["uid"]
            values = dict(builtins)
            for v in d["templating"]["list"]:
                name, kind = v["name"], v["type"]
                if kind == "datasource":
                    values[name] = "prometheus"
                elif kind in ("constant", "textbox", "custom"):
                    values[name] = str(v["query"])
                elif kind == "query":
                    q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
                    try:
                        options = self.label_values(q, values)
                    except Exception as e:  # noqa: BLE001 - reported as a failure
                        options, err = [], str(e)
                    else:
                        err = ""
                    ok = bool(options)
                    if name == "instance":
                        ok = ok and set(self.inst.values()) <= set(options)
                    if name == "source":
                        # Every kind of source must be selectable, not only Workload API ones.
                        sel = ('{__name__=~"spiffe_x509_svid_valid|spiffe_certificate_expiry_timestamp_seconds",'
                               f' instance=~"{values.get("instance", ".*")}"}}')
                        want = {r["metric"].get("source", "") for r in self.query(f"count by (source) ({sel})")}
                        missing = sorted(want - set(options))
                        ok = ok and not missing
                        err = err or (f"missing sources {missing}" if missing else "")
                    self.result(ok, f"{uid} variable ${name} query returns values ({len(options)}: "
                                    f"{', '.join(options[:4])}{', ...' if len(options) > 4 else ''})", err or q)
                    if v.get("includeAll") and v.get("allValue"):
                        values[name] = v["allValue"]
                    elif name == "instance":
                        values[name] = self.inst["healthy"]
                    else:
                        values[name] = options[0] if options else ""
            queries = []  # (label, instance role or None, [(refId, expr)])
            for a in d.get("annotations", {}).get("list", []):
                if a.get("expr"):
                    title = f"annotation: {a['name']}"
                    queries.append((title, fault_only.get((uid, title)), [("expr", a["expr"])]))

            def walk(panels):
                for p in panels:
                    exprs = [(t.get("refId", "?"), t["expr"]) for t in p.get("targets", []) if t.get("expr")]
                    if exprs:
                        queries.append((f"panel '{p['title']}'", fault_only.get((uid, p["title"])), exprs))
                    walk(p.get("panels", []))
            walk(d["panels"])
            for title, role, exprs in queries:
                vals = dict(values)
                if role:
                    vals["instance"] = self.inst[role]
                empty, errors = [], []
                pending = list(exprs)
                while True:
                    empty, errors = [], []
                    for ref, expr in pending:
                        try:
                            if not self.query(self.substitute(expr, vals)):
                                empty.append(ref)
                        except Exception as e:  # noqa: BLE001
                            errors.append(f"{ref}: {e}")
                    # Rates need a few samples; retry only what is still empty, until the phase deadline.
                    if errors or not empty or time.time() >= end:
                        break
                    pending = [(r, e) for r, e in exprs if r in empty]
                    time.sleep(2)
                where = f" (on the {role} instance: FAULT_ONLY)" if role else ""
                self.result(not empty and not errors,
                            f"{uid} {title}: {len(exprs)} quer{'y returns' if len(exprs) == 1 else 'ies return'} data{where}",
                            "; ".join(errors + [f"{r} empty" for r in empty]))

    def run(self):
        self.targets_up()
        self.probe_endpoint()
        self.expected_alerts()
        self.wait_for_recordings()
        self.success_rate_guard()
        self.dashboards()
        self.healthy_silent()
        self.expectations_and_labels()
        self.rules_healthy()
        print(f"CHECKS {self.passed} {self.failed}", flush=True)
        return 0 if self.failed == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("free-ports")
    p.add_argument("count", type=int)
    p = sub.add_parser("webhook")
    p.add_argument("--listen", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("check")
    p.add_argument("--config", required=True)
    args = parser.parse_args()
    if args.command == "free-ports":
        free_ports(args.count)
    elif args.command == "webhook":
        webhook(args.listen, args.out)
    else:
        with open(args.config, encoding="utf-8") as f:
            return Checker(json.load(f)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
