#!/usr/bin/env python3
"""Python baselines for scripts/bench.sh (docs/performance.md), run on the same inputs as
spiffe-exporter-bench.

  bench_baseline.py load DIR              read + parse + URI SAN + notAfter of DIR/svid-*.pem
                                          (the `cryptography` package; no chain verification),
                                          then again adding the signature check against
                                          DIR/bundle.pem (verify_directly_issued_by), for an
                                          equal-work comparison
  bench_baseline.py render FILE [RUNS]    time prometheus_client's generate_latest() for the series
                                          of FILE (a /metrics body written by the Swift benchmark)

Prints one JSON object on stdout.
"""
import glob
import importlib.metadata
import json
import os
import sys
import time


def bench_load(directory):
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID

    paths = sorted(glob.glob(os.path.join(directory, "svid-*.pem")))
    if not paths:
        sys.exit(f"no svid-*.pem files in {directory}")
    with open(os.path.join(directory, "bundle.pem"), "rb") as f:
        ca = x509.load_pem_x509_certificates(f.read())[0]

    def one_pass(verify):
        start = time.perf_counter()
        ok = 0
        for path in paths:
            with open(path, "rb") as f:
                data = f.read()
            cert = x509.load_pem_x509_certificate(data)
            san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
            uris = san.get_values_for_type(x509.UniformResourceIdentifier)
            not_after = cert.not_valid_after_utc
            if verify:
                # What the exporter also does: the leaf's signature checked against the CA
                # (raises if the signature or issuer does not match).
                cert.verify_directly_issued_by(ca)
            if len(uris) == 1 and uris[0].startswith("spiffe://") and not_after is not None:
                ok += 1
        if ok != len(paths):
            sys.exit(f"only {ok} of {len(paths)} certificates had one spiffe:// URI SAN")
        return time.perf_counter() - start

    # One untimed read of every file (as the Swift benchmark does), then the median of 3 passes.
    for path in paths:
        with open(path, "rb") as f:
            f.read()
    elapsed = sorted(one_pass(False) for _ in range(3))[1]
    verify_elapsed = sorted(one_pass(True) for _ in range(3))[1]
    import cryptography
    return {
        "py_load_files": len(paths),
        "py_load_total_s": elapsed,
        "py_load_us_per_cert": elapsed / len(paths) * 1e6,
        "py_load_verify_us_per_cert": verify_elapsed / len(paths) * 1e6,
        "py_cryptography_version": cryptography.__version__,
    }


def bench_render(path, runs):
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    with open(path) as f:
        families = list(text_string_to_metric_families(f.read()))

    class Replay:
        def collect(self):
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Replay())
    body = generate_latest(registry)  # warm-up
    latencies = []
    for _ in range(runs):
        start = time.perf_counter()
        body = generate_latest(registry)
        latencies.append(time.perf_counter() - start)
    latencies.sort()

    def pct(p):
        rank = max(0, min(len(latencies) - 1, -(-len(latencies) * p // 100) - 1))
        return latencies[int(rank)] * 1000

    series = sum(len(f.samples) for f in families)
    return {
        "py_render_series": series,
        "py_render_bytes": len(body),
        "py_render_runs": runs,
        "py_render_p50_ms": pct(50),
        "py_render_p99_ms": pct(99),
        "py_prometheus_client_version": importlib.metadata.version("prometheus_client"),
    }


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "load":
        result = bench_load(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "render":
        result = bench_render(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 50)
    else:
        sys.exit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
