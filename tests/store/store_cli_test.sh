#!/usr/bin/env bash
# The store as an operator and CI see it, with the server binary and pdpctl
# over mTLS: a retried push of the active bundle succeeds (issue #10, 8);
# `pdpctl status` counts directory users exactly (9); a deleted user is shown
# as deleted (5); a store whose active bundle no longer verifies is not
# replaced by the config's `policy:` but fails closed until a push repairs
# it (14).
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

root="$PWD"
server_bin="$root/pdp/server/server"
pdpctl="$root/tools/pdpctl/pdpctl"
tmp="${TEST_TMPDIR:?}/store_cli"
rm -rf "$tmp"
mkdir -p "$tmp"
bash "$root/tools/gen_dev_certs.sh" "$tmp/certs" >/dev/null
certs="$tmp/certs"

# v1 is Acme; v2 takes hr.get_salary from executives (alice is one).
cp -r "$root/examples/policies/acme" "$tmp/acme"
cp -r "$root/examples/policies/acme" "$tmp/acme-v2"
chmod -R u+w "$tmp/acme" "$tmp/acme-v2"
sed -i '/^      - hr.get_salary$/d' "$tmp/acme-v2/roles.yaml"
grep -q "hr.get_salary" "$tmp/acme-v2/roles.yaml" && fail "v2 still grants hr.get_salary"

# write_config KEY [EXTRA]: the config trusting public key KEY.
write_config() {
  cat >"$tmp/config.yaml" <<YAML
listen: 127.0.0.1:0
tls:
  cert: $certs/server.pem
  key: $certs/server.key
  client_ca: $certs/ca.pem
store:
  path: $tmp/store
trusted_keys:
  - public_key: $1
callers:
  - identity: spiffe://acme.example/ci
    permissions: [admin, directory]
  - identity: spiffe://acme.example/operator
    permissions: [explain]
  - identity: spiffe://acme.example/gateway
    permissions: [check, filter]
decision_log:
  path: ""
${2:-}
YAML
}

