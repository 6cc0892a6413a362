#!/usr/bin/env bash
# Policy as code: validate, test, diff, bundle, sign and push a policy
# directory to every pdp-server replica. Plain shell for any CI system; the
# GitHub Actions workflow (.github-workflow.yml) runs this script. See
# docs/deploy.md ("CI pipeline").
#
# Settings (environment variables):
#   PDP_POLICY_DIR      policy directory (default: examples/policies/acme)
#   PDP_SIGNING_KEY     Ed25519 private key for `pdpctl bundle --key` (required;
#                       keep it in the CI system's secret store)
#   PDP_SERVERS         replicas, host:port, separated by spaces or commas; or
#   PDP_SERVICE         host:port whose host resolves to every replica, e.g. a
#                       headless Service: pdp-headless.pdp.svc.cluster.local:8443
#                       (`pdpctl push` pushes to every address a name
#                       resolves to, IPv4 and IPv6, verifying TLS against
#                       the name)
#   PDP_CA              mTLS: the CA the servers' certificates chain to
#   PDP_CERT            CI's client certificate (a caller with `admin`)
#   PDP_KEY             its private key
#   PDP_SERVER_NAME     the name to expect in the servers' certificate when
#                       it is not the host named (e.g. pdp.pdp.svc)
#   PDP_BUNDLE_VERSION  the bundle version (> the active one); default: the
#                       number of commits on HEAD (`git rev-list --count`)
#   PDP_SOURCE_COMMIT   recorded in the bundle; default: `git rev-parse HEAD`
#   PDP_DEPLOYED_POLICY_DIR  the policy now deployed, for `pdpctl diff`;
#                       default: PDP_POLICY_DIR at the commit the first replica
#                       reports serving (`git archive`), when there is one
#   PDP_FAIL_ON_WIDEN   1: stop when the diff makes any decision more permissive
#   PDP_DRY_RUN         1: stop after the diff (pull requests): no bundle, no
#                       push, no signing key needed
#   PDP_WORK_DIR        where the bundle and JUnit report go (default: a temp dir)
#   PDPCTL              the pdpctl binary (default: pdpctl on PATH)
#
# `pdpctl test` and `pdpctl diff` run when this pdpctl has them (`pdpctl help
# CMD`). Exit status: 0 when every replica serves the new version, 1 when a
# step or any replica failed, 2 for a usage error.
set -euo pipefail

say() { printf '== %s\n' "$*"; }
die() { printf 'pipeline: %s\n' "$*" >&2; exit "${2:-1}"; }

pdpctl="${PDPCTL:-pdpctl}"
policy="${PDP_POLICY_DIR:-examples/policies/acme}"
key="${PDP_SIGNING_KEY:-}"
dry_run="${PDP_DRY_RUN:-0}"
[[ -n "$key" || "$dry_run" == 1 ]] || die "PDP_SIGNING_KEY is not set" 2
[[ -d "$policy" ]] || die "PDP_POLICY_DIR: no directory \"$policy\"" 2
command -v "$pdpctl" >/dev/null || die "no pdpctl (\"$pdpctl\"); set PDPCTL" 2

has_command() { "$pdpctl" help "$1" >/dev/null 2>&1; }

# --- where to push ------------------------------------------------------
# Each is a --server for `pdpctl push`, which expands a DNS name to every
# address it resolves to.
servers=()
if [[ -n "${PDP_SERVERS:-}" ]]; then
  read -r -a servers <<<"${PDP_SERVERS//,/ }"
elif [[ -n "${PDP_SERVICE:-}" ]]; then
  host="${PDP_SERVICE%:*}"
  port="${PDP_SERVICE##*:}"
  [[ "$host" != "$PDP_SERVICE" && -n "$port" ]] || die "PDP_SERVICE must be host:port" 2
  servers=("$PDP_SERVICE")
else
  die "set PDP_SERVERS or PDP_SERVICE" 2
fi

tls=()
for var in PDP_CA PDP_CERT PDP_KEY; do
  [[ -n "${!var:-}" ]] || die "$var is not set (mTLS needs PDP_CA, PDP_CERT and PDP_KEY)" 2
done
tls=(--ca "$PDP_CA" --cert "$PDP_CERT" --key "$PDP_KEY")
[[ -n "${PDP_SERVER_NAME:-}" ]] && tls+=(--server-name "$PDP_SERVER_NAME")

