#!/usr/bin/env bash
# Records what the real Nix evaluator (Debian's nix-bin, Nix 2.8) prints for each case:
# tests/eval/cases/NAME.nix -> NAME.exp (stdout of nix-instantiate --eval --strict), or, when
# Nix fails, NAME.err (the first line of its error, without "error: "). Needs no daemon.
# Integer overflow is left out on purpose: Nix 2.8 wraps, current Nix (and makes) report it.
set -euo pipefail
cd "$(dirname "$0")/cases"
command -v nix-instantiate >/dev/null || { echo "nix-instantiate is missing: apt-get install nix-bin" >&2; exit 1; }
for case in *.nix; do
  name=${case%.nix}
  rm -f "$name.exp" "$name.err"
  if out=$(NIX_REMOTE=dummy:// nix-instantiate --eval --strict "$case" 2>/tmp/makes-eval-err); then
    printf '%s\n' "$out" > "$name.exp"
  else
    # The cases directory differs between checkouts: recorded as @CASES@.
    grep -m1 '^error: ' /tmp/makes-eval-err | sed -e 's/^error: //' -e "s|$PWD|@CASES@|g" > "$name.err"
  fi
done
echo "recorded $(ls *.nix | wc -l) cases"
