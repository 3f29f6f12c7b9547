#!/usr/bin/env bash
# The image builder's benchmark, in one go on one input: a ~700 MB closure made of
# /usr/lib/x86_64-linux-gnu spread over PARTS store paths (path literals), built
#   1. cold by makes (gzip), 2. by `tar --sort=name | pigz -6 -p$(nproc)`, 3. by `umoci repack`,
#   4. warm by makes (nothing changed: the image is in the store), 5. re-assembled by makes from
#   cached layers (only the tag changed), 6. after one file changed in one store path.
# Prints a table of seconds, sizes, ratios, peak memory and the layers re-written.
# Usage: bash bench/image/run.sh [SOURCE_DIR] [PARTS]   (needs pigz, umoci, /usr/bin/time)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
src="${1:-/usr/lib/x86_64-linux-gnu}"
parts="${2:-16}"
work="$(mktemp -d /tmp/makes-bench-image.XXXXXX)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release -q --manifest-path "$repo/Cargo.toml" -p makes-cli
makes="${CARGO_TARGET_DIR:-$repo/target}/release/makes"

# The project: PARTS directories, each top-level entry of SOURCE_DIR going to one of them.
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
job() { # name tag compressor
  printf '  jobs."/%s" = makeContainerImage { name = "bench"; tag = "%s"; compressor = "%s"; maxLayers = 100; layers = [%s ]; };\n' "$1" "$2" "$3" "$list"
}
{
  echo '{ makeContainerImage, ... }: {'
  job bench cold gz
  job retag retag gz
  job import import none
  echo '}'
} > "$proj/makes.nix"

export MAKES_STORE_DIR="$work/store" XDG_CACHE_HOME="$work/cache"
# Import the sources into the store first (not part of any timing), then forget its layers.
"$makes" --project "$proj" /import >/dev/null
rm -rf "$work/store/cache/layers"
bytes=$(du -scb "$work"/store/store/*-p?? | tail -1 | cut -f1)

timed() { # label, command...: runs it, records seconds and peak RSS (KiB)
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err"; exit 1; }
  read -r secs rss <"$work/time"
  eval "t_$label=$secs; m_$label=$rss"
}
records() { ls "$work/store/cache/layers/layers" 2>/dev/null | wc -l; }

sync
timed cold "$makes" --project "$proj" /bench
image=$(cat "$work/out")
out_makes=$(tar -tvf "$image" | awk '$6 ~ /^blobs\/sha256\/./ && $3 > 100000 {s+=$3} END {print s}')

store_paths=$(cd "$work/store/store" && ls -d *-p?? | LC_ALL=C sort)
timed pigz sh -c "tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1 -C '$work/store/store' -cf - $(echo $store_paths) | pigz -6 -p$(nproc) > '$work/pigz.tar.gz'"
out_pigz=$(stat -c %s "$work/pigz.tar.gz")

# umoci: a layout with an empty image, the same files unpacked into its bundle, then repack.
umoci init --layout "$work/oci" >/dev/null
umoci new --image "$work/oci:b" >/dev/null
umoci unpack --rootless --image "$work/oci:b" "$work/bundle" >/dev/null 2>&1
mkdir -p "$work/bundle/rootfs/nix/store"
cp -a $(for p in $store_paths; do echo "$work/store/store/$p"; done) "$work/bundle/rootfs/nix/store/"
sync
timed umoci umoci repack --image "$work/oci:b" "$work/bundle"

timed warm "$makes" --project "$proj" /bench
before=$(records)
timed retag "$makes" --project "$proj" /retag
retag_written=$(( $(records) - before ))

# One file changed in one store path (a new path literal, so a new store path).
victim=$(find "$proj/parts/p03" -type f | LC_ALL=C sort | head -1)
chmod u+w "$victim"; echo "changed" >>"$victim"
"$makes" --project "$proj" /import >/dev/null   # import the changed source (not timed)
before=$(records)
timed onefile "$makes" --project "$proj" /bench
onefile_written=$(( $(records) - before ))

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
cat <<REPORT
input: $(( bytes / 1000000 )) MB in $parts store paths from $src; $(nproc) cores
| run | seconds | ratio | peak RSS |
|---|---|---|---|
| makes cold (gzip) | $t_cold | $(ratio "$t_cold" "$t_umoci") x umoci repack | $(( m_cold / 1024 )) MiB |
| tar --sort=name \| pigz -6 -p$(nproc) | $t_pigz | $(ratio "$t_pigz" "$t_umoci") x umoci repack | |
| umoci repack | $t_umoci | 1.00 | |
| makes warm (nothing changed) | $t_warm | $(ratio "$t_warm" "$t_cold") x cold | $(( m_warm / 1024 )) MiB |
| makes warm (new tag, all layers cached) | $t_retag | $(ratio "$t_retag" "$t_cold") x cold; layers written: $retag_written | $(( m_retag / 1024 )) MiB |
| makes after one file changed | $t_onefile | $(ratio "$t_onefile" "$t_cold") x cold; layers written: $onefile_written | $(( m_onefile / 1024 )) MiB |
compressed: makes $out_makes bytes, pigz -6 $out_pigz bytes: makes/pigz = $(ratio "$out_makes" "$out_pigz")
REPORT
