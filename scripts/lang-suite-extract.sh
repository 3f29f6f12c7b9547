#!/usr/bin/env bash
# Extracts NixOS/nix's language test suite (Nix's own code, never committed here) from a git
# checkout or bare mirror of NixOS/nix into target/lang-suite/<tag>/lang/, for scripts/lang-suite.sh
# (the folder is named lang because the suite's .flags files name their files lang/...).
#   bash scripts/lang-suite-extract.sh NIX_GIT_DIR [TAG]
# TAG defaults to 2.8.1, the release closest to the Nix 2.8 makes follows; there the suite is
# tests/lang/, in later releases tests/functional/lang/ (both are found). Prints the folder.
set -euo pipefail
repo=${1:?usage: lang-suite-extract.sh NIX_GIT_DIR [TAG]}
tag=${2:-2.8.1}
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/target/lang-suite/$tag/lang"
suite=
for candidate in tests/lang tests/functional/lang; do
  if git -C "$repo" cat-file -e "$tag:$candidate" 2>/dev/null; then
    suite=$candidate
    break
  fi
done
[ -n "$suite" ] || { echo "no language suite at $tag in $repo" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
# git archive keeps the suite's files as they are (binary-data included, modes kept).
git -C "$repo" archive --format=tar "$tag" "$suite" | tar -x -C "$out" --strip-components="$(tr -cd / <<<"$suite/" | wc -c)"
echo "$out"
