#!/usr/bin/env bash
# Checks out every project of tests/corpus/origins.tsv at its commit into $CORPUS_DIR/<id>, as
# a git repository (makes reads the files git tracks), and records what could not be had in
# $CORPUS_DIR/missing.tsv. The projects are other people's code: they stay out of this
# repository.
#
#   scripts/corpus/materialise.sh [--from DIR]... [--clone]
#
# --from DIR  where fetched copies are (repeatable; default /work/.mirror): DIR/OWNER+NAME/repo
#             (a git directory), DIR/OWNER+NAME or DIR/OWNER/NAME (a clone).
# --clone     clone from GitHub what no --from directory holds (needs the network), into
#             $CORPUS_DIR/.sources/OWNER+NAME.
#
# A subdirectory of the form FILE.md#N stands for the Nth ```nix block of that Markdown file
# (makes' documented examples): it becomes the makes.nix of a repository of its own at
# $CORPUS_DIR/<id>, the project root, with the files the example names and its page assumes
# the project has (tests/corpus/example-files/<id>/, ours, small).
#
# A subdirectory of the form DIR/makes.nix stands for that module of the repository, run from
# the repository's root as the repository's own CI runs it (makes' tests/<name>/makes.nix,
# whose paths are relative to the root: `m . /lintWithAjv/test`): the checkout gets one more
# commit whose root makes.nix imports that module only.
#
# It also unpacks nixpkgs' lib (nix-community/nixpkgs.lib at the commit expected-jobs.sh uses)
# into $CORPUS_DIR/.nixpkgs-lib/lib: the harness names it with `--option nixpkgs-lib`, so that
# projects pinning nixpkgs with fetchNixpkgs list and show offline, as their expected lists
# were made.
#
# CORPUS_DIR defaults to target/corpus of this checkout. A project already at its commit is
# left as it is, so running it again is cheap.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
corpus_dir=${CORPUS_DIR:-$root/target/corpus}
origins=$root/tests/corpus/origins.tsv
sources=()
clone=false
while (($#)); do
  case $1 in
    --from) sources+=("$2"); shift 2 ;;
    --clone) clone=true; shift ;;
    *) echo "materialise.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
