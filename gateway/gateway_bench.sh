#!/bin/bash
# bazel run //gateway:gateway_bench [-- ITERATIONS]: the gateway's added
# latency per tools/call and tools/list against server-everything, directly
# and through the gateway with the real PDP (docs/benchmarks.md).
set -euo pipefail
RUNFILES="${RUNFILES_DIR:-$0.runfiles}/__main__"
[[ -d "$RUNFILES" ]] || RUNFILES="$PWD"
SRC="$(dirname "$(readlink -f "$RUNFILES/gateway/package.json")")"
[[ -d "$SRC/node_modules/@modelcontextprotocol/server" ]] || { echo "run tools/setup.sh (npm ci in gateway/) first" >&2; exit 1; }
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
cp -r "$SRC/package.json" "$SRC/tsconfig.json" "$SRC/src" "$SRC/test" "$SRC/bench" "$OUT/"
ln -s "$SRC/node_modules" "$OUT/node_modules"
(cd "$OUT" && node_modules/.bin/tsc -p tsconfig.json)
export PDP_SERVER="$RUNFILES/pdp/server/server"
export PDP_REPO_ROOT="$(dirname "$SRC")"
node "$OUT/dist/bench/bench.js" "$@"
