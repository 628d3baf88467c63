#!/usr/bin/env bash
# Load test of /metrics with 1,000 identities (docs/reliability.md), against any binary (e.g. a
# release build). CI runs the same checks as Tests/ReliabilityTests/{Wrk,Live}LoadTests.swift.
#   1. wrk: CONNECTIONS (50) connections for DURATION (60 s), each paced by a Lua delay of 240 ms
#      between requests (Debian's wrk has no --rate; 50 x ~4.1/s = just over 200 requests/s
#      offered); errors and p99.
#   2. IDLE (1,000) idle TCP connections held open: a scrape must still answer.
#   3. A slow client reading its scrape at 1 byte/s: another scrape must not wait for it.
#
#   scripts/load-test.sh                   full run
#   DURATION=5 CONNECTIONS=10 IDLE=100 scripts/load-test.sh    quick run
# Environment: SPIFFE_EXPORTER_BINARY (default .build/release, else .build/debug), IDENTITIES,
# MAX_REQUESTS (--web.max-requests, default 40), RATE_DELAY_MS (per-connection pause, default 240: 50 connections offer up to 208 requests/s, so latency cannot pull the offered rate below 200).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
DURATION="${DURATION:-60}"; CONNECTIONS="${CONNECTIONS:-50}"; IDLE="${IDLE:-1000}"
IDENTITIES="${IDENTITIES:-1000}"; MAX_REQUESTS="${MAX_REQUESTS:-40}"; RATE_DELAY_MS="${RATE_DELAY_MS:-240}"
binary="${SPIFFE_EXPORTER_BINARY:-}"
if [ -z "$binary" ]; then
    for candidate in "$root/.build/release/spiffe-exporter" "$root/.build/debug/spiffe-exporter"; do
        [ -x "$candidate" ] && { binary="$candidate"; break; }
    done
fi
[ -x "$binary" ] || { echo "no spiffe-exporter binary: swift build -c release" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

work="$(mktemp -d)"
exporter_pid=""
cleanup() { [ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

echo "--- generating $IDENTITIES certificate files"
python3 - "$work/certs" "$IDENTITIES" <<'PY'
import datetime, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
out, count = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
now = datetime.datetime.now(datetime.timezone.utc)
ca_key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "load-test CA")])
key = ec.generate_private_key(ec.SECP256R1())  # one leaf key for all: generation speed, not realism
for i in range(count):
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"w{i}")]))
            .issuer_name(name).public_key(key.public_key()).serial_number(i + 1)
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1 + i % 48))
            .add_extension(x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(f"spiffe://example.org/ns/load/sa/w{i:04d}")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    with open(os.path.join(out, f"w{i:04d}.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
PY

# 1,000 idle sockets plus files: lift the soft descriptor limit as far as the hard one allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "--- starting $binary (fd limit $(ulimit -n), --web.max-requests $MAX_REQUESTS)"
"$binary" --web.listen-address 127.0.0.1:0 --no-collector.workload-api --web.max-requests "$MAX_REQUESTS" \
    --collector.cert-files.glob "load=$work/certs/*.pem" 2> "$work/exporter.log" &
exporter_pid=$!
for _ in $(seq 1 300); do
    address="$(grep -oE 'msg=listening .*address=[0-9.]+:[0-9]+' "$work/exporter.log" | grep -oE '[0-9.]+:[0-9]+$' || true)"
    [ -n "$address" ] && break
    sleep 0.1
done
[ -n "$address" ] || { cat "$work/exporter.log"; exit 1; }
url="http://$address/metrics"
for _ in $(seq 1 300); do
    series="$(curl -s "$url" | grep -c '^spiffe_certificate_expiry_timestamp_seconds{' || true)"
    [ "$series" -ge "$IDENTITIES" ] && break
    sleep 0.2
done
bytes="$(curl -s "$url" | wc -c)"
echo "--- $series identities exported, /metrics is $bytes bytes"
single="$(curl -s -o /dev/null -w '%{time_total}' "$url")"
echo "--- one scrape alone: ${single}s"

echo "--- wrk: $CONNECTIONS connections, ${DURATION}s, ${RATE_DELAY_MS} ms pause per connection"
cat > "$work/pace.lua" <<LUA
function delay() return $RATE_DELAY_MS end
LUA
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency -s "$work/pace.lua" "$url" | tee "$work/wrk.txt"
if grep -qE "Non-2xx|Socket errors" "$work/wrk.txt"; then echo "!!! errors during the wrk run"; wrk_failed=1; else wrk_failed=0; fi

echo "--- $IDLE idle connections, then a scrape; then a slow reader and a concurrent scrape"
python3 - "$address" "$IDLE" <<'PY'
import socket, sys, time, urllib.request
host, port = sys.argv[1].rsplit(":", 1)
idle = []
for _ in range(int(sys.argv[2])):
    s = socket.create_connection((host, int(port)))
    idle.append(s)
time.sleep(1)
start = time.monotonic()
body = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10).read()
print(f"scrape with {len(idle)} idle connections open: {time.monotonic() - start:.3f}s, {len(body)} bytes")
for s in idle:
    s.close()

slow = socket.create_connection((host, int(port)))
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
slow.sendall(f"GET /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
first = slow.recv(1)
for _ in range(3):  # read 1 byte/s: the server's send buffer fills and the write stalls
    time.sleep(1)
    slow.recv(1)
start = time.monotonic()
body = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10).read()
print(f"scrape while a client reads 1 byte/s: {time.monotonic() - start:.3f}s, {len(body)} bytes")
slow.close()
PY
rss="$(awk '/VmRSS/ {print $2 " " $3}' /proc/$exporter_pid/status)"
echo "--- exporter RSS after the run: $rss; still running: $(kill -0 $exporter_pid && echo yes)"
exit "$wrk_failed"
