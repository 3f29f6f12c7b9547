#!/usr/bin/env bash
# Times `makes eval --strict` against `nix-instantiate --eval --strict` on the same heavy
# expressions, best of N runs each, checks that both print the same value, and prints a
# Markdown table: CPU time (user + system, which load from other work disturbs less than wall
# clock), wall clock, and peak RSS of each, with the ratios Nix / makes (> 1: makes is faster;
# RSS ratio > 1: makes uses less memory).
#
# The rows: this folder's *.nix, and those bench/eval/gen/generate.sh writes when a copy of
# nix-community/nixpkgs.lib (and of fluidattacks/makes, for the 900-job project) is at hand:
# evalModules with 2,000 and 10,000 options, nixpkgs' lib/tests/misc.nix, and makes' own
# evaluator listing a 900-job project (`makes --list` on the makes side).
#
# Usage: bench/eval/run.sh [N] [ROW...]   (builds makes in release mode first)
#   MAKES_BEFORE=/path/to/makes adds that binary's columns (an older build, same run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${1:-5}
shift || true
wanted=" $* "
command -v nix-instantiate >/dev/null || { echo "nix-instantiate is missing: apt-get install nix-bin" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo build --release -q -p makes-cli --manifest-path "$root/Cargo.toml"
makes="$CARGO_TARGET_DIR/release/makes"
before=${MAKES_BEFORE:-}
work=$(mktemp -d /tmp/makes-bench-eval.XXXXXX)
trap 'rm -rf "$work"' EXIT
export NIX_REMOTE=dummy:// MAKES_STORE_DIR=${MAKES_STORE_DIR:-$work/makes-store}
gen=$CARGO_TARGET_DIR/bench-eval
bash "$here/gen/generate.sh" "$gen" || echo "(generated rows left out)" >&2

measure() { # "$@" run $runs times: prints the best CPU ms, best wall ms, least peak RSS KiB
  local cpu=999999999 wall=999999999 rss=999999999 c w r
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%U %S %e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || {
      echo "failed: $*" >&2; cat "$work/err" >&2; exit 1
    }
    read -r c w r < <(awk '{ printf "%d %d %d\n", ($1 + $2) * 1000, $3 * 1000, $4 }' "$work/time")
    ((c < cpu)) && cpu=$c; ((w < wall)) && wall=$w; ((r < rss)) && rss=$r
  done
  echo "$cpu $wall $rss"
}
# CPU times come in the 10 ms ticks of the kernel's accounting: a run shorter than one tick
# reads 0, and the ratio is then only a lower bound (a over one tick).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "> %.2f", a / 10 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# The 900-job row: Nix runs makes' own evaluator (with a store of its own, for toFile), makes
# lists the project; both give the job names, compared one per line.
nix_jobs=(env NIX_PATH= nix-instantiate --store "$work/nix-store" --read-write-mode --eval --strict
  --json --option build-users-group '' --option substituters '')

rows=()
for f in "$here"/*.nix "$gen"/eval_modules_2000.nix "$gen"/eval_modules_10000.nix "$gen"/lib_misc_tests.nix "$gen"/makes_900_jobs.nix; do
  [[ -f $f ]] && rows+=("$f")
done

header="| expression | Nix CPU ms | makes CPU ms | CPU Nix / makes | Nix wall ms | makes wall ms | Nix RSS MiB | makes RSS MiB | RSS Nix / makes |"
rule="|---|---:|---:|---:|---:|---:|---:|---:|---:|"
[[ -n $before ]] && { header="$header before CPU ms | before RSS MiB |"; rule="$rule---:|---:|"; }
echo "$header"
echo "$rule"
for f in "${rows[@]}"; do
  name=$(basename "$f" .nix)
  [[ $wanted == "  " || $wanted == *" $name "* ]] || continue
  if [[ $name == makes_900_jobs ]]; then
    nix_side=("${nix_jobs[@]}" "$f")
    makes_side=("$makes" --project "$gen/makes-900" --list)
    before_side=("$before" --project "$gen/makes-900" --list)
    want=$("${nix_side[@]}" | jq -r '.[] | select(. != "__all__" and . != "/secretsForAwsFromEnv/__default__")' | LC_ALL=C sort)
    got=$("${makes_side[@]}" | LC_ALL=C sort) || got="(makes failed)"
  else
    nix_side=(nix-instantiate --eval --strict "$f")
    makes_side=("$makes" eval --strict "$f")
    before_side=("$before" eval --strict "$f")
    want=$("${nix_side[@]}")
    got=$("${makes_side[@]}") || got="(makes failed)"
  fi
  if [ "$want" != "$got" ]; then
    echo "$name: makes printed '${got:0:300}', Nix '${want:0:300}'" >&2
    echo "| $name | makes' output differs from Nix's (see stderr) |"
    continue
  fi
  read -r nix_cpu nix_wall nix_rss < <(measure "${nix_side[@]}")
  read -r makes_cpu makes_wall makes_rss < <(measure "${makes_side[@]}")
  line="| $name | $nix_cpu | $makes_cpu | $(ratio "$nix_cpu" "$makes_cpu") | $nix_wall | $makes_wall | $(mib "$nix_rss") | $(mib "$makes_rss") | $(ratio "$nix_rss" "$makes_rss") |"
  if [[ -n $before ]]; then
    read -r before_cpu _ before_rss < <(measure "${before_side[@]}")
    line="$line $before_cpu | $(mib "$before_rss") |"
  fi
  echo "$line"
done