((${#sources[@]})) || sources=(/work/.mirror)

mkdir -p "$corpus_dir"
missing=$corpus_dir/missing.tsv
printf '# id\trepository\tcommit\twhy\n' >"$missing"

# The git directory (or clone) holding REPOSITORY (owner/name), or nothing.
find_source() {
  local repo=$1 dir
  for dir in "${sources[@]}"; do
    for candidate in "$dir/${repo/\//+}/repo" "$dir/${repo/\//+}" "$dir/$repo"; do
      if git -C "$candidate" rev-parse --git-dir >/dev/null 2>&1; then
        echo "$candidate"
        return
      fi
    done
  done
  if $clone; then
    local into=$corpus_dir/.sources/${repo/\//+}
    if [[ ! -d $into ]]; then
      git clone --quiet --bare "https://github.com/$repo" "$into" >&2 || return 0
    fi
    echo "$into"
  fi
}

# Checks COMMIT of the git directory SRC out into DEST as a shallow repository of that one
# commit. The fetched copies lack their largest files (the fetch tool keeps no file of 4 MiB or
# more): such a file stays in git's index, so git still tracks it, but is absent from disk, and
# the project is recorded as partial in missing.tsv.
check_out() {
  local src=$1 commit=$2 dest=$3 id=$4 repo=$5 objects list absent=0 sha kind
  objects=$(cd "$src" && cd "$(git rev-parse --git-path objects)" && pwd)
  git init --quiet "$dest"
  echo "$objects" >"$dest/.git/objects/info/alternates"
  git -C "$dest" read-tree "$commit"
  list=$dest/.git/corpus-objects
  {
    echo "$commit"
    git -C "$dest" rev-parse "$commit^{tree}"
    git -C "$dest" ls-tree -r -t "$commit" | awk '$2 == "tree" { print $3 }'
  } >"$list"
  # One cat-file for all blobs: which ones the copy has.
  while read -r sha kind; do
    if [[ $kind == missing ]]; then
      absent=$((absent + 1))
    else
      echo "$sha" >>"$list"
    fi
  done < <(git -C "$dest" ls-files --stage | awk '$1 != "160000" { print $2 }' |
    git -C "$dest" cat-file --batch-check='%(objectname) %(objecttype)')
  git -C "$dest" checkout-index --all --quiet 2>/dev/null || true
  git -C "$dest" pack-objects --quiet "$dest/.git/objects/pack/pack" <"$list" >/dev/null
  rm "$list"
  rm "$dest/.git/objects/info/alternates"
  echo "$commit" >"$dest/.git/shallow"
  git -C "$dest" update-ref --no-deref HEAD "$commit"
  if ((absent)); then
    # Kept beside the checkout too, for the runs that find it already there.
    printf '%s\t%s\t%s\tpartial: %d tracked files are not in the fetched copy\n' \
      "$id" "$repo" "$commit" "$absent" | tee "$dest/.git/corpus-partial" >>"$missing"
  fi
}

# The Nth ```nix block of FILE at COMMIT of the git directory SRC, its fence's indentation
# removed. awk reads the file to its end: leaving early would kill `git show` with SIGPIPE on a
# long file, and pipefail with set -e would then stop the whole run half-way.
extract_block() {
  local src=$1 commit=$2 file=$3 n=$4
  git -C "$src" show "$commit:$file" | awk -v n="$n" '
    done { next }
    /^[ \t]*```nix[ \t]*$/ && !inside { count++; if (count == n) { inside = 1; match($0, /^[ \t]*/); indent = RLENGTH; next } }
    inside && /^[ \t]*```[ \t]*$/ { done = 1; next }
    inside { print substr($0, indent + 1) }'
}

# A git repository at DEST whose one commit holds the documented example as makes.nix.
check_out_example() {
  local src=$1 commit=$2 block=$3 dest=$4
  git init --quiet "$dest"
  extract_block "$src" "$commit" "${block%#*}" "${block##*#}" >"$dest/makes.nix"
  local files=$root/tests/corpus/example-files/$(basename "$dest")
  [[ -d $files ]] && cp -R "$files/." "$dest/"
  git -C "$dest" add --all
  commit_as_corpus "$dest" "$block of fluidattacks/makes at $commit"
  origin_of "$(basename "$dest")" "$commit" "$block" >"$dest/.git/corpus-origin"
}

# What a materialised project is made of: COMMIT, SUBDIR and, for a documented example, a
# digest of its files of ours (so that changing them makes it again).
origin_of() {
  local id=$1 commit=$2 subdir=$3 files=$root/tests/corpus/example-files/$1
  if [[ -d $files ]]; then
    echo "$commit $subdir $(cd "$files" && find . -type f -print0 | LC_ALL=C sort -z |
      xargs -0 sha256sum | sha256sum | cut -c1-16)"
  else
    echo "$commit $subdir"
  fi
}

commit_as_corpus() {
  git -C "$1" -c user.name=corpus -c user.email=corpus@localhost -c commit.gpgsign=false \
    commit --quiet -m "$2"
}

# The checkout at DEST made a project of the module MODULE (DIR/makes.nix) alone, from the
# repository's root: one more commit whose makes.nix imports it.
module_from_root() {
  local dest=$1 commit=$2 module=$3
  printf '# The module %s of this repository, alone, from its root (the corpus).\n{ imports = [ ./%s ]; }\n' \
    "$module" "$module" >"$dest/makes.nix"
  git -C "$dest" add makes.nix
  commit_as_corpus "$dest" "$module of the repository at $commit, from its root"
  echo "$commit $module" >"$dest/.git/corpus-origin"
}

nixpkgs_lib_commit=de42d44212d207476489bce163375d8306a26d59
if [[ ! -f $corpus_dir/.nixpkgs-lib/lib/default.nix ]]; then
  lib_src=$(find_source nix-community/nixpkgs.lib)
  if [[ -n $lib_src ]] && git -C "$lib_src" cat-file -e "$nixpkgs_lib_commit^{commit}" 2>/dev/null; then
    mkdir -p "$corpus_dir/.nixpkgs-lib"
    git -C "$lib_src" archive "$nixpkgs_lib_commit" lib | tar -x -C "$corpus_dir/.nixpkgs-lib"
  else
    printf '.nixpkgs-lib\tnix-community/nixpkgs.lib\t%s\tno fetched copy: fetchNixpkgs sets need the network\n' \
      "$nixpkgs_lib_commit" >>"$missing"
  fi
fi

materialised=0
while IFS=$'\t' read -r id repo commit subdir _release; do
  [[ -z $id || $id == \#* ]] && continue
  dest=$corpus_dir/$id
  # A module project (DIR/makes.nix) has one commit more than COMMIT: only its origin file
  # says it is done (a plain checkout of COMMIT, from before, is made again).
  if { [[ $subdir != */makes.nix ]] && [[ "$(git -C "$dest" rev-parse HEAD 2>/dev/null)" == "$commit" ]]; } ||
    [[ "$(cat "$dest/.git/corpus-origin" 2>/dev/null)" == "$(origin_of "$id" "$commit" "$subdir")" ]]; then
    [[ -f $dest/.git/corpus-partial ]] && cat "$dest/.git/corpus-partial" >>"$missing"
    materialised=$((materialised + 1))
    continue
  fi
  src=$(find_source "$repo")
  if [[ -z $src ]]; then
    printf '%s\t%s\t%s\tno fetched copy of the repository\n' "$id" "$repo" "$commit" >>"$missing"
    continue
  fi
  if ! git -C "$src" cat-file -e "$commit^{commit}" 2>/dev/null; then
    # A clone made earlier may lack a commit that is on no branch: ask GitHub for it.
    $clone && git -C "$src" fetch --quiet origin "$commit" 2>/dev/null || true
  fi
  if ! git -C "$src" cat-file -e "$commit^{commit}" 2>/dev/null; then
    printf '%s\t%s\t%s\tthe commit is not in %s\n' "$id" "$repo" "$commit" "$src" >>"$missing"
    continue
  fi
  rm -rf "$dest"
  if [[ $subdir == *.md#* ]]; then
    check_out_example "$src" "$commit" "$subdir" "$dest"
    subdir=.
  else
    check_out "$src" "$commit" "$dest" "$id" "$repo"
    if [[ $subdir == */makes.nix ]]; then
      module_from_root "$dest" "$commit" "$subdir"
      subdir=.
    fi
  fi
  if [[ ! -f $dest/$subdir/makes.nix ]]; then
    printf '%s\t%s\t%s\tno makes.nix in %s\n' "$id" "$repo" "$commit" "$subdir" >>"$missing"
    continue
  fi
  materialised=$((materialised + 1))
done <"$origins"

absent=$(grep -vc '^#' "$missing" || true)
echo "materialised $materialised projects in $corpus_dir; $absent missing or partial (see $missing)"
