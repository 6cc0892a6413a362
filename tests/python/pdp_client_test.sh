#!/bin/bash
# End to end, from another language: starts the real pdp-server over mTLS with
# certificates made by tools/gen_dev_certs.sh, and calls it with
# tools/pdp_client.py (Python, Debian's python3-grpcio and python3-protobuf):
# services listed through reflection, health, Check (ALLOW with redaction,
# DENY with its reason), FilterTools, and PERMISSION_DENIED for a caller
# without `filter`. Then does the README's walk-through with
# examples/server/config.yaml, including verified chains: access tokens
# minted with tools/mint_dev_token.py and the issuer key gen_dev_certs.sh
# makes, checked by the server and by `pdpctl token inspect`. Runs from the
# runfiles root.
set -u

ROOT="$PWD"
SERVER="pdp/server/server"
GEN="tools/gen_dev_certs.sh"
CLIENT="$PWD/tools/pdp_client.py"
MINT="$PWD/tools/mint_dev_token.py"
PDPCTL="$PWD/tools/pdpctl/pdpctl"
POLICY="$PWD/examples/policies/acme"
EXAMPLES="$PWD/examples"
TMP="${TEST_TMPDIR:?}"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

die() {
  echo "FAIL: $*" >&2
  exit 1
}

# The client needs the system's Python with Debian's grpcio and protobuf.
# Missing packages are a broken machine, not a reason to skip.
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY="$(command -v python3)" || die "python3 is not installed (run tools/setup.sh)"
"$PY" -c 'import grpc, google.protobuf' 2>"$TMP/import.log" ||
  die "$PY cannot import grpc and google.protobuf: install python3-grpcio and python3-protobuf (tools/setup.sh does): $(cat "$TMP/import.log")"
command -v openssl >/dev/null || die "openssl is not installed (run tools/setup.sh)"

# --- The server ---------------------------------------------------------------

SERVER_PID=""
SUPERVISOR_PID=""
PORT=""

# start_server DIR ARGS...: starts the server in DIR on a free port and waits,
# without polling, until it serves: the server writes its port into a FIFO,
# and a supervisor subshell writes "exit N" into the same FIFO if it ends first.
start_server() {
  local dir="$1"; shift
  local events="$TMP/events.$RANDOM"
  mkfifo "$events" || die "mkfifo"
  exec 3<>"$events"  # Read-write: neither side's open() blocks.
  (
    cd "$dir" || { echo "exit cd" >&3; exit 1; }
    "$ROOT/$SERVER" "$@" --listen 127.0.0.1:0 --lame-duck-seconds 0 --port-file "$events" \
      >"$TMP/server.out" 2>"$TMP/server.log" 3>&- &
    echo "pid $!" >&3
    wait $!
    echo "exit $?" >&3
  ) &
  SUPERVISOR_PID=$!
  local word line
  read -r -t 60 -u 3 word SERVER_PID || die "the server did not start"
  read -r -t 60 -u 3 line || { cat "$TMP/server.log" >&2; die "the server wrote no port in 60 s"; }
  if [[ "$line" == exit* ]]; then
    cat "$TMP/server.log" >&2
    die "the server stopped at start ($line)"
  fi
  PORT="$line"
  [[ "$PORT" =~ ^[0-9]+$ && "$PORT" -gt 0 ]] || die "bad port \"$PORT\""
}

# stop_server: SIGTERM, then the server must drain and exit 0.
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  local line
  if read -r -t 30 -u 3 line; then
    [[ "$line" == "exit 0" ]] || fail "the server ended with \"$line\" on SIGTERM, want exit 0"
  else
    fail "the server did not exit within 30 s of SIGTERM"
    kill -KILL "$SERVER_PID" 2>/dev/null
  fi
  wait "$SUPERVISOR_PID" 2>/dev/null
  exec 3<&-
  SERVER_PID=""
}
trap 'if [[ -n "$SERVER_PID" ]]; then kill -KILL "$SERVER_PID" 2>/dev/null; fi' EXIT