in_git() { git rev-parse --is-inside-work-tree >/dev/null 2>&1; }
version="${PDP_BUNDLE_VERSION:-}"
if [[ -z "$version" && "$dry_run" != 1 ]]; then
  in_git || die "PDP_BUNDLE_VERSION is not set and this is not a git checkout" 2
  version="$(git rev-list --count HEAD)"
fi
commit="${PDP_SOURCE_COMMIT:-}"
if [[ -z "$commit" ]] && in_git; then commit="$(git rev-parse HEAD)"; fi

work="${PDP_WORK_DIR:-}"
if [[ -z "$work" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

say "replicas: ${servers[*]}"

# --- validate, test -----------------------------------------------------
say "validate $policy"
"$pdpctl" validate "$policy"

if has_command test; then
  say "test $policy"
  "$pdpctl" test "$policy" --junit "$work/policy-tests.xml"
else
  say "test: skipped (this pdpctl has no 'test' command)"
fi

# --- diff against what is deployed --------------------------------------
if has_command diff; then
  deployed="${PDP_DEPLOYED_POLICY_DIR:-}"
  if [[ -z "$deployed" ]] && in_git; then
    # The commit the first replica's active bundle was built from.
    status="$("$pdpctl" status --server "${servers[0]}" "${tls[@]}" --json 2>/dev/null || true)"
    old_commit="$(sed -n 's/.*"source_\{0,1\}[cC]ommit": *"\([0-9a-f]\{7,40\}\)".*/\1/p' <<<"$status" | head -1)"
    if [[ -n "$old_commit" ]] && git cat-file -e "$old_commit^{commit}" 2>/dev/null; then
      deployed="$work/deployed"
      mkdir -p "$deployed"
      git archive "$old_commit" "$policy" | tar -x -C "$deployed"
      deployed="$deployed/$policy"
    fi
  fi
  if [[ -n "$deployed" && -d "$deployed" ]]; then
    say "diff $deployed -> $policy"
    widen=()
    [[ "${PDP_FAIL_ON_WIDEN:-0}" == 1 ]] && widen=(--fail-on-widen)
    "$pdpctl" diff "$deployed" "$policy" "${widen[@]}"
  else
    say "diff: skipped (no deployed policy to compare with)"
  fi
else
  say "diff: skipped (this pdpctl has no 'diff' command)"
fi

if [[ "$dry_run" == 1 ]]; then
  say "dry run: no bundle built or pushed"
  exit 0
fi

# --- bundle, sign, push -------------------------------------------------
bundle="$work/bundle-v$version.pb"
say "bundle v$version"
"$pdpctl" bundle "$policy" --key "$key" --version "$version" \
  --source-commit "$commit" -o "$bundle"

push_args=()
for server in "${servers[@]}"; do push_args+=(--server "$server"); done
say "push to ${servers[*]}"
# One line per replica: "SERVER: ..." or, for each address a name resolved
# to, "NAME:PORT (ADDRESS:PORT): ...". Exits non-zero if any replica failed.
push_out="$("$pdpctl" push "$bundle" "${push_args[@]}" "${tls[@]}")" && pushed=0 || pushed=$?
printf '%s\n' "$push_out"
[[ $pushed -eq 0 ]] || die "the push failed on at least one replica"

# --- confirm ------------------------------------------------------------
# Ask each replica the push reached, by its address, verifying TLS against
# the name it was pushed under.
failed=0
confirmed=0
while IFS= read -r result; do
  target="${result%%: *}"
  status_args=()
  if [[ "$target" =~ ^(.+)\ \((.+)\)$ ]]; then
    name="${BASH_REMATCH[1]}"
    target="${BASH_REMATCH[2]}"
    [[ -n "${PDP_SERVER_NAME:-}" ]] || status_args=(--server-name "${name%:*}")
  fi
  line="$("$pdpctl" status --server "$target" "${tls[@]}" "${status_args[@]}" | head -1)" || { failed=1; continue; }
  echo "$line"
  confirmed=$((confirmed + 1))
  [[ "$line" == *"serving v$version "* ]] || failed=1
done <<<"$push_out"
[[ $failed -eq 0 && $confirmed -gt 0 ]] || die "not every replica serves v$version"
say "every replica serves v$version ($confirmed)"
