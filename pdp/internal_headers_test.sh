#!/bin/bash
# The engine's private headers refuse to compile outside the engine: a file
# that includes one without PDP_ENGINE_INTERNALS (which only the engine's own
# targets define, through local_defines) fails with a sentence saying so,
# even when the header is reachable through a transitive dependency.
set -u
fail=0
for header in pdp/glob.h pdp/status_macros.h; do
  src="$TEST_TMPDIR/includer.cc"
  printf '#include "%s"\nint main() { return 0; }\n' "$header" > "$src"
  if out=$(g++ -std=c++17 -fsyntax-only -I. "$src" 2>&1); then
    echo "FAIL: $header compiled outside the engine"; fail=1
  elif ! grep -q "private to the engine" <<<"$out"; then
    echo "FAIL: $header: the error does not say why:"; echo "$out"; fail=1
  fi
  if ! out=$(g++ -std=c++17 -fsyntax-only -DPDP_ENGINE_INTERNALS -I. "$src" 2>&1); then
    echo "FAIL: $header does not compile inside the engine:"; echo "$out"; fail=1
  fi
done
[ "$fail" = 0 ] && echo "PASS"
exit "$fail"