# --- Helpers ------------------------------------------------------------------

CERTS="$TMP/certs"
"$GEN" "$CERTS" >"$TMP/gen.log" 2>&1 || { cat "$TMP/gen.log" >&2; die "gen_dev_certs.sh failed"; }

# client NAME OUT ARGS...: runs pdp_client.py as caller NAME (a certificate
# from gen_dev_certs.sh); stdout to OUT, stderr to OUT.err; returns its status.
client() {
  local name="$1" out="$2"; shift 2
  "$PY" "$CLIENT" --target "127.0.0.1:$PORT" --ca "$CERTS/ca.pem" \
    --cert "$CERTS/$name.pem" --key "$CERTS/$name.key" "$@" >"$out" 2>"$out.err"
}

# expect FILE PYTHON_EXPR DESCRIPTION: the expression over `d`, FILE's JSON,
# must be true.
expect() {
  local file="$1" expr="$2" what="$3"
  "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
' "$file" "$expr" 2>>"$TMP/expect.log" ||
    fail "$what: want $expr, got: $(cat "$file")"
}

# mint NAME AUDIENCE ARGS...: a development access token from the issuer
# gen_dev_certs.sh made in $CERTS, into $TMP/NAME.jwt: Alice through
# acme-copilot with a second factor, for AUDIENCE; ARGS add to or override
# (the last one wins) these claims.
mint() {
  local name="$1" audience="$2"; shift 2
  "$PY" "$MINT" --key "$CERTS/token-issuer.key" --kid dev-1 \
    --issuer https://login.acme.example --sub alice@acme.example \
    --client acme-copilot --scope hr:salary:read --amr otp \
    --aud "$audience" "$@" >"$TMP/$name.jwt" 2>"$TMP/$name.err" ||
    die "mint_dev_token.py $name: $(cat "$TMP/$name.err")"
}

# expect_token_deny FILE CODE DESCRIPTION: FILE is a DENY whose only reason
# is CODE on the client link.
expect_token_deny() {
  local file="$1" code="$2" what="$3"
  expect "$file" 'd["decision"]["effect"] == "EFFECT_DENY"' "$what: effect"
  expect "$file" '[(r["link"], r["code"]) for r in d["decision"]["reasons"]] ==
    [("LINK_CLIENT", "'"$code"'")]' "$what: reasons"
}

# Alice through Claude Desktop with the Sales Assistant.
CHAIN=(--user alice@acme.example --client claude-desktop --agent sales-assistant
       --scopes deals:read,reports:read)

# --- With a config written here ----------------------------------------------

cat >"$TMP/config.yaml" <<EOF
tls:
  cert: $CERTS/server.pem
  key: $CERTS/server.key
  client_ca: $CERTS/ca.pem
policy: $POLICY
callers:
  - identity: spiffe://acme.example/gateway
    permissions: [check, filter]
  - identity: spiffe://acme.example/mcp-server
    permissions: [check]
decision_log:
  path: $TMP/decisions.jsonl
EOF
start_server "$TMP" --config "$TMP/config.yaml"

# Services through server reflection.
if client gateway "$TMP/list" list; then
  for service in pdp.v1.Authorizer grpc.health.v1.Health grpc.reflection.v1alpha.ServerReflection; do
    grep -qxF "$service" "$TMP/list" || fail "list: $service missing from: $(cat "$TMP/list")"
  done
else
  fail "list failed: $(cat "$TMP/list.err")"
fi

# Health.
client gateway "$TMP/health" health || fail "health: exit $?: $(cat "$TMP/health.err")"
expect "$TMP/health" 'd == {"status": "SERVING"}' "health"

