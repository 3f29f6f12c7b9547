#!/usr/bin/env bash
# Regenerates tests/corpus/expected/<id>.jobs: the jobs makes itself lists for each project of
# the corpus, found by running makes' OWN evaluator (src/evaluator/default.nix of the release
# the project pins, else 24.12) with Nix (2.8 here) on the materialised project, offline.
#
#   scripts/corpus/expected-jobs.sh [ID...]
#
# makes gets nixpkgs from src/nix/sources.nix; in a scratch copy of makes' source that file
# and fetchNixpkgs give scripts/corpus/stand-in-nixpkgs.nix instead: nixpkgs' real lib (the
# nix-community/nixpkgs.lib commit below) and lazy dummy packages. The list is what makes'
# CLI prints (src/cli/main/cli.py): `config.config.outputs`, the attribute names of
# `config.outputs` (`config.config.outputs` in 24.x, `config.attrs` in 21.x are that list),
# without `__all__` and `/secretsForAwsFromEnv/__default__`. Where makes'
# evaluator fails, its first error goes to tests/corpus/expected/<id>.why instead.
#
# Needs: the corpus materialised (materialise.sh), nix-instantiate, fetched copies of
# fluidattacks/makes and nix-community/nixpkgs.lib (MIRROR_DIR, default /work/.mirror).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
corpus_dir=${CORPUS_DIR:-$root/target/corpus}
mirror_dir=${MIRROR_DIR:-/work/.mirror}
expected=$root/tests/corpus/expected
nixpkgs_lib_commit=de42d44212d207476489bce163375d8306a26d59
default_release=24.12
scratch=${SCRATCH_DIR:-$root/target/corpus-expected}

git_dir() { # OWNER/NAME -> its git directory under MIRROR_DIR
  local dir
  for dir in "$mirror_dir/${1/\//+}/repo" "$mirror_dir/${1/\//+}" "$mirror_dir/$1"; do
    git -C "$dir" rev-parse --git-dir >/dev/null 2>&1 && { echo "$dir"; return; }
  done
  echo "expected-jobs.sh: no fetched copy of $1 in $mirror_dir" >&2
  exit 1
}
makes_git=$(git_dir fluidattacks/makes)
lib_git=$(git_dir nix-community/nixpkgs.lib)
command -v nix-instantiate >/dev/null || {
  echo "expected-jobs.sh: nix-instantiate is missing (bash scripts/install-deps.sh nix-bin)" >&2
  exit 1
}

mkdir -p "$scratch" "$expected"
if [[ ! -f $scratch/nixpkgs-lib/lib/default.nix ]]; then
  mkdir -p "$scratch/nixpkgs-lib"
  git -C "$lib_git" archive "$nixpkgs_lib_commit" lib | tar -x -C "$scratch/nixpkgs-lib"
fi

# Makes the copy of makes' source in DIR take its nixpkgs from the stand-in in STAND_IN.
use_stand_in() {
  local dir=$1 stand_in=$2
  cat >"$dir/src/nix/sources.nix" <<EOF
{ nixpkgs = $stand_in; }
EOF
  if [[ -f $dir/src/args/fetch-nixpkgs/default.nix ]]; then
    cat >"$dir/src/args/fetch-nixpkgs/default.nix" <<EOF
_: { overlays ? [ ], ... }: import $stand_in { inherit overlays; }
EOF
  fi
}

# A scratch copy of project ID (its files as checked out, without .git), made to stay offline
# as makes' CLI would have been with the network: a makes.lock.nix pinning makesSrc names the
# scratch copy of that very release instead (projects read the lock themselves too), and where
# the project is makes itself, its own source takes the stand-in nixpkgs as the release does.
prepare_project() {
  local id=$1 repo=$2 makes=$3 dir=$scratch/projects/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$corpus_dir/$id" && tar -c --exclude=./.git .) | tar -x -C "$dir"
  local lock
  while IFS= read -r lock; do
    grep -q makesSrc "$lock" && echo "{ makesSrc = $makes; }" >"$lock"
  done < <(find "$dir" -name makes.lock.nix -type f)
  if [[ $repo == fluidattacks/makes && -f $dir/src/nix/sources.nix ]]; then
    use_stand_in "$dir" "$makes/stand-in-nixpkgs"
  fi
  echo "$dir"
}

# Names that selections and `inherit`s use in Nix files under the given directories: the
# names the stand-in's sets must have. Bare words too (`with pkgs; [ jq ]` names packages
# without a dot), which only adds names no one asks for.
gather_names() {
  find "$@" -type f -name '*.nix' -not -path '*/.git/*' -print0 |
    xargs -0 -r grep -ohE "[A-Za-z_][A-Za-z0-9_'-]*" |
    grep -vxE 'let|in|if|then|else|with|inherit|rec|assert|or|true|false|null|import' |
    LC_ALL=C sort -u
}

