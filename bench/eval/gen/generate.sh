#!/usr/bin/env bash
# Writes the generated rows of bench/eval into OUT_DIR (never committed): they need nixpkgs'
# lib, exported from a fetched copy of nix-community/nixpkgs.lib (NIXPKGS_LIB_GIT, default
# /work/.mirror/nix-community+nixpkgs.lib/repo) at the commit below, the last of May 2023 (its
# lib/tests/misc.nix runs on Nix 2.8; later ones call builtins Nix 2.8 lacks).
#   - eval_modules_2000.nix, eval_modules_10000.nix: eval_modules.nix with N options;
#   - lib_misc_tests.nix: nixpkgs' lib/tests/misc.nix (its list of failing tests, empty when
#     all pass), with `derivation` replaced by a function that gives the set a `drvPath`: makes'
#     evaluator does not create derivations yet, and both sides then run the same code;
#   - makes_900_jobs.nix: makes' module system (nix/modules, as makes evaluates a makes.nix)
#     over a generated project of 900 jobs, the list of job names printed.
# Usage: bench/eval/gen/generate.sh OUT_DIR   (prints nothing; exits 1 without the lib copy)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
lib_git=${NIXPKGS_LIB_GIT:-/work/.mirror/nix-community+nixpkgs.lib/repo}
lib_commit=75aeea15ee4971c52c56bbbee84066e74d53d858
git -C "$lib_git" rev-parse -q --verify "$lib_commit^{commit}" >/dev/null 2>&1 || {
  echo "generate.sh: no nix-community/nixpkgs.lib copy with $lib_commit at $lib_git (set NIXPKGS_LIB_GIT)" >&2
  exit 1
}
mkdir -p "$out"
if [[ ! -f $out/nixpkgs/lib/default.nix ]]; then
  rm -rf "$out/nixpkgs"
  mkdir -p "$out/nixpkgs"
  git -C "$lib_git" archive "$lib_commit" lib | tar -x -C "$out/nixpkgs"
  # misc.nix imports `../..` (nixpkgs) for one package name.
  echo '{ ... }: { hello = "/nix/store/00000000000000000000000000000000-hello"; }' >"$out/nixpkgs/default.nix"
  sed -i 's/\bderivation {/(d: d \/\/ { type = "derivation"; drvPath = "\/nix\/store\/00000000000000000000000000000000-${d.name}.drv"; outPath = "\/nix\/store\/00000000000000000000000000000000-${d.name}"; }) {/' \
    "$out/nixpkgs/lib/tests/misc.nix"
fi
lib=$out/nixpkgs/lib
for n in 2000 10000; do
  echo "import $here/eval_modules.nix { lib = import $lib; n = $n; }" >"$out/eval_modules_$n.nix"
done
echo "import $lib/tests/misc.nix" >"$out/lib_misc_tests.nix"