# Check, from flags: ALLOW, and the salary column is redacted (the agent may
# not receive salary data although Alice may).
if client gateway "$TMP/allow" check "${CHAIN[@]}" --tool crm.sales_team_report; then
  expect "$TMP/allow" 'd["decision"]["effect"] == "EFFECT_ALLOW"' "check allow: effect"
  expect "$TMP/allow" 'd["decision"]["redact"] == ["salary"]' "check allow: redact"
  expect "$TMP/allow" '"reasons" not in d["decision"]' "check allow: no reasons"
  expect "$TMP/allow" 'd["decision"]["policy_version"] != ""' "check allow: policy version"
else
  fail "check allow: exit $?: $(cat "$TMP/allow.err")"
fi

# Check, from JSON: DENY, the agent lacks the tool.
deny_request='{"chain": {"user_id": "alice@acme.example", "client_id": "claude-desktop",
  "agent_id": "sales-assistant", "scopes": ["deals:read", "reports:read"]},
  "tool_id": "hr.get_salary", "action": "ACTION_CALL"}'
if client gateway "$TMP/deny" check --request "$deny_request"; then
  expect "$TMP/deny" 'd["decision"]["effect"] == "EFFECT_DENY"' "check deny: effect"
  expect "$TMP/deny" '{"link": "LINK_AGENT", "code": "AGENT_NOT_PERMITTED"} in
    [{k: r[k] for k in ("link", "code")} for r in d["decision"]["reasons"]]' \
    "check deny: reasons"
else
  fail "check deny: exit $?: $(cat "$TMP/deny.err")"
fi

# FilterTools over the crm server: the reporting tools, with redaction, and
# not the contact tools (no contacts:read scope).
if client gateway "$TMP/filter" filter "${CHAIN[@]}" --server crm; then
  expect "$TMP/filter" '[t["tool_id"] for t in d["tools"]] ==
    sorted(t["tool_id"] for t in d["tools"])' "filter: tool id order"
  expect "$TMP/filter" 'all(t["tool_id"].startswith("crm.") for t in d["tools"])' \
    "filter: only crm tools"
  expect "$TMP/filter" '{"tool_id": "crm.sales_team_report", "redact": ["salary"]} in d["tools"]' \
    "filter: crm.sales_team_report visible with salary redacted"
  expect "$TMP/filter" '"crm.get_contact" not in [t["tool_id"] for t in d["tools"]]' \
    "filter: crm.get_contact hidden"
else
  fail "filter: exit $?: $(cat "$TMP/filter.err")"
fi

# The mcp-server may check but not filter.
client mcp-server "$TMP/mcp-check" check "${CHAIN[@]}" --tool crm.sales_team_report ||
  fail "mcp-server check: exit $?: $(cat "$TMP/mcp-check.err")"
if client mcp-server "$TMP/mcp-filter" filter "${CHAIN[@]}" --server crm; then
  fail "mcp-server filter succeeded: $(cat "$TMP/mcp-filter")"
else
  grep -q 'PERMISSION_DENIED: .*"filter" permission' "$TMP/mcp-filter.err" ||
    fail "mcp-server filter: want PERMISSION_DENIED naming \"filter\", got: $(cat "$TMP/mcp-filter.err")"
  [[ ! -s "$TMP/mcp-filter" ]] || fail "mcp-server filter printed a response"
fi

# This server has no token settings: every token is refused, as a decision.
mint untrusted https://hr.mcp.acme.example
if client gateway "$TMP/untrusted" check --access-token "$TMP/untrusted.jwt" --tool hr.get_salary; then
  expect_token_deny "$TMP/untrusted" ISSUER_UNTRUSTED "token without token settings"
else
  fail "token without token settings: exit $?: $(cat "$TMP/untrusted.err")"
fi

# A client error is a non-zero exit with the status code.
client gateway "$TMP/bad" check --user alice@acme.example --tool crm.list_deals &&
  fail "a chain with no client succeeded"
grep -q "INVALID_ARGUMENT" "$TMP/bad.err" || fail "malformed chain: got $(cat "$TMP/bad.err")"

stop_server

