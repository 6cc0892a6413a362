#!/bin/bash
# End to end, from another language: starts the real pdp-server over mTLS with
# certificates made by tools/gen_dev_certs.sh, and calls it with
# tools/pdp_client.py (Python, Debian's python3-grpcio and python3-protobuf):
# services listed through reflection, health, Check (ALLOW with redaction,
# DENY with its reason), FilterTools, and PERMISSION_DENIED for a caller
# without `filter`. Then does the README's walk-through with
# examples/server/config.yaml. Runs from the runfiles root.
set -u

ROOT="$PWD"
SERVER="pdp/server/server"
GEN="tools/gen_dev_certs.sh"
CLIENT="$PWD/tools/pdp_client.py"
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
    "$ROOT/$SERVER" "$@" --listen 127.0.0.1:0 --port-file "$events" \
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
stop_server
grep -qF "\"caller\":\"spiffe://acme.example/gateway\"" "$TMP/server.out" ||
  fail "example config: no decision on stdout (decision_log.path \"-\")"

if [[ "$failures" -ne 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
