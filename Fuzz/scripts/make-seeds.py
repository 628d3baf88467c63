#!/usr/bin/env python3
"""Writes the seed corpus under Fuzz/corpus/<target>/ (run once; the output is committed).

Certificates are valid 2020-2120 so nothing checked in expires; keys are throwaway EC keys made
here, used for nothing else.
"""
import base64, datetime, json, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import NameOID

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")

def write(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

start = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
end = datetime.datetime(2120, 1, 1, tzinfo=datetime.timezone.utc)
ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SPIFFE")]))
      .issuer_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SPIFFE")]))
      .public_key(ca_key.public_key()).serial_number(1).not_valid_before(start).not_valid_after(end)
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
      .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier("spiffe://example.org")]), critical=False)
      .sign(ca_key, hashes.SHA256()))
leaf_key = ec.generate_private_key(ec.SECP256R1())
leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SPIRE")]))
        .issuer_name(ca.subject).public_key(leaf_key.public_key()).serial_number(2)
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, True, False, True, False, False, False, False), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier("spiffe://example.org/fuzz")]), critical=False)
        .sign(ca_key, hashes.SHA256()))
der = lambda c: c.public_bytes(serialization.Encoding.DER)
pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
key_der = leaf_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
key_pem = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

# PEM: cert + chain + key, CRLF, bag attributes, truncated, mismatched.
write("pem", "chain-and-key.pem", pem(leaf) + pem(ca) + key_pem)
write("pem", "crlf.pem", (pem(leaf) + key_pem).replace(b"\n", b"\r\n"))
write("pem", "bag-attributes.pem", b"Bag Attributes\n    localKeyID: 01\nsubject=/O=SPIRE\n" + pem(leaf))
write("pem", "truncated.pem", pem(leaf)[:200])
write("pem", "mismatched.pem", pem(leaf).replace(b"END CERTIFICATE", b"END PRIVATE KEY"))
write("pem", "empty-block.pem", b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")

# DER: the Workload API chain (leaf, CA), a bare leaf, the key, truncated and garbage.
write("der", "leaf-ca.der", der(leaf) + der(ca))
write("der", "ca-leaf.der", der(ca) + der(leaf))
write("der", "leaf.der", der(leaf))
write("der", "key.der", key_der)
write("der", "truncated.der", (der(leaf) + der(ca))[:-7])
write("der", "long-form-length.der", bytes([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]))

# The SPIRE agent's data file: agent-data.json (base64 strings of one PEM block each) and the
# pre-1.9 DER chain.
def agent_data(svid, bundle, reattestable=True):
    b64 = lambda b: base64.b64encode(b).decode()
    return json.dumps({"svid": [b64(x) for x in svid], "bundle": [b64(x) for x in bundle],
                       "reattestable": reattestable, "connection_attempts": 0})
write("agent-data", "agent-data.json", agent_data([pem(leaf), pem(ca)], [pem(ca)]))
write("agent-data", "not-reattestable.json", agent_data([pem(leaf)], [], reattestable=False))
write("agent-data", "bare-der-elements.json", agent_data([der(leaf)], [der(ca)]))
write("agent-data", "empty-svid.json", agent_data([], [pem(ca)]))
write("agent-data", "key-block.json", agent_data([key_pem], []))
write("agent-data", "agent_svid.der", der(leaf) + der(ca))
write("agent-data", "truncated.json", agent_data([pem(leaf)], [pem(ca)])[:120])

# SPIFFE IDs: the SPIFFE-ID.md rules, valid and broken.
for i, text in enumerate([
    "spiffe://example.org/ns/default/sa/web", "spiffe://example.org", "spiffe://example.org/",
    "spiffe://Example.org/a", "spiffe://example.org/a/../b", "spiffe://example.org//a", "spiffe://example.org:8080/a",
    "spiffe://user@example.org/a", "spiffe://example.org/a?q=1", "spiffe://example.org/a#f", "SPIFFE://example.org/a",
    "spiffe://example.org/%41", "spiffe://xn--bcher-kva.example/a", "spiffe:///a", "http://example.org/a",
    "spiffe://" + "a" * 256 + "/x", "spiffe://example.org/" + "p" * 2100,
]):
    write("spiffe-id", "id-%02d.txt" % i, text)

# JWT and JWKS: a real ES256 JWT-SVID and its JWKS, plus broken variants.
jwt_key = ec.generate_private_key(ec.SECP256R1())
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def jwt(header, claims, key=jwt_key):
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    r, s = utils.decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
claims = {"sub": "spiffe://example.org/fuzz", "aud": ["fuzz"], "exp": 4102444800, "iat": 1577836800}
write("jwt", "valid.jwt", jwt({"alg": "ES256", "typ": "JWT", "kid": "k1"}, claims))
write("jwt", "alg-none.jwt", b64(b'{"alg":"none"}') + "." + b64(json.dumps(claims).encode()) + ".")
write("jwt", "hs256.jwt", jwt({"alg": "HS256", "kid": "k1"}, claims))
write("jwt", "aud-string.jwt", jwt({"alg": "ES256", "kid": "k1"}, dict(claims, aud="fuzz")))
write("jwt", "no-sub.jwt", jwt({"alg": "ES256", "kid": "k1"}, {"aud": "fuzz", "exp": 1}))
write("jwt", "two-parts.jwt", "eyJhbGciOiJFUzI1NiJ9.e30")
numbers = jwt_key.public_key().public_numbers()
jwk = {"kty": "EC", "crv": "P-256", "kid": "k1", "use": "jwt-svid",
       "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}
write("jwks", "ec.json", json.dumps({"keys": [jwk]}))
write("jwks", "rsa-unknown-kty.json", json.dumps({"keys": [{"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"}, {"kty": "OKP", "kid": "o"}]}))
write("jwks", "no-keys.json", '{"spiffe_sequence": 1}')
write("jwks", "not-json.json", "[1, 2")
write("jwks", "bad-point.json", json.dumps({"keys": [dict(jwk, x="AAAA")]}))
# The JWT target reads "token\nJWKS": a token followed by its key set verifies.
write("jwt", "token-and-jwks.txt", jwt({"alg": "ES256", "kid": "k1"}, claims) + "\n" + json.dumps({"keys": [jwk]}))

# Federation bundle endpoint bodies (SPIFFE bundles of example.org): the CA as x5c and the JWT key,
# every key revoked, and what must be rejected.
x5c = base64.b64encode(der(ca)).decode()
write("federation-bundle", "bundle.json", json.dumps(
    {"keys": [{"kty": "EC", "use": "x509-svid", "x5c": [x5c]}, jwk], "spiffe_sequence": 3, "spiffe_refresh_hint": 300}))
write("federation-bundle", "revoked-all.json", json.dumps({"keys": [], "spiffe_sequence": 4}))
write("federation-bundle", "garbage-x5c.json", json.dumps(
    {"keys": [{"kty": "EC", "use": "x509-svid", "x5c": [base64.b64encode(b"not a certificate").decode()]}]}))
write("federation-bundle", "not-base64-x5c.json", json.dumps({"keys": [{"kty": "EC", "use": "x509-svid", "x5c": ["%%%"]}]}))
write("federation-bundle", "negative-sequence.json", json.dumps({"keys": [], "spiffe_sequence": -1}))
write("federation-bundle", "jwt-without-kid.json", json.dumps({"keys": [{k: v for k, v in jwk.items() if k != "kid"}]}))
write("federation-bundle", "unknown-use.json", json.dumps(
    {"keys": [{"kty": "EC", "use": "enc", "x5c": ["%%%"]}], "spiffe_refresh_hint": 0}))
write("federation-bundle", "truncated.json", json.dumps({"keys": [{"kty": "EC", "use": "x509-svid", "x5c": [x5c]}]})[:90])

# Config: the documented examples and every kind of mistake.
write("config", "full.yaml", """web:
  listen_address: ":9841"
  telemetry_path: /metrics
log: {level: debug, format: json}
renewal: {deadline_fraction: 0.75, identity_grace_period: 10m}
workload_api:
  - name: agent
    address: unix:///run/spire/agent.sock
    timeout: 10s
    jwt_audiences: [[vault], [a, b]]
cert_files:
  - name: helper
    glob: /var/run/spiffe/*.pem
""")
write("config", "empty.yaml", "")
write("config", "unknown-key.yaml", "webb: {}\n")
write("config", "bad-types.yaml", "renewal: {deadline_fraction: two}\nlog: [1]\n")
write("config", "anchors.yaml", "a: &a [*a]\nweb: *a\n")
write("config", "tabs.yaml", "web:\n\tlisten_address: x\n")
write("config", "deep.yaml", "[" * 200 + "]" * 200)