# The decisions made above reached the log (written when the server drains).
allow_id="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["decision"]["decision_id"])' "$TMP/allow" 2>/dev/null)"
[[ -n "$allow_id" ]] && grep -qF "\"decision_id\":\"$allow_id\"" "$TMP/decisions.jsonl" ||
  fail "decision $allow_id is not in the decision log"

# --- The README's walk-through: examples/server/config.yaml -------------------
# From a directory holding certs/ (made by gen_dev_certs.sh) and examples/.

WORK="$TMP/work"
mkdir -p "$WORK"
ln -s "$EXAMPLES" "$WORK/examples"
"$GEN" "$WORK/certs" >"$TMP/gen.log" 2>&1 || die "gen_dev_certs.sh into certs/ failed"
CERTS="$WORK/certs"
start_server "$WORK" --config examples/server/config.yaml
client gateway "$TMP/ex-health" health || fail "example config: health: $(cat "$TMP/ex-health.err")"
if client gateway "$TMP/ex-allow" check "${CHAIN[@]}" --tool crm.sales_team_report; then
  expect "$TMP/ex-allow" 'd["decision"]["effect"] == "EFFECT_ALLOW" and d["decision"]["redact"] == ["salary"]' \
    "example config: check"
else
  fail "example config: check: $(cat "$TMP/ex-allow.err")"
fi
client ci "$TMP/ex-ci" check "${CHAIN[@]}" --tool crm.sales_team_report &&
  fail "example config: ci may check"
grep -q "PERMISSION_DENIED" "$TMP/ex-ci.err" || fail "example config: ci check: $(cat "$TMP/ex-ci.err")"

# Verified chains (the README's "Verified tokens"): the example config trusts
# the development issuer through certs/tokens.yaml. Alice's token through
# acme-copilot, for the hr server, after a second factor: ALLOW.
HR=https://hr.mcp.acme.example
mint good "$HR"
if client gateway "$TMP/tok-good" check --access-token "$TMP/good.jwt" --tool hr.get_salary; then
  expect "$TMP/tok-good" 'd["decision"]["effect"] == "EFFECT_ALLOW"' "token: good token"
  expect "$TMP/tok-good" '"reasons" not in d["decision"]' "token: good token: no reasons"
else
  fail "token: good token: exit $?: $(cat "$TMP/tok-good.err")"
fi
# The same chain asserted by the caller decides the same (amr otp is mfa).
client gateway "$TMP/tok-asserted" check --user alice@acme.example --client acme-copilot \
  --scopes hr:salary:read --amr otp --tool hr.get_salary ||
  fail "token: asserted chain: $(cat "$TMP/tok-asserted.err")"
expect "$TMP/tok-asserted" 'd["decision"]["effect"] == "EFFECT_ALLOW"' "token: asserted twin"

# Expired 10 minutes ago (well beyond the 60 s clock skew).
mint expired "$HR" --iat -1200 --lifetime 600
client gateway "$TMP/tok-expired" check --access-token "$TMP/expired.jwt" --tool hr.get_salary ||
  fail "token: expired: exit $?: $(cat "$TMP/tok-expired.err")"
expect_token_deny "$TMP/tok-expired" TOKEN_EXPIRED "token: expired"

# Tampered: a scope added to the claims, the signature kept.
"$PY" -c '
import base64, json, sys
header, claims, signature = open(sys.argv[1]).read().strip().split(".")
c = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
c["scope"] += " hr:salary:write"
claims = base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode()
print(header + "." + claims + "." + signature)
' "$TMP/good.jwt" >"$TMP/tampered.jwt" || die "could not tamper with the token"
client gateway "$TMP/tok-tampered" check --access-token "$TMP/tampered.jwt" --tool hr.get_salary ||
  fail "token: tampered: exit $?: $(cat "$TMP/tok-tampered.err")"
expect_token_deny "$TMP/tok-tampered" TOKEN_INVALID "token: tampered"

# A token for the crm server is refused on hr's tools, and FilterTools over
# hr shows it nothing.
mint crm https://crm.mcp.acme.example
client gateway "$TMP/tok-crm" check --access-token "$TMP/crm.jwt" --tool hr.get_salary ||
  fail "token: crm audience: exit $?: $(cat "$TMP/tok-crm.err")"
