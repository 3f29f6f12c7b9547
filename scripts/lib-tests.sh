#!/usr/bin/env bash
# Runs nixpkgs' pure lib tests on a copy of nixpkgs' lib (scripts/lib-tests-extract.sh) with
# makes, as nixpkgs' lib/tests/test-with-nix.nix runs them with Nix:
#   lib/tests/misc.nix, systems.nix, fetchers.nix  `nix-instantiate --eval --strict` prints [ ]
#   lib -A version                                 `nix-instantiate --eval` succeeds
#   lib/path/tests/unit.nix                        succeeds (with --argstr libpath <copy>/lib)
#   lib/tests/modules.sh, filesystem.sh, sources.sh, debug.sh, network.sh,
#   lib/fileset/tests.sh, lib/path/tests/prop.sh  exit 0, with TEST_LIB=<copy>/lib
# (each where the copy has it: the lib of 2022 has fewer). For makes, a `nix-instantiate` shim
# (scripts/lib-tests-nix-instantiate.sh) that calls `makes eval` comes first on PATH, and a
# `nix` shim (scripts/lib-tests-nix.sh) for the `nix eval --impure --raw --expr` of 2022's
# sources.sh; `nix-store` and `nix-build` are shims that fail (a test needing them fails under
# makes rather than using the real Nix). The shell tests read the store paths an evaluation
# prints (`toSource`, `cleanSource`): under makes they run inside `makes exec`, which shows
# makes' store at /nix/store, where those paths point, as Nix's runner gives them Nix's store.
# Older lib tests import all of nixpkgs for two `hello` checks: a `default.nix` beside lib/
# gives them the stand-in package set (fixtures/nix-packages/stand-in-nixpkgs), for Nix and
# makes alike.
#
#   bash scripts/lib-tests.sh [--nix] [--results FILE] COPY_DIR
#
# --nix runs the real Nix instead: the shell tests set up as test-with-nix.nix sets them up
# (its own store, state and configuration under a scratch directory, NIX_STORE_DIR, ...,
# with the nix-command feature on), the .nix evaluations with no store (NIX_REMOTE=dummy://).
# Prints one line per test, `PASS test` or `FAIL test: reason`, and writes them to --results
# FILE (sorted); each shell test's output is kept beside the copy as NAME.log. prop.sh's
# random strings come from a fixed seed ($LIB_TESTS_SEED, default 1), so that a run can be
# repeated. Exits 0 whatever the results; 2 on bad usage. The makes binary is $MAKES, else
# `makes` on PATH, else target/{release,debug}.
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
# Store entries are read-only, as in any store.
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
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
  ln -s "$root/scripts/lib-tests-nix.sh" "$work/bin/nix"
  for tool in nix-store nix-build; do
    printf '#!/bin/sh\necho "%s is not available in the makes run of the lib tests" >&2\nexit 127\n' "$tool" >"$work/bin/$tool"
    chmod +x "$work/bin/$tool"
  done
  export PATH="$work/bin:$PATH" MAKES_STORE_DIR="$work/store" XDG_CACHE_HOME="$work/cache"
  shell_runner=("$makes" exec)
else
  # The shell tests write to the store (--read-write-mode): as test-with-nix.nix runs them,
  # with Nix's store, state and settings in the scratch directory. The evaluations of .nix
  # files keep the default store directory, as the Nix of their time evaluated them (the lib
  # of 2022's misc.nix expects /nix/store).
  test_root="$work/nix-test"
  shell_runner=(env NIX_REMOTE= TEST_ROOT="$test_root" NIX_BUILD_HOOK= NIX_CONF_DIR="$test_root/etc"
    NIX_LOCALSTATE_DIR="$test_root/var" NIX_LOG_DIR="$test_root/var/log/nix"
    NIX_STATE_DIR="$test_root/var/nix" NIX_STORE_DIR="$test_root/store")
  mkdir -p "$test_root/etc"
  printf 'experimental-features = nix-command\nbuild-users-group =\n' >"$test_root/etc/nix.conf"
  "${shell_runner[@]}" nix-store --init
  export USER="${USER:-$(id -un 2>/dev/null || echo root)}" NIX_REMOTE=dummy://
fi
export HOME="$work/home" PAGER=cat
unset NIX_PATH

lines=()
report() { # STATUS FILE [REASON]
  local line="$1 $2${3:+: $3}"
  lines+=("$line")
  echo "$line"
}

# A test that evaluates to a list of failures: `[ ]` is a pass.
for test in lib/tests/misc.nix lib/tests/systems.nix lib/tests/fetchers.nix; do
  [ -e "$copy/$test" ] || continue
  if out=$(cd "$copy" && timeout 900 nix-instantiate --eval --strict "$test" 2>"$work/err"); then
    if [ "$out" = "[ ]" ]; then report PASS "$test"
    else report FAIL "$test" "failing cases: $(head -c 400 <<<"$out" | tr '\n' ' ')"; fi
  else
    report FAIL "$test" "$(grep -m1 -i 'error' "$work/err" | head -c 300)"
  fi
done

# Evaluations that must succeed: lib alone (test-with-nix.nix's `lib.version` check, for the
# lib of 2026 only), and lib.path's unit tests.
if [ -e "$copy/lib/tests/test-with-nix.nix" ]; then
  if (cd "$copy" && timeout 900 nix-instantiate lib -A version --eval >/dev/null 2>"$work/err"); then
    report PASS "lib -A version"
  else
    report FAIL "lib -A version" "$(grep -m1 -i 'error' "$work/err" | head -c 300)"
  fi
fi
test=lib/path/tests/unit.nix
if [ -e "$copy/$test" ]; then
  if (cd "$copy" && timeout 900 nix-instantiate --eval --show-trace --argstr libpath "$copy/lib" \
    "$test" >/dev/null 2>"$work/err"); then
    report PASS "$test"
  else
    report FAIL "$test" "$(grep -m1 -i 'error' "$work/err" | head -c 300)"
  fi
fi

for test in lib/tests/modules.sh lib/tests/filesystem.sh lib/tests/sources.sh lib/tests/debug.sh \
  lib/tests/network.sh lib/fileset/tests.sh lib/path/tests/prop.sh; do
  [ -e "$copy/$test" ] || continue
  args=()
  [ "$test" = lib/path/tests/prop.sh ] && args=("${LIB_TESTS_SEED:-1}")
  if (cd "$copy" && TEST_LIB="$copy/lib" timeout 1800 "${shell_runner[@]}" bash "$test" "${args[@]}" \
    >"$work/out" 2>&1 </dev/null); then
    # modules.sh ends with its counts ("407 Pass", "0 Fail"): kept on the PASS line.
    report PASS "$test" "$(grep -E '^[0-9]+ Pass$' "$work/out" | tail -1)"
  else
    # The failing case's own line when the test names it, else the last line.
    reason=$(grep -m1 -E '^test case (at .*)?failed' "$work/out" || grep -v '^\s*$' "$work/out" | tail -1)
    report FAIL "$test" "$(head -c 300 <<<"$reason")"
  fi
  cp "$work/out" "$copy/$(basename "$test").log"
done

if [ -n "$results_file" ]; then
  printf '%s\n' "${lines[@]}" | LC_ALL=C sort >"$results_file"
fi
exit 0
