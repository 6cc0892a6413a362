#!/bin/bash
# Runs the built pdpctl binary: exit codes and which stream each output
# goes to. Runs from the runfiles workspace root.
set -u

PDPCTL="tools/pdpctl/pdpctl"
POLICY="tools/pdpctl/testdata/policy"
BROKEN="tools/pdpctl/testdata/broken"
OUT="${TEST_TMPDIR}/out"
ERR="${TEST_TMPDIR}/err"
failures=0

fail() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2; cat "$OUT" >&2
  echo "--- stderr:" >&2; cat "$ERR" >&2
  failures=$((failures + 1))
}

# expect CODE ARGS...: runs pdpctl, checks its exit code.
expect() {
  local want="$1"; shift
  "$PDPCTL" "$@" >"$OUT" 2>"$ERR"
  local got=$?
  [[ "$got" == "$want" ]] || fail "pdpctl $* exited $got, want $want"
}

# grep_in FILE PATTERN: the file must contain the fixed string.
grep_in() {
  grep -qF -- "$2" "$1" || fail "$(basename "$1") lacks: $2"
}

[[ -x "$PDPCTL" ]] || { echo "FAIL: $PDPCTL is not built" >&2; exit 1; }

expect 0 validate "$POLICY"
grep_in "$OUT" "ok: 8 tools, 2 roles, 2 agents, 2 clients, 1 service, 2 users, 1 deny rule (version dev-"
[[ ! -s "$ERR" ]] || fail "validate ok wrote to stderr"

expect 1 validate "$BROKEN"
# Files named under the directory as given, even through runfiles symlinks.
grep -q "^$BROKEN/tools.yaml:4: unknown key \"colour\"" "$ERR" || fail "no tools.yaml:4 line"
grep -q "^$BROKEN/roles.yaml:5: " "$ERR" || fail "no roles.yaml:5 line"
[[ "$(wc -l <"$ERR")" -eq 5 ]] || fail "validate broken: want 5 error lines"
[[ ! -s "$OUT" ]] || fail "validate broken wrote to stdout"

expect 1 validate "$TEST_TMPDIR/no-such-dir"
grep_in "$ERR" "does not exist"

expect 2 validate

# A DENY is a decision: exit 0.
expect 0 check --policy "$POLICY" --user bob@acme.example --client claude-desktop \
  --agent sales-assistant --scopes contacts:read --tool crm.export_contacts
grep_in "$OUT" "DENY crm.export_contacts for user bob@acme.example"

expect 0 check --policy "$POLICY" --user alice@acme.example --client claude-desktop \
  --agent sales-assistant --scopes contacts:read --tool crm.get_account --json
grep_in "$OUT" '"effect": "ALLOW"'
grep_in "$OUT" '"salary"'

expect 0 filter --policy "$POLICY" --service import-worker --server crm --json
grep_in "$OUT" '"id": "crm.import_contacts"'

expect 2 check --policy "$POLICY" --user bob@acme.example --client claude-desktop --nope
grep_in "$ERR" "unknown flag --nope"
expect 2 check --policy "$POLICY" --user bob@acme.example --tool crm.search_contacts
grep_in "$ERR" "malformed identity chain"
expect 2 check --policy "$BROKEN" --service import-worker --tool crm.search_contacts
grep_in "$ERR" "$BROKEN/tools.yaml:4: "

expect 0 --help
grep_in "$OUT" "usage: pdpctl <command> [flags]"
expect 2

if [[ "$failures" -ne 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all pdpctl binary checks passed"
