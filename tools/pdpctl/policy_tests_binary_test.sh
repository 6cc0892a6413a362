#!/bin/bash
# Runs the built `pdpctl test` on the Acme example's suite (it must pass) and
# on a fixture with wrong expectations (it must fail, naming file:line).
# Runs from the runfiles workspace root.
set -u

PDPCTL="tools/pdpctl/pdpctl"
OUT="${TEST_TMPDIR}/out"
ERR="${TEST_TMPDIR}/err"
failures=0

fail() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2; cat "$OUT" >&2
  echo "--- stderr:" >&2; cat "$ERR" >&2
  failures=$((failures + 1))
}

"$PDPCTL" test examples/policies/acme --junit "${TEST_TMPDIR}/acme.xml" \
  >"$OUT" 2>"$ERR"
code=$?
[[ "$code" == 0 ]] || fail "pdpctl test examples/policies/acme exited $code"
grep -qE '^[0-9]+ passed, 0 failed$' "$OUT" || fail "no all-passed summary"
[[ -s "${TEST_TMPDIR}/acme.xml" ]] || fail "no JUnit file written"

"$PDPCTL" test tools/pdpctl/testdata/policy_tests_broken >"$OUT" 2>"$ERR"
code=$?
[[ "$code" == 1 ]] || fail "the broken suite exited $code, want 1"
grep -qF 'tools/pdpctl/testdata/policy_tests_broken/a_test.yaml:9: FAIL wrong effect' \
  "$OUT" || fail "the failing case's file:line is not printed"
grep -qx '2 passed, 3 failed' "$OUT" || fail "wrong summary"

"$PDPCTL" test >"$OUT" 2>"$ERR"
code=$?
[[ "$code" == 2 ]] || fail "pdpctl test without DIR exited $code, want 2"

if (( failures > 0 )); then
  echo "${failures} check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
