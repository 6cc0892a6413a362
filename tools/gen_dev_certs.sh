#!/usr/bin/env bash
# Generates example certificates for running the PDP server locally over mTLS.
#
#   tools/gen_dev_certs.sh OUT_DIR
#
# Writes, into OUT_DIR (created if missing; existing files are overwritten):
#   ca.pem                        a fresh development CA (its key is discarded)
#   server.pem, server.key        the server: DNS:localhost, IP:127.0.0.1, IP:::1
#   gateway.pem, gateway.key      URI:spiffe://acme.example/gateway    (check, filter)
#   ci.pem, ci.key                URI:spiffe://acme.example/ci         (admin)
#   operator.pem, operator.key    URI:spiffe://acme.example/operator   (explain)
#   mcp-server.pem, mcp-server.key URI:spiffe://acme.example/mcp-server (check)
#   bundle-signing.key, .pub      an Ed25519 key for signing policy bundles
#                                 (pdpctl bundle --key); the config trusts .pub
#   token-issuer.key              the Ed25519 key of a development token issuer,
#                                 https://login.acme.example: mint tokens with
#                                 tools/mint_dev_token.py --key
#   token-issuer-jwks.json        its public JWK set (key id dev-1)
#   tokens.yaml                   token settings trusting that issuer (the
#                                 example server config's tokens.settings)
# The permissions in parentheses are what the example server config grants
# each identity. Certificate keys are EC P-256. Private keys are unencrypted,
# mode 0600. For development only.
# Needs the `openssl` command (tools/setup.sh installs it).
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out="$1"
command -v openssl >/dev/null || { echo "$0: the openssl command is missing (run tools/setup.sh)" >&2; exit 1; }

mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
umask 077

days=825
ca_days=3650

# new_key FILE: an EC P-256 private key (PKCS#8 PEM).
new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# A random positive serial of at most 16 octets.
serial() {
  echo "0x$(openssl rand -hex 16 | sed 's/^./7/')"
}

new_key "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -sha256 -days "$ca_days" \
  -subj "/O=PDP development/CN=PDP development CA" \
  -set_serial "$(serial)" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" \
  -out "$work/ca.pem"

# issue NAME CN EKU SAN: NAME.key and NAME.pem signed by the CA.
issue() {
  local name="$1" cn="$2" eku="$3" san="$4"
  new_key "$work/$name.key"
  openssl req -new -key "$work/$name.key" -subj "/O=PDP development/CN=$cn" \
    -out "$work/$name.csr"
  cat >"$work/$name.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = $eku
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = $san
EOF
  openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -set_serial "$(serial)" -sha256 -days "$days" -extfile "$work/$name.ext" \
    -out "$work/$name.pem" 2>/dev/null
}

issue server localhost serverAuth "DNS:localhost, IP:127.0.0.1, IP:::1"
issue gateway gateway clientAuth "URI:spiffe://acme.example/gateway"
issue ci ci clientAuth "URI:spiffe://acme.example/ci"
issue operator operator clientAuth "URI:spiffe://acme.example/operator"
issue mcp-server mcp-server clientAuth "URI:spiffe://acme.example/mcp-server"

# Certificates are public (0644); keys stay 0600.
install -m 0644 "$work/ca.pem" "$out/ca.pem"
echo "wrote $out/ca.pem (CA: PDP development CA)"
for name in server gateway ci operator mcp-server; do
  install -m 0644 "$work/$name.pem" "$out/$name.pem"
  install -m 0600 "$work/$name.key" "$out/$name.key"
  san="$(openssl x509 -in "$out/$name.pem" -noout -ext subjectAltName | sed -n '2s/^ *//p')"
  echo "wrote $out/$name.pem, $out/$name.key ($san)"
done

# An Ed25519 key for signing policy bundles (pdpctl bundle --key); the
# example server config trusts its public half.
openssl genpkey -algorithm ed25519 -out "$work/bundle-signing.key" 2>/dev/null
openssl pkey -in "$work/bundle-signing.key" -pubout -out "$work/bundle-signing.pub" 2>/dev/null
install -m 0600 "$work/bundle-signing.key" "$out/bundle-signing.key"
install -m 0644 "$work/bundle-signing.pub" "$out/bundle-signing.pub"
echo "wrote $out/bundle-signing.key, $out/bundle-signing.pub (Ed25519, for signing bundles)"

# A development token issuer: an Ed25519 key, its public JWK set (the raw
# public key is the last 32 bytes of the DER SubjectPublicKeyInfo), and token
# settings that trust it (docs/operations.md, "Tokens").
token_issuer="https://login.acme.example"
openssl genpkey -algorithm ed25519 -out "$work/token-issuer.key" 2>/dev/null
x="$(openssl pkey -in "$work/token-issuer.key" -pubout -outform DER 2>/dev/null |
  tail -c 32 | openssl base64 -A | tr '+/' '-_' | tr -d '=')"
[[ ${#x} -eq 43 ]] || { echo "$0: could not extract the token issuer's public key" >&2; exit 1; }
cat >"$work/token-issuer-jwks.json" <<EOF
{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"dev-1","alg":"EdDSA","use":"sig","x":"$x"}]}
EOF
cat >"$work/tokens.yaml" <<EOF
# Development token settings (tools/gen_dev_certs.sh): trust the issuer whose
# key is token-issuer.key. Format: docs/operations.md, "Tokens".
clock_skew_seconds: 60
max_lifetime_seconds:
  untrusted: 300
  standard: 3600
  trusted: 3600
  internal: 3600
  agent: 3600
  service: 3600
issuers:
  - issuer: $token_issuer
    jwks_file: token-issuer-jwks.json
EOF
install -m 0600 "$work/token-issuer.key" "$out/token-issuer.key"
install -m 0644 "$work/token-issuer-jwks.json" "$out/token-issuer-jwks.json"
install -m 0644 "$work/tokens.yaml" "$out/tokens.yaml"
echo "wrote $out/token-issuer.key, $out/token-issuer-jwks.json (Ed25519, kid dev-1, for minting tokens)"
echo "wrote $out/tokens.yaml (token settings trusting issuer $token_issuer)"
