#!/usr/bin/env bash
# Records what the real Nix evaluator (Debian's nix-bin, Nix 2.8) prints for each case:
# tests/eval/cases/[THEME/]NAME.nix -> NAME.exp (stdout of nix-instantiate --eval --strict), or,
# when Nix fails, NAME.err (the first line of its error, without "error: "). Needs no daemon.
# Files deeper than one theme folder are helpers (imported or read by cases), not cases.
# cases/current-nix/ is left alone: there makes follows current Nix rather than 2.8 (integer
# overflow is an error, newer built-ins) and its recordings are written by hand.
set -euo pipefail
cd "$(dirname "$0")/cases"
command -v nix-instantiate >/dev/null || { echo "nix-instantiate is missing: apt-get install nix-bin" >&2; exit 1; }
record() {
  local case=$1 dir name out
  dir=$(cd "$(dirname "$case")" && pwd)
  name=$(basename "$case" .nix)
  rm -f "$dir/$name.exp" "$dir/$name.err"
  if out=$(cd "$dir" && NIX_REMOTE=dummy:// nix-instantiate --eval --strict "$name.nix" 2>"$dir/$name.stderr"); then
    printf '%s\n' "$out" > "$dir/$name.exp"
  else
    # The cases directory differs between checkouts: recorded as @CASES@.
    grep -m1 '^error: ' "$dir/$name.stderr" | sed -e 's/^error: //' -e "s|$dir|@CASES@|g" > "$dir/$name.err"
  fi
  rm -f "$dir/$name.stderr"
}
export -f record
{ ls ./*.nix 2>/dev/null; ls ./*/*.nix; } | grep -v '^\./current-nix/' | xargs -P 2 -I{} bash -c 'record "$1"' _ {}
echo "recorded $({ ls ./*.nix 2>/dev/null; ls ./*/*.nix; } | grep -vc '^\./current-nix/') cases"
