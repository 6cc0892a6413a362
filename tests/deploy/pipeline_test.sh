#!/usr/bin/env bash
# examples/ci/pipeline.sh end to end: two replicas of the real server binary,
# each with its own RocksDB store, over mTLS with certificates from
# tools/gen_dev_certs.sh and its bundle-signing key trusted. The pipeline
# pushes to both; both must then serve the new version. A bundle signed by
# an untrusted key is refused by both and changes nothing.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

root="$PWD"
server_bin="$root/pdp/server/server"
pdpctl="$root/tools/pdpctl/pdpctl"
pipeline="$root/examples/ci/pipeline.sh"
policy="$root/examples/policies/acme"
tmp="${TEST_TMPDIR:?}/pipeline"
rm -rf "$tmp"
mkdir -p "$tmp"

bash "$root/tools/gen_dev_certs.sh" "$tmp/certs" >/dev/null
certs="$tmp/certs"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# start_replica NAME [LISTEN]: a server on LISTEN (default 127.0.0.1:0) with
# its own store; sets PORT.
start_replica() {
  local name="$1" dir="$tmp/$1" listen="${2:-127.0.0.1:0}"
  mkdir -p "$dir"
  cat >"$dir/config.yaml" <<YAML
listen: $listen
tls:
  cert: $certs/server.pem
  key: $certs/server.key
  client_ca: $certs/ca.pem
store:
  path: $dir/store
trusted_keys:
  - public_key: $certs/bundle-signing.pub
callers:
  - identity: spiffe://acme.example/ci
    permissions: [admin]
decision_log:
  path: ""
YAML
  "$server_bin" --config "$dir/config.yaml" --lame-duck-seconds 0 --port-file "$dir/port" \
    >"$dir/server.log" 2>&1 &
  pids+=($!)
  # The server writes the port file once it serves; poll for it (bounded).
  local waited=0
  until [[ -s "$dir/port" ]]; do
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$dir/server.log" >&2; fail "replica $name exited"; }
    (( waited++ < 300 )) || fail "replica $name did not start in 30 s"
    sleep 0.1
  done
  PORT="$(cat "$dir/port")"
}

start_replica a; a="127.0.0.1:$PORT"
start_replica b; b="127.0.0.1:$PORT"
[[ "$a" != "$b" ]] || fail "both replicas on one port"

tls=(--ca "$certs/ca.pem" --cert "$certs/ci.pem" --key "$certs/ci.key")
status_of() { "$pdpctl" status --server "$1" "${tls[@]}"; }

# Fresh replicas have no policy.
for server in "$a" "$b"; do
  status_of "$server" | grep -q "NOT SERVING" || fail "$server serves before any push"
done

run_pipeline() {
  env PDPCTL="$pdpctl" PDP_POLICY_DIR="$policy" PDP_SERVERS="$a,$b" \
    PDP_CA="$certs/ca.pem" PDP_CERT="$certs/ci.pem" PDP_KEY="$certs/ci.key" \
    PDP_SOURCE_COMMIT=0123456789abcdef0123456789abcdef01234567 \
    PDP_WORK_DIR="$tmp/work" "$@" bash "$pipeline"
}

# 1. A good push reaches both replicas.
if ! out="$(run_pipeline PDP_SIGNING_KEY="$certs/bundle-signing.key" PDP_BUNDLE_VERSION=7 2>&1)"; then
  echo "$out" >&2; fail "the pipeline failed"
fi
echo "$out"
for server in "$a" "$b"; do
  grep -qx "$server: active v7" <<<"$out" || fail "no push result line for $server"
  s="$(status_of "$server")"
  grep -q "^$server: serving v7 " <<<"$s" || { echo "$s" >&2; fail "$server does not serve v7"; }
  grep -q "source commit 0123456789abcdef0123456789abcdef01234567" <<<"$s" ||
    fail "$server: the bundle lacks the source commit"
done
grep -q "every replica serves v7" <<<"$out" || fail "the pipeline did not confirm"

# 2. A bundle signed by a key the servers do not trust: both refuse it, the
#    pipeline fails, and both still serve v7.
"$pdpctl" keygen --out "$tmp/rogue" >/dev/null
if out="$(run_pipeline PDP_SIGNING_KEY="$tmp/rogue.key" PDP_BUNDLE_VERSION=8 \
          PDP_DEPLOYED_POLICY_DIR="$policy" 2>&1)"; then
  echo "$out" >&2; fail "the pipeline succeeded with an untrusted key"
fi
echo "$out"
for server in "$a" "$b"; do
  grep -q "^$server: FAILED PERMISSION_DENIED" <<<"$out" ||
    fail "no refusal line for $server"
  status_of "$server" | grep -q "^$server: serving v7 " || fail "$server changed version"