pid=""
stop_server() {
  if [[ -n "$pid" ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}
trap stop_server EXIT
start_server() {
  stop_server
  rm -f "$tmp/port"
  "$server_bin" --config "$tmp/config.yaml" --lame-duck-seconds 0 --port-file "$tmp/port" \
    >"$tmp/server.log" 2>&1 &
  pid=$!
  local waited=0
  until [[ -s "$tmp/port" ]]; do
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log" >&2; fail "the server exited"; }
    (( waited++ < 300 )) || fail "the server did not start in 30 s"
    sleep 0.1
  done
  server="127.0.0.1:$(cat "$tmp/port")"
}
ci=(--ca "$certs/ca.pem" --cert "$certs/ci.pem" --key "$certs/ci.key")
operator=(--ca "$certs/ca.pem" --cert "$certs/operator.pem" --key "$certs/operator.key")
explain_salary() {
  "$pdpctl" check --explain --server "$server" "${operator[@]}" --user alice@acme.example \
    --client acme-copilot --scopes hr:salary:read --amr pwd,otp --tool hr.get_salary 2>&1
}

write_config "$certs/bundle-signing.pub"
start_server
"$pdpctl" bundle "$tmp/acme" --key "$certs/bundle-signing.key" --version 1 -o "$tmp/v1.bundle" >/dev/null
"$pdpctl" bundle "$tmp/acme-v2" --key "$certs/bundle-signing.key" --version 2 -o "$tmp/v2.bundle" >/dev/null
"$pdpctl" push "$tmp/v1.bundle" --server "$server" "${ci[@]}" >/dev/null
out="$("$pdpctl" push "$tmp/v2.bundle" --server "$server" "${ci[@]}")"
grep -qx "$server: active v2" <<<"$out" || { echo "$out" >&2; fail "push v2"; }

# 8: the answer was lost; CI pushes the same file again: success.
out="$("$pdpctl" push "$tmp/v2.bundle" --server "$server" "${ci[@]}" 2>&1)" ||
  { echo "$out" >&2; fail "the retried push of v2 failed"; }
grep -qx "$server: active v2 (already active: these same signed bytes)" <<<"$out" ||
  { echo "$out" >&2; fail "retry output"; }
# A different bundle under version 2 is still refused.
"$pdpctl" bundle "$tmp/acme" --key "$certs/bundle-signing.key" --version 2 -o "$tmp/v2-other.bundle" >/dev/null
set +e
out="$("$pdpctl" push "$tmp/v2-other.bundle" --server "$server" "${ci[@]}" 2>&1)"
code=$?
set -e
[[ $code -eq 1 ]] || { echo "$out" >&2; fail "a different v2: exit $code, want 1"; }
grep -q "FAILED FAILED_PRECONDITION" <<<"$out" || { echo "$out" >&2; fail "a different v2: not FAILED_PRECONDITION"; }
explain_salary | grep -q "^DENY hr.get_salary" || fail "v2 does not deny the salary"

# 9: an exact count, also after users are imported twice and deleted.
{
  echo "id,roles"
  for i in $(seq 1 3000); do echo "user-$i@bulk.example,sales"; done
} >"$tmp/users.csv"
"$pdpctl" users import "$tmp/users.csv" --server "$server" "${ci[@]}" >/dev/null
"$pdpctl" users import "$tmp/users.csv" --server "$server" "${ci[@]}" >/dev/null
"$pdpctl" users delete user-1@bulk.example user-2@bulk.example nobody@bulk.example \
  --server "$server" "${ci[@]}" >/dev/null
out="$("$pdpctl" status --server "$server" "${ci[@]}")"
grep -q ", 2998 directory users$" <<<"$out" || { echo "$out" >&2; fail "status: not exactly 2998 directory users"; }

# 5: a deleted user is shown as deleted, not as absent.
set +e
out="$("$pdpctl" users get user-1@bulk.example --server "$server" "${ci[@]}" 2>&1)"
code=$?
set -e
[[ $code -eq 1 ]] || fail "users get of a deleted user: exit $code, want 1"
grep -q 'user "user-1@bulk.example" was deleted from the directory' <<<"$out" ||
  { echo "$out" >&2; fail "users get does not say the user was deleted"; }

# 14: the bundle signing key is withdrawn, another trusted, and the config
# names the policy directory that would ALLOW what v2 denies.
"$pdpctl" keygen --out "$tmp/new-signing" >/dev/null
write_config "$tmp/new-signing.pub" "policy: $tmp/acme"
start_server
set +e
out="$("$pdpctl" health --server "$server" "${ci[@]}" 2>&1)"
code=$?
set -e
[[ $code -eq 1 ]] || { echo "$out" >&2; fail "health: exit $code, want 1"; }
grep -q "NOT_SERVING" <<<"$out" || { echo "$out" >&2; fail "health is not NOT_SERVING"; }
out="$("$pdpctl" status --server "$server" "${ci[@]}")"
grep -q "NOT SERVING (the stored active bundle v2 does not verify" <<<"$out" ||
  { echo "$out" >&2; fail "status does not say why"; }
set +e
out="$(explain_salary)"
code=$?
set -e
[[ $code -eq 1 ]] || { echo "$out" >&2; fail "explain while failed closed: exit $code, want 1"; }
grep -q "UNAVAILABLE: the stored active bundle v2 does not verify" <<<"$out" ||
  { echo "$out" >&2; fail "explain is not UNAVAILABLE naming v2"; }
grep -q "does not verify" "$tmp/server.log" || { cat "$tmp/server.log" >&2; fail "the server log does not say why"; }

# A push signed by the trusted key repairs it.
"$pdpctl" bundle "$tmp/acme-v2" --key "$tmp/new-signing.key" --version 3 -o "$tmp/v3.bundle" >/dev/null
"$pdpctl" push "$tmp/v3.bundle" --server "$server" "${ci[@]}" >/dev/null
"$pdpctl" health --server "$server" "${ci[@]}" >/dev/null || fail "not SERVING after the repair"
explain_salary | grep -q "^DENY hr.get_salary" || fail "v3 does not deny the salary"

echo PASS
