#!/bin/bash
# Compiles the gateway into $TEST_TMPDIR and runs its tests (unit and end to
# end) with `node --test`. Runs from the runfiles root; the source tree (for
# node_modules) is found through the runfile symlink of package.json.
set -euo pipefail

RUNFILES="$PWD"
SRC="$(dirname "$(readlink -f gateway/package.json)")"
if [[ ! -d "$SRC/node_modules/@modelcontextprotocol/server" ]]; then
  echo "FAIL: $SRC/node_modules is not installed: run tools/setup.sh (it runs npm ci in gateway/)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "FAIL: node is not installed (tools/setup.sh)" >&2; exit 1; }

OUT="${TEST_TMPDIR:?}/gateway"
rm -rf "$OUT"
mkdir -p "$OUT"
cp -r "$SRC/package.json" "$SRC/tsconfig.json" "$SRC/gateway.example.yaml" "$SRC/src" "$SRC/test" "$SRC/bench" "$OUT/"
ln -s "$SRC/node_modules" "$OUT/node_modules"
cd "$OUT"
node_modules/.bin/tsc -p tsconfig.json

export PDP_SERVER="$RUNFILES/pdp/server/server"
export PDP_REPO_ROOT="$(dirname "$SRC")"
exec node --test --test-timeout=180000 dist/test/*.test.js
