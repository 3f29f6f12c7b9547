#!/usr/bin/env bash
# Runs nixpkgs' pure lib tests on a copy of nixpkgs' lib (scripts/lib-tests-extract.sh) with
# makes, as nixpkgs' lib/tests/test-with-nix.nix runs them with Nix:
#   lib/tests/misc.nix, lib/tests/systems.nix   `nix-instantiate --eval --strict` prints [ ]
#   lib/tests/modules.sh, filesystem.sh, sources.sh, lib/fileset/tests.sh
#                                                exit 0, with TEST_LIB=<copy>/lib
# For makes, a `nix-instantiate` shim (scripts/lib-tests-nix-instantiate.sh) that calls
# `makes eval` comes first on PATH, and `nix`, `nix-store`, `nix-build` are shims that fail
# (a test needing them fails under makes rather than using the real Nix). Older lib tests
# import all of nixpkgs for two `hello` checks: a `default.nix` beside lib/ gives them the
# stand-in package set (fixtures/nix-packages/stand-in-nixpkgs), for Nix and makes alike.
#
#   bash scripts/lib-tests.sh [--nix] [--results FILE] COPY_DIR
#
# --nix runs the real Nix instead. Prints one line per test file, `PASS file` or `FAIL file:
# reason`, and writes them to --results FILE (sorted); each shell test's output is kept beside
# the copy as NAME.log. Exits 0 whatever the results; 2 on
# bad usage. The makes binary is $MAKES, else `makes` on PATH, else target/{release,debug}.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
use_nix=0
results_file=
while [ $# -gt 0 ]; do
  case $1 in
    --nix) use_nix=1 ;;
    --results) results_file=${2:?--results needs a file}; shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
copy=${1:?usage: lib-tests.sh [--nix] [--results FILE] COPY_DIR}
[ -d "$copy/lib" ] || { echo "no lib/ in $copy" >&2; exit 2; }
copy="$(cd "$copy" && pwd)"
[ -e "$copy/default.nix" ] || echo "import $root/fixtures/nix-packages/stand-in-nixpkgs" >"$copy/default.nix"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/home"
if [ "$use_nix" = 0 ]; then
  makes=${MAKES:-}
  if [ -z "$makes" ]; then
    makes=$(command -v makes || true)
    for candidate in "$root/target/release/makes" "$root/target/debug/makes"; do
      [ -n "$makes" ] || { [ -x "$candidate" ] && makes=$candidate; }
    done
  fi
  [ -n "$makes" ] || { echo "no makes binary: set MAKES or build it" >&2; exit 2; }
  export MAKES="$makes"
  ln -s "$root/scripts/lib-tests-nix-instantiate.sh" "$work/bin/nix-instantiate"
  for tool in nix nix-store nix-build; do
    printf '#!/bin/sh\necho "%s is not available in the makes run of the lib tests" >&2\nexit 127\n' "$tool" >"$work/bin/$tool"
    chmod +x "$work/bin/$tool"
  done
  export PATH="$work/bin:$PATH" MAKES_STORE_DIR="$work/store" XDG_CACHE_HOME="$work/cache"
fi
export HOME="$work/home" PAGER=cat
unset NIX_PATH

lines=()
report() { # STATUS FILE [REASON]
  local line="$1 $2${3:+: $3}"
  lines+=("$line")
  echo "$line"
}

for test in lib/tests/misc.nix lib/tests/systems.nix; do
  [ -e "$copy/$test" ] || continue
  if out=$(cd "$copy" && timeout 900 nix-instantiate --eval --strict "$test" 2>"$work/err"); then
    if [ "$out" = "[ ]" ]; then report PASS "$test"
    else report FAIL "$test" "failing cases: $(head -c 400 <<<"$out" | tr '\n' ' ')"; fi
  else
    report FAIL "$test" "$(grep -m1 -i 'error' "$work/err" | head -c 300)"
  fi
done

for test in lib/tests/modules.sh lib/tests/filesystem.sh lib/tests/sources.sh lib/fileset/tests.sh; do
  [ -e "$copy/$test" ] || continue
  if (cd "$copy" && TEST_LIB="$copy/lib" timeout 1800 bash "$test" >"$work/out" 2>&1 </dev/null); then
    # modules.sh ends with its counts ("407 Pass", "0 Fail"): kept on the PASS line.
    report PASS "$test" "$(grep -E '^[0-9]+ Pass$' "$work/out" | tail -1)"
  else
    report FAIL "$test" "$(grep -v '^\s*$' "$work/out" | tail -1 | head -c 300)"
  fi
  cp "$work/out" "$copy/$(basename "$test").log"
done

if [ -n "$results_file" ]; then
  printf '%s\n' "${lines[@]}" | LC_ALL=C sort >"$results_file"
fi
exit 0
