#!/usr/bin/env bash
# Old binary against new, interleaved (old, new, old, new, ...), so that load from other work
# on the machine falls on both alike: PAIRS cold image builds of bench/image's input (layer
# cache removed before each, a new tag each time, sources imported beforehand and not timed),
# and PAIRS runs of bench/eval's deep_recursion. Prints every time (wall clock, and CPU:
# user + system, which other work on the machine disturbs less), the medians, the ratio
# new / old and the spread (min-max).
# Usage: bash bench/ab/run.sh OLD_MAKES NEW_MAKES [PAIRS] [SOURCE_DIR] [PARTS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
old="$1"; new="$2"; pairs="${3:-5}"
src="${4:-/usr/lib/x86_64-linux-gnu}"; parts="${5:-16}"
work="$(mktemp -d /tmp/makes-bench-ab.XXXXXX)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

proj="$work/project"
mkdir -p "$proj/parts"
i=0
for e in $(cd "$src" && ls -A | LC_ALL=C sort); do
  p=$(printf 'p%02d' $((i % parts)))
  mkdir -p "$proj/parts/$p"
  cp -a "$src/$e" "$proj/parts/$p/" 2>/dev/null || true
  i=$((i + 1))
done
list=""
for d in $(cd "$proj/parts" && ls | LC_ALL=C sort); do list="$list ./parts/$d"; done
{
  echo '{ makeContainerImage, ... }: {'
  printf '  jobs."/import" = makeContainerImage { name = "bench"; tag = "import"; compressor = "none"; maxLayers = 100; layers = [%s ]; };\n' "$list"
  for r in $(seq "$pairs"); do
    printf '  jobs."/r%s" = makeContainerImage { name = "bench"; tag = "r%s"; compressor = "gz"; maxLayers = 100; layers = [%s ]; };\n' "$r" "$r" "$list"
  done
  echo '}'
} > "$proj/makes.nix"

run_as() { # which (old|new), args...: makes with that binary's own store and cache
  local which="$1"; shift
  local bin; [ "$which" = old ] && bin="$old" || bin="$new"
  MAKES_STORE_DIR="$work/store-$which" XDG_CACHE_HOME="$work/cache-$which" "$bin" "$@"
}
timed() { # which, args...: appends this run's wall-clock and CPU (user + system) seconds to
  # the lists wall_<which> and cpu_<which>
  local which="$1"; shift
  local bin; [ "$which" = old ] && bin="$old" || bin="$new"
  /usr/bin/time -f "%e %U %S" -o "$work/time" env MAKES_STORE_DIR="$work/store-$which" \
    XDG_CACHE_HOME="$work/cache-$which" "$bin" "$@" >/dev/null 2>"$work/err" \
    || { cat "$work/err" >&2; exit 1; }
  local wall cpu
  read -r wall cpu < <(awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$work/time")
  eval "wall_$which=\"\$wall_$which $wall\"; cpu_$which=\"\$cpu_$which $cpu\""
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
spread() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
report() { # label, old times, new times
  local mo mn
  mo=$(echo "$2" | median); mn=$(echo "$3" | median)
  echo "$1: old [$2 ] new [$3 ]"
  echo "$1: median old $mo s ($(echo "$2" | spread)), new $mn s ($(echo "$3" | spread)), new/old $(awk -v a="$mn" -v b="$mo" 'BEGIN { printf "%.3f", a / b }')"
}

for which in old new; do
  run_as "$which" --project "$proj" /import >/dev/null
done
sync
wall_old=""; wall_new=""; cpu_old=""; cpu_new=""
for r in $(seq "$pairs"); do
  for which in old new; do
    rm -rf "$work/store-$which/cache/layers"
    timed "$which" --project "$proj" "/r$r"
  done
done
report "bench/image cold, wall" "$wall_old" "$wall_new"
report "bench/image cold, cpu" "$cpu_old" "$cpu_new"

deep="$repo/bench/eval/deep_recursion.nix"
[ "$(run_as old eval --strict "$deep")" = "$(run_as new eval --strict "$deep")" ] || { echo "deep_recursion: old and new differ" >&2; exit 1; }
wall_old=""; wall_new=""; cpu_old=""; cpu_new=""
for _ in $(seq "$pairs"); do
  for which in old new; do
    timed "$which" eval --strict "$deep"
  done
done
report "bench/eval deep_recursion, wall" "$wall_old" "$wall_new"
report "bench/eval deep_recursion, cpu" "$cpu_old" "$cpu_new"
