#!/usr/bin/env bash
# Records Nix 2.8's answer for the cases named on the command line (paths under cases/), as
# regenerate.sh does for all of them.
set -euo pipefail
cd "$(dirname "$0")/cases"
for case in "$@"; do
  dir=$(cd "$(dirname "$case")" && pwd)
  name=$(basename "$case" .nix)
  rm -f "$dir/$name.exp" "$dir/$name.err"
  if out=$(cd "$dir" && NIX_REMOTE=dummy:// nix-instantiate --eval --strict "$name.nix" 2>"$dir/$name.stderr"); then
    printf '%s\n' "$out" > "$dir/$name.exp"
  else
    grep -m1 '^error: ' "$dir/$name.stderr" | sed -e 's/^error: //' -e "s|$dir|@CASES@|g" > "$dir/$name.err"
  fi
  rm -f "$dir/$name.stderr"
done
