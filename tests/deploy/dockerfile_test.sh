#!/usr/bin/env bash
# The Dockerfile cannot be built here (no container engine). This checks what
# can go wrong without building it:
#  - the stages: a build stage FROM debian:12, a runtime stage FROM
#    debian:12-slim that ends as a non-root numeric USER;
#  - every COPY --from=build source is bazel-bin/<pkg>/<name> copied out of the
#    bazel output by the build stage's `cp -L --parents`, <pkg>:<name> is a
#    label the build stage's `bazel build` names, and the file exists (as an
#    executable) in this test's runfiles, i.e. the build really produces it;
#  - the runtime stage's packages provide every shared library the binaries
#    load directly (or it comes with debian:12-slim).
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

dockerfile="Dockerfile"
[[ -f "$dockerfile" ]] || fail "no $dockerfile in the runfiles"

# Logical lines: join continuation lines.
lines="$(sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$dockerfile" | grep -v '^[[:space:]]*#')"

froms="$(grep -E '^FROM ' <<<"$lines")"
[[ "$(sed -n 1p <<<"$froms")" =~ ^FROM\ debian:12\ AS\ build$ ]] ||
  fail "the first stage must be 'FROM debian:12 AS build', not: $(sed -n 1p <<<"$froms")"
[[ "$(sed -n '$p' <<<"$froms")" =~ ^FROM\ debian:12-slim\ AS\ runtime$ ]] ||
  fail "the last stage must be 'FROM debian:12-slim AS runtime'"

runtime="$(sed -n '/^FROM debian:12-slim AS runtime/,$p' <<<"$lines")"
build="$(sed -n '/^FROM debian:12 AS build/,/^FROM /p' <<<"$lines")"

user="$(grep -E '^USER ' <<<"$runtime" | tail -1 | awk '{print $2}')"
[[ -n "$user" ]] || fail "the runtime stage sets no USER (it would run as root)"
uid="${user%%:*}"
[[ "$uid" =~ ^[0-9]+$ && "$uid" -ne 0 ]] ||
  fail "USER must be a numeric non-root uid (runAsNonRoot needs one), not '$user'"
grep -q "runAsUser: $uid\$" k8s/deployment.yaml ||
  fail "k8s/deployment.yaml does not run as the image's uid $uid"

bazel_build="$(grep -E '^RUN .*bazel build' <<<"$build")" ||
  fail "the build stage runs no 'bazel build'"
grep -q -- '-c opt' <<<"$bazel_build" || fail "the build stage does not build -c opt"
grep -q 'tools/setup.sh' <<<"$build" || fail "the build stage does not run tools/setup.sh"

copies="$(grep -E '^COPY --from=build ' <<<"$runtime" | awk '{print $3}')"
[[ -n "$copies" ]] || fail "the runtime stage copies nothing from the build stage"
binaries=()
for src in $copies; do
  rel="${src#/out/}"
  [[ "$rel" == bazel-bin/* ]] || fail "COPY --from=build $src: not under /out/bazel-bin/"
  grep -qE "cp -L --parents ([^&]*[[:space:]])?$rel([[:space:]]|$)" <<<"$bazel_build" ||
    fail "the build stage does not copy $rel to /out"
  path="${rel#bazel-bin/}"
  pkg="${path%/*}"
  name="${path##*/}"
  label="//$pkg:$name"
  grep -qE "[[:space:]]$label([[:space:]]|$)" <<<"$bazel_build" ||
    fail "COPY --from=build $src: 'bazel build' does not build $label"
  [[ -x "$path" ]] ||
    fail "COPY --from=build $src: $label is not a binary the build produces (no $path in the runfiles)"
  binaries+=("$path")
  echo "ok: $src is $label"
done

# Packages installed in the runtime stage.
installed="$(grep -E 'apt-get install' <<<"$runtime" | tr ' ' '\n' |
  grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|update)$' || true)"
# In debian:12-slim already (essential or required by apt).
base="libc6 libgcc-s1 libstdc++6 zlib1g libzstd1 libbz2-1.0 liblz4-1"
command -v dpkg >/dev/null || fail "no dpkg: the shared-library check needs Debian"
# lib -> file, for the libraries the binaries name directly (NEEDED).
declare -A file_of=()
for bin in "${binaries[@]}"; do
  deps="$(ldd "$bin")"
  for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
    # The dynamic loader (named when a binary uses C++ thread-locals such as
    # std::call_once's) comes with libc6; ldd prints no "=>" for it.
    [[ "$lib" == ld-linux* ]] && continue
    file="$(awk -v l="$lib" '$1 == l {print $3}' <<<"$deps")"
    [[ -n "$file" && "$file" != "not" ]] || fail "$bin: $lib is not found"
    file_of[$lib]="$file"
  done
done
# One dpkg query for all of them (merged /usr: dpkg may know either path).
owners="$(dpkg -S "${file_of[@]}" 2>/dev/null || true)"
owners+=$'\n'"$(for f in "${file_of[@]}"; do readlink -f "$f"; done | xargs dpkg -S 2>/dev/null || true)"
for lib in "${!file_of[@]}"; do
  file="${file_of[$lib]}"
  pkg="$(awk -F': ' -v a="$file" -v b="$(readlink -f "$file")" '$2 == a || $2 == b {print $1; exit}' <<<"$owners")"
  [[ -n "$pkg" ]] || fail "no Debian package has $file ($lib)"
  pkg="${pkg%%:*}"
  grep -qx "$pkg" <<<"$installed" || [[ " $base " == *" $pkg "* ]] ||
    fail "the binaries need $lib from $pkg, which the runtime stage does not install"
done
echo "PASS"
