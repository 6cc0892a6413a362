#!/bin/bash
# Runs gen_dev_certs.sh into a temp dir and checks the result with the
# openssl command: every certificate chains to ca.pem for its purpose, each
# key matches its certificate, the SANs are the documented ones, keys are
# private, the token issuer's JWK set is its key's public half and the token
# settings trust it, and a second run overwrites cleanly. Runs from the
# runfiles root.
set -u

GEN="tools/gen_dev_certs.sh"
OUT="${TEST_TMPDIR}/certs"
LOG="${TEST_TMPDIR}/log"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

command -v openssl >/dev/null || { echo "FAIL: openssl is not installed" >&2; exit 1; }

# Usage errors.
"$GEN" >"$LOG" 2>&1 && fail "no OUT_DIR: exit 0"
grep -q "usage:" "$LOG" || fail "no OUT_DIR: no usage line"

"$GEN" "$OUT" >"$LOG" 2>&1 || { cat "$LOG" >&2; fail "gen_dev_certs.sh failed"; exit 1; }

# check_cert NAME PURPOSE SAN...: NAME.pem verifies against ca.pem for
# PURPOSE, NAME.key is its key, and its subjectAltName is exactly the SANs.
check_cert() {
  local name="$1" purpose="$2"; shift 2
  local cert="$OUT/$name.pem" key="$OUT/$name.key"
  [[ -f "$cert" && -f "$key" ]] || { fail "$name: missing files"; return; }
  openssl verify -CAfile "$OUT/ca.pem" -purpose "$purpose" "$cert" >/dev/null 2>&1 ||
    fail "$name.pem does not verify against ca.pem for $purpose"
  local want_pub got_pub
  want_pub="$(openssl x509 -in "$cert" -noout -pubkey)"
  got_pub="$(openssl pkey -in "$key" -pubout)"
  [[ "$want_pub" == "$got_pub" ]] || fail "$name.key does not match $name.pem"
  local san want
  san="$(openssl x509 -in "$cert" -noout -ext subjectAltName | sed -n '2s/^ *//p')"
  want="$(IFS=,; echo "$*" | sed 's/,/, /g')"
  [[ "$san" == "$want" ]] || fail "$name.pem SAN is '$san', want '$want'"
  [[ "$(stat -c %a "$key")" == "600" ]] || fail "$name.key mode is $(stat -c %a "$key"), want 600"
  grep -qF "$OUT/$name.pem" "$LOG" || fail "output does not mention $name.pem"
}

check_all() {
  [[ -f "$OUT/ca.pem" ]] || { fail "ca.pem missing"; return; }
  openssl x509 -in "$OUT/ca.pem" -noout -ext basicConstraints | grep -q "CA:TRUE" ||
    fail "ca.pem is not a CA"
  check_cert server sslserver "DNS:localhost" "IP Address:127.0.0.1" "IP Address:0:0:0:0:0:0:0:1"
  check_cert gateway sslclient "URI:spiffe://acme.example/gateway"
  check_cert ci sslclient "URI:spiffe://acme.example/ci"
  check_cert operator sslclient "URI:spiffe://acme.example/operator"
  check_cert mcp-server sslclient "URI:spiffe://acme.example/mcp-server"
  # Client certificates are not server certificates, and vice versa.
  openssl verify -CAfile "$OUT/ca.pem" -purpose sslserver "$OUT/gateway.pem" >/dev/null 2>&1 &&
    fail "gateway.pem verifies as a server certificate"
  openssl verify -CAfile "$OUT/ca.pem" -purpose sslclient "$OUT/server.pem" >/dev/null 2>&1 &&
    fail "server.pem verifies as a client certificate"
  # No CA key is left behind.
  [[ ! -e "$OUT/ca.key" ]] || fail "ca.key was written"
}

check_all
first_ca="$(cat "$OUT/ca.pem")"

# Idempotent: a second run replaces everything with a consistent new set.
"$GEN" "$OUT" >"$LOG" 2>&1 || { cat "$LOG" >&2; fail "second run failed"; }
check_all
[[ "$(cat "$OUT/ca.pem")" != "$first_ca" ]] || fail "second run kept the old CA"
[[ "$(ls "$OUT" | wc -l)" == "16" ]] || fail "expected 16 files, got: $(ls "$OUT")"
openssl pkey -in "$OUT/bundle-signing.key" -noout -text 2>/dev/null | grep -q "ED25519" ||
  fail "bundle-signing.key is not an Ed25519 key"
[[ "$(openssl pkey -in "$OUT/bundle-signing.key" -pubout)" == "$(cat "$OUT/bundle-signing.pub")" ]] ||
  fail "bundle-signing.pub is not the public half of bundle-signing.key"
[[ "$(stat -c %a "$OUT/bundle-signing.key")" == "600" ]] || fail "bundle-signing.key is not 0600"

# The development token issuer: an Ed25519 key, its JWK set (x is the raw
# public key, base64url), and token settings naming both.
openssl pkey -in "$OUT/token-issuer.key" -noout -text 2>/dev/null | grep -q "ED25519" ||
  fail "token-issuer.key is not an Ed25519 key"
[[ "$(stat -c %a "$OUT/token-issuer.key")" == "600" ]] || fail "token-issuer.key is not 0600"
x="$(openssl pkey -in "$OUT/token-issuer.key" -pubout -outform DER | tail -c 32 |
  openssl base64 -A | tr '+/' '-_' | tr -d '=')"
want_jwks="{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"dev-1\",\"alg\":\"EdDSA\",\"use\":\"sig\",\"x\":\"$x\"}]}"
[[ ${#x} -eq 43 && "$(cat "$OUT/token-issuer-jwks.json")" == "$want_jwks" ]] ||
  fail "token-issuer-jwks.json is $(cat "$OUT/token-issuer-jwks.json"), want $want_jwks"
grep -qx "  - issuer: https://login.acme.example" "$OUT/tokens.yaml" ||
  fail "tokens.yaml does not trust https://login.acme.example"
grep -qx "    jwks_file: token-issuer-jwks.json" "$OUT/tokens.yaml" ||
  fail "tokens.yaml does not name token-issuer-jwks.json"
grep -qF "$OUT/tokens.yaml" "$LOG" || fail "output does not mention tokens.yaml"

if [[ "$failures" -ne 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
