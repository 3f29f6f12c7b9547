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
# Usage: bench/eval/gen/generate.sh OUT_DIR   (exits 1 without the lib copy)
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

# The 900-job project: 700 `jobs` made by makeScript and 200 `envVars`, as a makes.nix of
# makes 24.12 writes them. makes lists it with `makes --list`; Nix runs makes' own evaluator
# (src/evaluator of fluidattacks/makes 24.12, from MAKES_GIT) on it, with nixpkgs' lib and
# lazy dummy packages standing in for nixpkgs (scripts/corpus/stand-in-nixpkgs.nix).
makes_git=${MAKES_GIT:-/work/.mirror/fluidattacks+makes/repo}
project=$out/makes-900
mkdir -p "$project"
cat >"$project/makes.nix" <<'NIX'
{ makeScript, ... }: {
  jobs = builtins.listToAttrs (builtins.genList (i: {
    name = "/job/${toString i}";
    value = makeScript {
      name = "job-${toString i}";
      entrypoint = "echo job ${toString i}";
    };
  }) 700);
  envVars = builtins.listToAttrs (builtins.genList (i: {
    name = "vars${toString i}";
    value = { INDEX = toString i; NAME = "vars-${toString i}"; };
  }) 200);
}
NIX
git -C "$project" init -q 2>/dev/null && git -C "$project" add makes.nix
if git -C "$makes_git" rev-parse -q --verify "24.12^{commit}" >/dev/null 2>&1; then
  makes_src=$out/makes-24.12
  if [[ ! -f $makes_src/src/evaluator/default.nix ]]; then
    mkdir -p "$makes_src/stand-in-nixpkgs"
    git -C "$makes_git" archive 24.12 src | tar -x -C "$makes_src"
    cp "$here/../../../scripts/corpus/stand-in-nixpkgs.nix" "$makes_src/stand-in-nixpkgs/stand-in.nix"
    echo "{ nixpkgs = $makes_src/stand-in-nixpkgs; }" >"$makes_src/src/nix/sources.nix"
    # Every name makes' source and the project select: the stand-in's sets must have them.
    find "$makes_src/src" "$project" -name '*.nix' -print0 | xargs -0 grep -ohE "[A-Za-z_][A-Za-z0-9_'-]*" |
      LC_ALL=C sort -u | jq -Rnc '[inputs]' >"$makes_src/stand-in-nixpkgs/names.json"
    echo "import ./stand-in.nix { libSrc = $lib; names = builtins.fromJSON (builtins.readFile ./names.json); }" \
      >"$makes_src/stand-in-nixpkgs/default.nix"
  fi
  cat >"$out/makes_900_jobs.nix" <<NIX
builtins.attrNames (import $makes_src/src/evaluator/default.nix {
  makesSrc = "$makes_src";
  projectSrc = "$project";
  attrPaths = builtins.toJSON { attrs = [ ]; };
}).config.outputs
NIX
else
  echo "generate.sh: no fluidattacks/makes copy with tag 24.12 at $makes_git (set MAKES_GIT): no 900-job row" >&2
fi
