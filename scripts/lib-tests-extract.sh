#!/usr/bin/env bash
# Copies nixpkgs' lib (from a git checkout or bare mirror of nix-community/nixpkgs.lib or of
# nixpkgs, at REV) into target/lib-tests/REV/, for scripts/lib-tests.sh. Nixpkgs' code: never
# committed here. Prints the folder.
#   bash scripts/lib-tests-extract.sh GIT_DIR [REV]
set -euo pipefail
repo=${1:?usage: lib-tests-extract.sh GIT_DIR [REV]}
rev=${2:-HEAD}
root="$(cd "$(dirname "$0")/.." && pwd)"
name=$(git -C "$repo" rev-parse --short=8 "$rev^{commit}")
out="$root/target/lib-tests/$name"
rm -rf "$out"
mkdir -p "$out"
git -C "$repo" archive --format=tar "$rev" lib | tar -x -C "$out"
echo "$out"
