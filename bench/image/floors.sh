#!/usr/bin/env bash
# The image builder against its floors: every row is a ratio of two timings taken in the same
# run, alternated round by round so that both see the same machine load; medians over ROUNDS,
# with the spread (min-max) of each side.
#   big     1 GB of real files (from /usr/lib) in 16 path literals, every one a `contents` root,
#           maxLayers 100, zstd: cold against `tar --sort=name | zstd -3 -T$(nproc)`; a retag
#           (only the tag changed) against copying the image's blobs and hashing the copy; one
#           file changed in one root (a new path literal: import included) against cold.
#   small   5,000 tiny path literals and one application (a file, the image's entrypoint, so a
#           root of the plan) that refers to all of them, maxLayers 100, zstd: cold against the same floor; one file of the
#           application changed (import included) against cold. Also the image writing alone (the
#           time makes reports for it: layers, compression, archive; not the checks of the 5,000
#           path literals before it) against the same floor.
#   memory  peak RSS of a cold gz build of 2 GB (16 paths) and of 100,000 files (16 paths).
#   list    `makes --list` on a project without packages against `nix-instantiate --eval -E 1`.
# Usage: bash bench/image/floors.sh MAKES [ROUNDS] [SECTION...]   (default: 3 rounds, all)
set -euo pipefail
makes="$(realpath "$1")"
rounds="${2:-3}"
shift $(( $# >= 2 ? 2 : 1 ))
sections="${*:-big small memory list}"
cores=$(nproc)
work="$(mktemp -d /tmp/makes-bench-floors.XXXXXX)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"

# run LABEL COMMAND...: runs it, appends "seconds rss_kib" to $work/t.LABEL.
run() {
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" \
    || { echo "failed: $label"; cat "$work/err"; exit 1; }
  cat "$work/time" >>"$work/t.$label"
}
# stat LABEL COLUMN: "median (min-max)" of a column (1 seconds, 2 KiB) of $work/t.LABEL.
median() { cut -d' ' -f"$2" "$work/t.$1" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print m}'; }
spread() { cut -d' ' -f"$2" "$work/t.$1" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }
ratio() { awk -v a="$(median "$1" 1)" -v b="$(median "$2" 1)" 'BEGIN { printf "%.2f", a / b }'; }
row() { # LABEL DESCRIPTION FLOOR_LABEL FLOOR_DESCRIPTION
  printf '| %s | %s s (%s) | %s s (%s) | %s x %s | %d MiB |\n' "$2" "$(median "$1" 1)" "$(spread "$1" 1)" \
    "$(median "$3" 1)" "$(spread "$3" 1)" "$(ratio "$1" "$3")" "$4" $(( $(median "$1" 2 | cut -d. -f1) / 1024 ))
}

# parts DIR BYTES PARTS: copies entries of /usr/lib (second level, sorted) round-robin into
# PARTS directories DIR/pNNNN until BYTES are copied.
parts() {
  local dir="$1" target="$2" n="$3" total=0 i=0 e size
  for k in $(seq 0 $((n - 1))); do mkdir -p "$dir/$(printf 'p%04d' "$k")"; done
  while read -r e; do
    size=$(du -sb "$e" 2>/dev/null | cut -f1) || continue
    cp -a "$e" "$dir/$(printf 'p%04d' $((i % n)))/$i-$(basename "$e")" 2>/dev/null || continue
    total=$((total + size)); i=$((i + 1))
    [ "$total" -ge "$target" ] && break
  done < <(find /usr/lib -mindepth 2 -maxdepth 2 -not -type l 2>/dev/null | LC_ALL=C sort)
}
# project DIR JOBS_NIX (outside git: every file is the project's).
project() { printf '%s\n' "$2" >"$1/makes.nix"; }
list_of() { (cd "$1/parts" && ls | LC_ALL=C sort | sed 's|^| ./parts/|' | tr -d '\n'); }
# import DIR: imports the sources once into a template store (not timed).
template() { MAKES_STORE_DIR="$2" "$makes" --project "$1" /import >/dev/null; rm -rf "$2/cache/layers"; }
fresh_store() { rm -rf "$work/store"; cp -a "$1" "$work/store"; sync; }
floor_zstd() { # STORE PATHS_FILE
  run "$3" sh -c "tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1 -C '$1' -cf - -T '$2' | zstd -q -3 -T$cores > '$work/floor.tar.zst'"
}
change_one_file() { # FILE
  chmod u+w "$1"; printf 'changed %s\n' "$RANDOM$RANDOM" >>"$1"
}

if [[ " $sections " == *" big "* ]]; then
  proj="$work/big"; mkdir -p "$proj/parts"
  parts "$proj/parts" 1000000000 16
  l=$(list_of "$proj")
  project "$proj" "{ makeContainerImage, ... }: {
  jobs.\"/zstd\" = makeContainerImage { name = \"big\"; compressor = \"zstd\"; maxLayers = 100; layers = [$l ]; };
  jobs.\"/retag\" = makeContainerImage { name = \"big\"; tag = \"retag\"; compressor = \"zstd\"; maxLayers = 100; layers = [$l ]; };
  jobs.\"/import\" = makeContainerImage { name = \"big\"; compressor = \"none\"; layers = [$l ]; };
}"
  template "$proj" "$work/big-template"
  (cd "$work/big-template/store" && ls -d *-p???? | LC_ALL=C sort) >"$work/big-paths"
  echo "big: $(( $(cd "$work/big-template/store" && du -scb $(cat "$work/big-paths") | tail -1 | cut -f1) / 1000000 )) MB in $(wc -l <"$work/big-paths") store paths, $(cd "$work/big-template/store" && find $(cat "$work/big-paths") | wc -l) files"
  victim=$(find "$proj/parts/p0003" -type f | LC_ALL=C sort | sed -n 1p)
  for r in $(seq 1 "$rounds"); do
    fresh_store "$work/big-template"
    export MAKES_STORE_DIR="$work/store"
    run big-cold "$makes" --project "$proj" /zstd
    floor_zstd "$work/big-template/store" "$work/big-paths" big-floor
    run big-retag "$makes" --project "$proj" /retag
    blobs=$(tar -tf "$(cat "$work/out")" | grep '^blobs/sha256/.' | sed "s|^blobs/sha256/|$work/store/cache/layers/blobs/|" | while read -r b; do if [ -f "$b" ]; then echo "$b"; fi; done)
    run big-copyhash sh -c "cat $(echo $blobs) > '$work/copy' && sha256sum '$work/copy' >/dev/null"
    change_one_file "$victim"
    run big-onefile "$makes" --project "$proj" /zstd
    unset MAKES_STORE_DIR
  done
fi

if [[ " $sections " == *" small "* ]]; then
  proj="$work/small"; mkdir -p "$proj/parts" "$proj/app"
  for n in $(seq 0 4999); do
    d="$proj/parts/$(printf 'p%04d' "$n")"; mkdir -p "$d/bin"
    printf 'part %s\n' "$n" >"$d/README"
    head -c $((2000 + n % 3000)) /usr/bin/env >"$d/bin/tool"
    printf '#!/bin/sh\necho %s\n' "$n" >"$d/bin/run"
  done
  printf '#!/bin/sh\necho app\n' >"$proj/app/main"
  l=$(list_of "$proj")
  project "$proj" "{ makeContainerImage, ... }:
let
  parts = [$l ];
  app = builtins.toFile \"app\" (builtins.concatStringsSep \"\\n\" (map (p: \"\${p}\") parts) + builtins.readFile ./app/main);
in {
  jobs.\"/zstd\" = makeContainerImage { name = \"small\"; compressor = \"zstd\"; maxLayers = 100; config.Entrypoint = [ \"\${app}\" ]; };
  jobs.\"/import\" = makeContainerImage { name = \"small\"; compressor = \"none\"; layers = parts; };
}"
  template "$proj" "$work/small-template"
  (cd "$work/small-template/store" && ls -d *-p???? | LC_ALL=C sort) >"$work/small-paths"
  echo "small: $(wc -l <"$work/small-paths") store paths and the application"
  for r in $(seq 1 "$rounds"); do
    fresh_store "$work/small-template"
    export MAKES_STORE_DIR="$work/store"
    run small-cold "$makes" --project "$proj" /zstd
    # The image's own time, as makes reports it ("wrote image NAME in 1.2s"); the peak RSS column
    # repeats the whole run's.
    printf '%s %s\n' "$(sed -n 's/.*wrote image .* in \([0-9.]*\)s.*/\1/p' "$work/err" | tail -1)" \
      "$(cut -d' ' -f2 "$work/time")" >>"$work/t.small-image"
    (cd "$work/store/store" && ls -d *-p???? *-app | LC_ALL=C sort) >"$work/small-closure"
    floor_zstd "$work/store/store" "$work/small-closure" small-floor
    change_one_file "$proj/app/main"
    run small-onefile "$makes" --project "$proj" /zstd
    unset MAKES_STORE_DIR
  done
fi

if [[ " $sections " == *" memory "* ]]; then
  proj="$work/twogb"; mkdir -p "$proj/parts"
  parts "$proj/parts" 2000000000 16
  project "$proj" "{ makeContainerImage, ... }: { jobs.\"/gz\" = makeContainerImage { name = \"m\"; maxLayers = 100; layers = [$(list_of "$proj") ]; }; jobs.\"/import\" = makeContainerImage { name = \"m\"; compressor = \"none\"; layers = [$(list_of "$proj") ]; }; }"
  template "$proj" "$work/twogb-template"
  echo "memory: 2 GB input: $(du -sb "$proj/parts" | cut -f1) bytes, $(find "$proj/parts" | wc -l) files"
  fresh_store "$work/twogb-template"; rm -rf "$work/twogb-template"
  MAKES_STORE_DIR="$work/store" run twogb "$makes" --project "$proj" /gz
  rm -rf "$proj" "$work/store"
  proj="$work/files"; mkdir -p "$proj/parts"
  for k in $(seq 0 15); do
    d="$proj/parts/$(printf 'p%04d' "$k")"
    for s in $(seq 0 99); do
      mkdir -p "$d/s$s"
      for f in $(seq 0 61); do printf 'file %s %s %s\n' "$k" "$s" "$f" >"$d/s$s/f$f"; done
    done
  done
  project "$proj" "{ makeContainerImage, ... }: { jobs.\"/gz\" = makeContainerImage { name = \"m\"; maxLayers = 100; layers = [$(list_of "$proj") ]; }; jobs.\"/import\" = makeContainerImage { name = \"m\"; compressor = \"none\"; layers = [$(list_of "$proj") ]; }; }"
  template "$proj" "$work/files-template"
  echo "memory: $(find "$proj/parts" -type f | wc -l) files"
  fresh_store "$work/files-template"
  MAKES_STORE_DIR="$work/store" run files "$makes" --project "$proj" /gz
fi

if [[ " $sections " == *" list "* ]]; then
  proj="$(cd "$(dirname "$0")/../.." && pwd)/fixtures/hello"
  export MAKES_STORE_DIR="$work/list-store"
  "$makes" --project "$proj" --list >/dev/null
  for r in $(seq 1 $((rounds * 7))); do
    run list "$makes" --project "$proj" --list
    run nix-eval nix-instantiate --eval -E 1
  done
  unset MAKES_STORE_DIR
fi

echo
echo "| run | makes | floor | ratio | peak RSS |"
echo "|---|---|---|---|---|"
[ -f "$work/t.big-cold" ] && row big-cold "1 GB cold, zstd" big-floor "\`tar | zstd -3 -T$cores\`"
[ -f "$work/t.big-retag" ] && row big-retag "1 GB retag (only the tag changed)" big-copyhash "copy + sha256 of the blobs"
[ -f "$work/t.big-onefile" ] && row big-onefile "1 GB, one file changed in a root (import included)" big-cold "cold"
[ -f "$work/t.small-cold" ] && row small-cold "5,000 paths cold, zstd" small-floor "\`tar | zstd -3 -T$cores\`"
[ -f "$work/t.small-image" ] && row small-image "5,000 paths cold, zstd: the image writing alone" small-floor "\`tar | zstd -3 -T$cores\`"
[ -f "$work/t.small-onefile" ] && row small-onefile "5,000 paths, one file of the root changed (import included)" small-cold "cold"
[ -f "$work/t.list" ] && row list "\`makes --list\`, no packages" nix-eval "\`nix-instantiate --eval -E 1\`"
[ -f "$work/t.twogb" ] && printf '| 2 GB cold, gz | %s s | | | %d MiB |\n' "$(median twogb 1)" $(( $(median twogb 2) / 1024 ))
[ -f "$work/t.files" ] && printf '| 100,000 files cold, gz | %s s | | | %d MiB |\n' "$(median files 1)" $(( $(median files 2) / 1024 ))
exit 0