# A scratch copy of makes at RELEASE (a tag or commit) whose nixpkgs is the stand-in for the
# project whose names are in NAMES; prints its path.
prepare_makes() {
  local release=$1 names=$2 dir=$scratch/makes-$1
  if [[ ! -f $dir/src/evaluator/default.nix ]]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    git -C "$makes_git" archive "$release" src | tar -x -C "$dir"
    mkdir -p "$dir/stand-in-nixpkgs"
    cp "$root/scripts/corpus/stand-in-nixpkgs.nix" "$dir/stand-in-nixpkgs/stand-in.nix"
    use_stand_in "$dir" "$dir/stand-in-nixpkgs"
  fi
  cat >"$dir/stand-in-nixpkgs/default.nix" <<EOF
import ./stand-in.nix { libSrc = $scratch/nixpkgs-lib/lib; names = builtins.fromJSON (builtins.readFile $names); }
EOF
  echo "$dir"
}

# The main.nix files of the project, as makes' CLI finds them: Python's glob("**/main.nix")
# over the checkout of HEAD, which leaves out hidden directories.
attr_paths() {
  git -C "$1" ls-files -- '*main.nix' | grep -E '(^|/)main\.nix$' | grep -vE '(^|/)\.' |
    LC_ALL=C sort | jq -Rnc '{attrs: [inputs | "/" + .]}'
}

# The expression that calls makes' evaluator, with the arguments its CLI passes: each release
# takes a few of makesSrc, projectSrc, attrPaths (24.x), makesExecutionId (21.x), flakeInputs.
evaluation() {
  cat <<EOF
{ makesSrc, projectSrc, attrPaths }:
let
  evaluator = import $1/src/evaluator/default.nix;
  given = {
    inherit makesSrc projectSrc attrPaths;
    makesExecutionId = "corpus";
    flakeInputs = { };
  };
in builtins.attrNames
  (evaluator (builtins.intersectAttrs (builtins.functionArgs evaluator) given)).config.outputs
EOF
}

# Runs makes' evaluator on one project; writes <id>.jobs or <id>.why.
expect_project() {
  local id=$1 repo=$2 subdir=$3 release=${4:-$default_release}
  if [[ ! -f $corpus_dir/$id/$subdir/makes.nix ]]; then
    echo "$id: not materialised, skipped" >&2
    return
  fi
  local names=$scratch/$id.names.json
  { gather_names "$corpus_dir/$id"; gather_names "$(dirname "$(prepare_makes "$release" /dev/null)")"; } |
    LC_ALL=C sort -u | jq -Rnc '[inputs]' >"$names"
  local makes project
  makes=$(prepare_makes "$release" "$names")
  project=$(prepare_project "$id" "$repo" "$makes")/$subdir
  local out=$scratch/$id.out err=$scratch/$id.err status=0
  # No network (a fetch would fail rather than differ), a store of its own (path literals
  # are copied there, not into /nix/store), no <nixpkgs> from the caller.
  env -i PATH="$PATH" HOME="$scratch/home" NIX_PATH= \
    unshare --net -- timeout 600 nix-instantiate --store "$scratch/store" --read-write-mode --eval --strict --json \
    --option build-users-group '' --option substituters '' \
    --show-trace --argstr makesSrc "$makes" --argstr projectSrc "$project" \
    --argstr attrPaths "$(attr_paths "$corpus_dir/$id/$subdir")" --expr "$(evaluation "$makes")" \
    >"$out" 2>"$err" || status=$?
  rm -f "$expected/$id.jobs" "$expected/$id.why"
  if ((status == 0)); then
    jq -r '.[] | select(. != "__all__" and . != "/secretsForAwsFromEnv/__default__")' "$out" |
      LC_ALL=C sort >"$expected/$id.jobs"
    echo "$id: $(wc -l <"$expected/$id.jobs") jobs (makes $release)"
  else
    {
      echo "makes' evaluator (release $release, nixpkgs stand-in) failed on this project:"
      # Nix's message (up to the blank line before its trace), scratch paths made relative.
      # awk reads to the end: a reader leaving early would kill sed with SIGPIPE.
      sed "s|$makes/|<makes>/|g; s|$scratch/projects/$id/|<project>/|g" "$err" |
        awk '/^error:/ { inside = 1 } inside && /^[[:space:]]*$/ { done = 1 } inside && !done && ++n <= 8'
    } >"$expected/$id.why"
    echo "$id: evaluator failed (makes $release): see tests/corpus/expected/$id.why"
  fi
}

wanted=" $* "
while IFS=$'\t' read -r id repo _commit subdir release; do
  [[ -z $id || $id == \#* ]] && continue
  [[ $wanted == "  " || $wanted == *" $id "* ]] || continue
  # A documented example is a project of its own; a module (DIR/makes.nix) is imported by the
  # checkout's root makes.nix.
  [[ $subdir == *.md#* || $subdir == */makes.nix ]] && subdir=.
  expect_project "$id" "$repo" "$subdir" "$release"
done <"$root/tests/corpus/origins.tsv"