expect_token_deny "$TMP/tok-crm" TOKEN_AUDIENCE_MISMATCH "token: crm audience on hr"
if client gateway "$TMP/tok-crm-filter" filter --access-token "$TMP/crm.jwt" --server hr; then
  expect "$TMP/tok-crm-filter" '"tools" not in d' "token: crm audience: filter over hr"
else
  fail "token: crm audience: filter: $(cat "$TMP/tok-crm-filter.err")"
fi

# Bound to the gateway's certificate (RFC 8705): accepted with it, refused
# without it.
mint bound "$HR" --cnf-x5t-cert "$CERTS/gateway.pem"
client gateway "$TMP/tok-bound" check --access-token "$TMP/bound.jwt" \
  --client-cert "$CERTS/gateway.pem" --tool hr.get_salary ||
  fail "token: bound: exit $?: $(cat "$TMP/tok-bound.err")"
expect "$TMP/tok-bound" 'd["decision"]["effect"] == "EFFECT_ALLOW"' "token: bound, with its certificate"
client gateway "$TMP/tok-unbound" check --access-token "$TMP/bound.jwt" --tool hr.get_salary ||
  fail "token: bound, no certificate: exit $?: $(cat "$TMP/tok-unbound.err")"
expect_token_deny "$TMP/tok-unbound" TOKEN_BINDING_MISMATCH "token: bound, no certificate"

# A token and an asserted user together are a malformed chain.
client gateway "$TMP/tok-both" check --access-token "$TMP/good.jwt" --user bob@acme.example \
  --tool hr.get_salary && fail "token: a token with an asserted user succeeded"
grep -q "INVALID_ARGUMENT" "$TMP/tok-both.err" || fail "token with user: got $(cat "$TMP/tok-both.err")"

# pdpctl token inspect, offline, against the same settings and policy.
"$PDPCTL" token inspect "$TMP/good.jwt" --token-settings "$CERTS/tokens.yaml" \
  --policy "$POLICY" >"$TMP/inspect" 2>&1 || fail "pdpctl token inspect good: exit $?: $(cat "$TMP/inspect")"
grep -q '^VERIFIED: signed by a key of issuer "https://login.acme.example"' "$TMP/inspect" ||
  fail "pdpctl token inspect good: no VERIFIED line: $(cat "$TMP/inspect")"
grep -qx "usable on MCP servers: hr" "$TMP/inspect" ||
  fail "pdpctl token inspect good: want usable on hr: $(cat "$TMP/inspect")"
"$PDPCTL" token inspect "$TMP/expired.jwt" --token-settings "$CERTS/tokens.yaml" \
  >"$TMP/inspect-expired" 2>&1 && fail "pdpctl token inspect expired: exit 0"
grep -q "^REFUSED TOKEN_EXPIRED: " "$TMP/inspect-expired" ||
  fail "pdpctl token inspect expired: $(cat "$TMP/inspect-expired")"
stop_server
# The decision log holds identities, never a token (nor its signature).
for name in good expired tampered crm bound; do
  grep -qF -e "$(cut -d. -f3 "$TMP/$name.jwt")" "$TMP/server.out" "$TMP/server.log" &&
    fail "the server logged (part of) token $name"
done
# ... and records the identities the verified token gave.
good_id="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["decision"]["decision_id"])' "$TMP/tok-good" 2>/dev/null)"
grep -F "\"decision_id\":\"$good_id\"" "$TMP/server.out" |
  grep -qF '"chain":{"user":"alice@acme.example","client":"acme-copilot"' ||
  fail "decision $good_id (good token) does not record alice via acme-copilot in the log"
grep -qF "\"caller\":\"spiffe://acme.example/gateway\"" "$TMP/server.out" ||
  fail "example config: no decision on stdout (decision_log.path \"-\")"

if [[ "$failures" -ne 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
