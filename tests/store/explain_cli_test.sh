#!/usr/bin/env bash
# `pdpctl check --explain` offline and against a server agree: the server
# binary with a store, the Acme bundle pushed over mTLS, then the same chains
# explained by `--policy DIR` and by `--server ADDR --policy DIR` (files named
# under DIR). Only the policy version differs (the offline compile's
# "dev-..." against the bundle's version). Only a caller granted `explain`
# may ask: the gateway (check, filter) and CI (admin) are refused.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

root="$PWD"
server_bin="$root/pdp/server/server"
pdpctl="$root/tools/pdpctl/pdpctl"
policy="examples/policies/acme"
tmp="${TEST_TMPDIR:?}/explain_cli"
rm -rf "$tmp"
mkdir -p "$tmp"
bash "$root/tools/gen_dev_certs.sh" "$tmp/certs" >/dev/null
certs="$tmp/certs"

cat >"$tmp/config.yaml" <<YAML
listen: 127.0.0.1:0
tls:
  cert: $certs/server.pem
  key: $certs/server.key
  client_ca: $certs/ca.pem
store:
  path: $tmp/store
trusted_keys:
  - public_key: $certs/bundle-signing.pub
callers:
  - identity: spiffe://acme.example/ci
    permissions: [admin]
  - identity: spiffe://acme.example/operator
    permissions: [explain]
  - identity: spiffe://acme.example/gateway
    permissions: [check, filter]
decision_log:
  path: ""
YAML
"$server_bin" --config "$tmp/config.yaml" --lame-duck-seconds 0 --port-file "$tmp/port" >"$tmp/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
waited=0
until [[ -s "$tmp/port" ]]; do
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log" >&2; fail "the server exited"; }
  (( waited++ < 300 )) || fail "the server did not start in 30 s"
  sleep 0.1
done
server="127.0.0.1:$(cat "$tmp/port")"
ci_tls=(--ca "$certs/ca.pem" --cert "$certs/ci.pem" --key "$certs/ci.key")
tls=(--ca "$certs/ca.pem" --cert "$certs/operator.pem" --key "$certs/operator.key")

"$pdpctl" bundle "$policy" --key "$certs/bundle-signing.key" --version 4 -o "$tmp/v4.bundle" >/dev/null
"$pdpctl" push "$tmp/v4.bundle" --server "$server" "${ci_tls[@]}" >/dev/null

# explain_both NAME CHAIN...: the offline and the remote output must agree.
explain_both() {
  local name="$1"; shift
  local offline remote
  offline="$("$pdpctl" check --policy "$policy" --explain "$@")" || fail "$name: offline check failed"
  remote="$("$pdpctl" check --policy "$policy" --explain --server "$server" "${tls[@]}" "$@")" ||
    fail "$name: remote check failed"
  grep -qx "policy version 4" <<<"$remote" || { echo "$remote" >&2; fail "$name: remote policy version"; }
  grep -q "^explain:$" <<<"$remote" || fail "$name: no explanation"
  if ! diff <(grep -v '^policy version ' <<<"$offline") <(grep -v '^policy version ' <<<"$remote"); then
    fail "$name: remote and offline explanations differ"
  fi
  echo "$remote"
}

out="$(explain_both salary --user alice@acme.example --client acme-copilot \
        --scopes hr:salary:read --amr pwd,otp --tool hr.get_salary)"
grep -q "granted by role executive ($policy/roles.yaml:56): glob \"hr.get_salary\"" <<<"$out" ||
  { echo "$out" >&2; fail "salary: no granting role"; }
explain_both inherited --user alice@acme.example --client acme-copilot \
  --scopes contacts:read --tool crm.search_contacts >/dev/null
explain_both agent --user bob@acme.example --client claude-desktop \
  --agent sales-assistant --autonomous --tool crm.export_contacts >/dev/null
explain_both service --service billing-worker --tool finance.list_invoices >/dev/null
explain_both see --user alice@acme.example --client acme-copilot \
  --action see --tool hr.get_salary >/dev/null
explain_both unknown-tool --user alice@acme.example --client acme-copilot \
  --tool crm.nope >/dev/null

# Without explain: refused, exit 1. CI's admin does not include it.
for who in gateway ci; do
  set +e
  out="$("$pdpctl" check --explain --server "$server" --ca "$certs/ca.pem" \
          --cert "$certs/$who.pem" --key "$certs/$who.key" \
          --user alice@acme.example --client acme-copilot --tool hr.get_salary 2>&1)"
  code=$?
  set -e
  [[ $code -eq 1 ]] || fail "$who: exit $code, want 1"
  grep -q "PERMISSION_DENIED" <<<"$out" || { echo "$out" >&2; fail "$who: not PERMISSION_DENIED"; }
  grep -q 'lacks the "explain" permission' <<<"$out" || { echo "$out" >&2; fail "$who: does not name explain"; }
done

# --server without --explain is a usage error.
set +e
"$pdpctl" check --server "$server" "${tls[@]}" --user alice@acme.example \
  --client acme-copilot --tool hr.get_salary >/dev/null 2>&1
code=$?
set -e
[[ $code -eq 2 ]] || fail "--server without --explain: exit $code, want 2"

echo PASS
