#!/usr/bin/env bash
# Records what Nix 2.8 (Debian's nix-bin) makes of each case of the derivation corpus
# (tests/derivations/cases/NNN-theme.nix, written by generate.py):
#   NNN.exp  the derivation's drvPath and the outPath of each output, as
#            `nix-instantiate --eval --strict` prints { drvPath; outPaths; }
#   NNN.drv  the bytes of its .drv file, as nix-instantiate writes it into /nix/store
#   NNN.err  instead, when Nix fails: the first line of its error, without "error: "
# With a directory argument the recordings go there instead (the e2e test compares them with
# the committed ones). Instantiating writes .drv files into /nix/store: nothing is built.
set -euo pipefail
cases=$(cd "$(dirname "$0")/../../tests/derivations/cases" && pwd)
out=${1:-$cases}
mkdir -p "$out"
command -v nix-instantiate >/dev/null || { echo "nix-instantiate is missing: apt-get install nix-bin" >&2; exit 1; }
record() {
  local cases=$1 out=$2 case=$3 name expr value drv
  name=$(basename "$case" .nix)
  rm -f "$out/$name.exp" "$out/$name.drv" "$out/$name.err"
  expr="let d = import ./$name.nix; in { drvPath = d.drvPath; outPaths = map (x: x.outPath) d.all; }"
  if value=$(cd "$cases" && nix-instantiate --read-write-mode --eval --strict --expr "$expr" 2>"$out/$name.stderr"); then
    printf '%s\n' "$value" > "$out/$name.exp"
    drv=$(sed -e 's/^{ drvPath = "\([^"]*\)".*/\1/' "$out/$name.exp")
    cp "$drv" "$out/$name.drv"
    chmod 644 "$out/$name.drv"
  else
    grep -m1 '^error: ' "$out/$name.stderr" | sed -e 's/^error: //' -e "s|$cases|@CASES@|g" > "$out/$name.err"
  fi
  rm -f "$out/$name.stderr"
}
export -f record
ls "$cases" | grep '\.nix$' | xargs -P 2 -I{} bash -c 'record "$1" "$2" "$3"' _ "$cases" "$out" {}
echo "recorded $(ls "$cases" | grep -c '\.nix$') cases into $out"
