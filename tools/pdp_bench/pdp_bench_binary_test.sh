#!/bin/bash
# Runs the built pdp_bench binary: usage errors, the null server as its own
# process (port announced as JSON, SIGTERM stops it with exit 0), a load
# against it, and --compare-null with the null server in a child process and
# in this process. Runs from the runfiles workspace root.
set -u

BENCH="tools/pdp_bench/pdp_bench"
OUT="${TEST_TMPDIR}/out"
ERR="${TEST_TMPDIR}/err"
POLICY="${TEST_TMPDIR}/policy"
failures=0

fail() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2; cat "$OUT" >&2
  echo "--- stderr:" >&2; cat "$ERR" >&2
  failures=$((failures + 1))
}

# expect CODE ARGS...: runs pdp_bench, checks its exit code.
expect() {
  local want="$1"; shift
  "$BENCH" "$@" >"$OUT" 2>"$ERR"
  local got=$?
  [[ "$got" == "$want" ]] || fail "pdp_bench $* exited $got, want $want"
}

# grep_in FILE PATTERN: the file must contain the fixed string.
grep_in() {
  grep -qF -- "$2" "$1" || fail "$(basename "$1") lacks: $2"
}

[[ -x "$BENCH" ]] || { echo "FAIL: $BENCH is not built" >&2; exit 1; }

mkdir -p "$POLICY"
cat >"$POLICY/policy.yaml" <<'YAML'
tools:
  - id: crm.search_contacts
    scopes: [contacts:read]
  - id: hr.get_salary
    auth: mfa
roles:
  - id: sales
    tools: ["crm.*"]
clients:
  - id: desktop
    scopes: [contacts:read]
users:
  - id: bob@acme.example
    roles: [sales]
YAML

expect 0 --help
grep_in "$OUT" "--compare-null"
grep_in "$OUT" "same cores"

expect 2 --target 127.0.0.1:1 --policy "$POLICY" --insecure --channels zero
grep_in "$ERR" "--channels: expected an integer"

expect 2 --target 127.0.0.1:1 --policy "$POLICY"
grep_in "$ERR" "--ca: is required"

expect 1 --target 127.0.0.1:1 --policy "${TEST_TMPDIR}/missing" --insecure
grep_in "$ERR" "--policy ${TEST_TMPDIR}/missing"

# The null server in its own process; its first line announces the port.
coproc NULL_SERVER { exec "$BENCH" --serve-null 0 --insecure --json; }
null_pid=$NULL_SERVER_PID
read -r -t 20 announced <&"${NULL_SERVER[0]}" || fail "no port announced"
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' <<<"$announced")
[[ -n "$port" && "$port" != 0 ]] || fail "bad announcement: $announced"
target="127.0.0.1:$port"

expect 0 --target "$target" --insecure --policy "$POLICY" --duration 0.5 \
  --warmup 0.1 --mix mixed --json
grep_in "$OUT" '"error_count": 0'
grep_in "$OUT" '"mix": "mixed"'
grep_in "$OUT" '"p99_9"'

expect 0 --compare-null --target "$target" --insecure --policy "$POLICY" \
  --duration 0.5 --warmup 0.1 --inflight 4 --json --null-filter-tools 7 \
  --mix filter
grep_in "$OUT" '"percent_of_null"'
grep_in "$OUT" '"in_process": false'
# The child null server answered with 7 tools per call; the target with 20.
grep -qE '"visible_tools": [1-9]' "$OUT" || fail "no visible tools counted"

expect 0 --compare-null --null-in-process --target "$target" --insecure \
  --policy "$POLICY" --duration 0.5 --warmup 0.1 --channels 1 --inflight 2
grep_in "$OUT" "null Authorizer (in this process"
grep_in "$OUT" "of the null ceiling"
grep_in "$OUT" "errors       0"

kill -TERM "$null_pid"
wait "$null_pid"
status=$?
[[ "$status" == 0 ]] || fail "the null server exited $status after SIGTERM"

if (( failures > 0 )); then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
