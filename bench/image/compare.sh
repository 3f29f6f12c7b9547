#!/usr/bin/env bash
# Old against new image builder, interleaved so that both see the same machine load.
# One input of PARTS store paths (path literals; the first mode spreads SOURCE_DIR's top-level
# entries over them, "small" makes PARTS tiny directories of three files each), then ROUNDS
# times, for OLD then NEW, each in a fresh store holding only the imported sources:
#   cold gz, cold zstd, retag (zstd, all layers cached, only the tag changed),
# plus the floor `tar --sort=name | zstd -3 -T$(nproc)` over the same store paths.
# Prints raw seconds and peak RSS per run, and checks that both binaries wrote the same images.
# Usage: bash bench/image/compare.sh OLD_MAKES NEW_MAKES [SOURCE_DIR|small] [PARTS] [ROUNDS]
set -euo pipefail
old="$1" new="$2"
src="${3:-/usr/lib/x86_64-linux-gnu}"
parts="${4:-16}"
rounds="${5:-2}"
work="$(mktemp -d /tmp/makes-bench-compare.XXXXXX)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

proj="$work/project"
mkdir -p "$proj/parts"
if [ "$src" = small ]; then
  for n in $(seq 0 $((parts - 1))); do
    i=$(printf '%04d' "$n")
    d="$proj/parts/p$i"
    mkdir -p "$d/bin"
    printf 'part %s\n' "$i" >"$d/README"
    head -c $((2000 + n % 3000)) /usr/bin/env >"$d/bin/tool"
    printf '#!/bin/sh\necho %s\n' "$i" >"$d/bin/run"
  done
else
  i=0
  for e in $(cd "$src" && ls -A | LC_ALL=C sort); do
    p=$(printf 'p%04d' $((i % parts)))
    mkdir -p "$proj/parts/$p"
    cp -a "$src/$e" "$proj/parts/$p/" 2>/dev/null || true
    i=$((i + 1))
  done
fi
list=""
for d in $(cd "$proj/parts" && ls | LC_ALL=C sort); do list="$list ./parts/$d"; done
job() { # name tag compressor
  printf '  jobs."/%s" = makeContainerImage { name = "bench"; tag = "%s"; compressor = "%s"; maxLayers = 100; layers = [%s ]; };\n' "$1" "$2" "$3" "$list"
}
{
  echo '{ makeContainerImage, ... }: {'
  job gz cold gz
  job zstd cold zstd
  job retag retag zstd
  job import import none
  echo '}'
} >"$proj/makes.nix"

export XDG_CACHE_HOME="$work/cache"
# The sources imported once into a template store (not timed), copied for every run.
MAKES_STORE_DIR="$work/template" "$new" --project "$proj" /import >/dev/null
rm -rf "$work/template/cache/layers"
store_paths=$(cd "$work/template/store" && ls -d *-p????)
printf '%s\n' $store_paths >"$work/paths"
bytes=$(cd "$work/template/store" && du -scb $store_paths | tail -1 | cut -f1)
echo "input: $(( bytes / 1000000 )) MB in $(echo $store_paths | wc -w) store paths; $(nproc) cores"

timed() { # label, command...: prints seconds and peak RSS (MiB)
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err"; exit 1; }
  read -r secs rss <"$work/time"
  printf '%-18s %7s s %6d MiB\n' "$label" "$secs" $((rss / 1024))
}
fresh_store() { rm -rf "$work/store"; cp -a "$work/template" "$work/store"; sync; }

for r in $(seq 1 "$rounds"); do
  for which in old new; do
    bin=$old; [ "$which" = new ] && bin=$new
    fresh_store
    export MAKES_STORE_DIR="$work/store"
    for j in gz zstd retag; do
      timed "$which $j" "$bin" --project "$proj" "/$j"
      sha256sum <"$(cat "$work/out")" | cut -c1-16 >"$work/digest-$which-$j"
    done
  done
  for j in gz zstd retag; do
    cmp -s "$work/digest-old-$j" "$work/digest-new-$j" || echo "DIFFERENT IMAGE: $j"
  done
  timed "tar|zstd -3 -T$(nproc)" sh -c "tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1 -C '$work/template/store' -cf - -T '$work/paths' | zstd -q -3 -T$(nproc) > '$work/floor.tar.zst'"
done