done

# 3. Without servers or a signing key the pipeline is a usage error.
set +e
PDP_SERVERS="" PDP_SERVICE="" run_pipeline PDP_SIGNING_KEY="$certs/bundle-signing.key" >/dev/null 2>&1
code=$?
set -e
[[ $code -eq 2 ]] || fail "no servers: exit $code, want 2"

# 3b. PDP_SERVICE: one host:port whose name stands for every replica. A
#     replica listening on localhost:0 binds every address localhost resolves
#     to; pdpctl push expands the name to those addresses, pushes to each
#     (verifying TLS against "localhost") and the pipeline confirms each.
start_replica c localhost:0; c_port="$PORT"
mapfile -t c_addresses < <(getent ahosts localhost | awk '{print $1}' | awk '!seen[$0]++')
[[ ${#c_addresses[@]} -gt 0 ]] || fail "localhost resolves to no address"
if ! out="$(run_pipeline PDP_SERVERS= PDP_SERVICE="localhost:$c_port" \
            PDP_SIGNING_KEY="$certs/bundle-signing.key" PDP_BUNDLE_VERSION=3 2>&1)"; then
  echo "$out" >&2; fail "the pipeline failed with PDP_SERVICE"
fi
echo "$out"
for address in "${c_addresses[@]}"; do
  [[ "$address" == *:* ]] && address="[$address]"
  grep -qxF "localhost:$c_port ($address:$c_port): active v3" <<<"$out" ||
    fail "no push result line for localhost:$c_port ($address:$c_port)"
  grep -q "^$address:$c_port: serving v3 " <<<"$out" ||
    fail "the pipeline did not confirm $address:$c_port"
done
grep -q "every replica serves v3 (${#c_addresses[@]})" <<<"$out" ||
  fail "the pipeline did not confirm every address"

# 4. From a git checkout: the source commit comes from git, and the diff
#    compares with the policy at the commit the replicas serve (git archive).
#    With PDP_FAIL_ON_WIDEN=1 a widening change stops before the push.
repo="$tmp/repo"
mkdir -p "$repo"
cp -r "$policy" "$repo/policy"
chmod -R u+w "$repo/policy"
rm -f "$repo/policy/BUILD.bazel"
export HOME="$tmp" GIT_CONFIG_NOSYSTEM=1
git_() { git -C "$repo" -c user.name=ci -c user.email=ci@acme.example "$@"; }
git_ init -q
git_ add -A && git_ commit -q -m "policy"
c1="$(git_ rev-parse HEAD)"
cd "$repo"
out="$(run_pipeline PDP_SIGNING_KEY="$certs/bundle-signing.key" PDP_POLICY_DIR=policy \
       PDP_SOURCE_COMMIT= PDP_BUNDLE_VERSION=9 2>&1)" || { echo "$out" >&2; fail "v9 failed"; }
for server in "$a" "$b"; do
  status_of "$server" | grep -q "source commit $c1" || fail "$server: v9 lacks the git commit"
done
# ivan gains the finance role: decisions widen.
sed -i 's/roles: \[employee\]$/roles: [employee, finance]/' policy/users.yaml
git_ commit -q -am "ivan joins finance"
c2="$(git_ rev-parse HEAD)"
if "$pdpctl" help diff >/dev/null 2>&1; then
  if out="$(run_pipeline PDP_SIGNING_KEY="$certs/bundle-signing.key" PDP_POLICY_DIR=policy \
            PDP_SOURCE_COMMIT= PDP_BUNDLE_VERSION=10 PDP_FAIL_ON_WIDEN=1 2>&1)"; then
    echo "$out" >&2; fail "a widening change passed PDP_FAIL_ON_WIDEN=1"
  fi
  echo "$out"
  grep -q "^== diff $tmp/work/deployed/policy -> policy" <<<"$out" ||
    fail "the diff did not compare with the deployed commit's policy"
  ! grep -q "^== bundle" <<<"$out" || fail "the pipeline went on to bundle a widening change"
  for server in "$a" "$b"; do
    status_of "$server" | grep -q "^$server: serving v9 " || fail "$server changed version"
  done
fi
out="$(run_pipeline PDP_SIGNING_KEY="$certs/bundle-signing.key" PDP_POLICY_DIR=policy \
       PDP_SOURCE_COMMIT= PDP_BUNDLE_VERSION=10 2>&1)" || { echo "$out" >&2; fail "v10 failed"; }
echo "$out"
for server in "$a" "$b"; do
  s="$(status_of "$server")"
  if ! grep -q "^$server: serving v10 " <<<"$s" || ! grep -q "source commit $c2" <<<"$s"; then
    echo "$s" >&2; fail "$server does not serve v10 from $c2"
  fi
done
cd "$root"

echo PASS
