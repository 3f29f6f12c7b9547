#!/usr/bin/env bash
# Times `makes eval --strict` against `nix-instantiate --eval --strict` on the same heavy
# expressions (this folder's *.nix), best of N runs each, checks that both print the same
# value, and prints a Markdown table with the ratio (Nix time / makes time; > 1 means makes is
# faster). Usage: bench/eval/run.sh [N]   (builds makes in release mode first)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${1:-5}
command -v nix-instantiate >/dev/null || { echo "nix-instantiate is missing: apt-get install nix-bin" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo build --release -q -p makes-cli --manifest-path "$root/Cargo.toml"
makes="$CARGO_TARGET_DIR/release/makes"
export NIX_REMOTE=dummy:// MAKES_STORE_DIR=${MAKES_STORE_DIR:-$(mktemp -d)}

best() { # best wall-clock milliseconds of $runs runs of "$@"
  local best=999999999 start end ms
  for _ in $(seq "$runs"); do
    start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N)
    ms=$(( (end - start) / 1000000 )); (( ms < best )) && best=$ms
  done
  echo "$best"
}

echo "| expression | nix-instantiate 2.8 (ms) | makes (ms) | ratio (Nix / makes) |"
echo "|---|---:|---:|---:|"
for f in "$here"/*.nix; do
  name=$(basename "$f" .nix)
  want=$(nix-instantiate --eval --strict "$f")
  got=$("$makes" eval --strict "$f")
  [ "$want" = "$got" ] || { echo "$name: makes printed '$got', Nix '$want'" >&2; exit 1; }
  nix_ms=$(best nix-instantiate --eval --strict "$f")
  makes_ms=$(best "$makes" eval --strict "$f")
  ratio=$(awk -v a="$nix_ms" -v b="$makes_ms" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }')
  echo "| $name | $nix_ms | $makes_ms | $ratio |"
done
