#!/usr/bin/env bash
# Compares two makes binaries on the fixture projects: for every job, the spec `makes show`
# prints (outPath included) must be the same; for every image job, the built archive must be
# at the same store path with the same bytes (sha256). Use it before merging a refactoring
# that must not change output paths or image digests.
#
#   scripts/compare-image-outputs.sh OLD_MAKES NEW_MAKES [FIXTURE_DIR...]
#
# Each binary gets its own store and cache in a scratch directory. A job that fails with
# both binaries is reported as such (e.g. one needing the network), not as a difference.
# Exit status: 0 when nothing differs, 1 otherwise.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 OLD_MAKES NEW_MAKES [FIXTURE_DIR...]" >&2
  exit 2
fi
old=$(realpath "$1")
new=$(realpath "$2")
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then
  projects=("$@")
else
  mapfile -t projects < <(cd "$root" && find fixtures -name makes.nix -printf '%h\n' | sort)
fi

scratch=$(mktemp -d)
trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT

# makes_with SIDE ARGS...: runs the binary of SIDE (old or new) in its own store and cache.
makes_with() {
  local side=$1
  shift
  local bin=$old
  [ "$side" = new ] && bin=$new
  mkdir -p "$scratch/$side/home"
  env -i PATH="$PATH" HOME="$scratch/$side/home" XDG_CACHE_HOME="$scratch/$side/cache" \
    MAKES_STORE_DIR="$scratch/$side/store" "$bin" "$@"
}

differences=0
same=0
both_failed=0
report() { printf '%-10s %s\n' "$1" "$2"; }

for project in "${projects[@]}"; do
  dir=$(cd "$root" && realpath "$project")
  if ! jobs=$(makes_with new --project "$dir" --list 2>/dev/null); then
    report "no-list" "$project"
    continue
  fi
  for job in $jobs; do
    name="$project $job"
    old_show=$(makes_with old --project "$dir" show "$job" 2>/dev/null) && old_ok=1 || old_ok=0
    new_show=$(makes_with new --project "$dir" show "$job" 2>/dev/null) && new_ok=1 || new_ok=0
    if [ $old_ok = 0 ] && [ $new_ok = 0 ]; then
      report "both-fail" "$name (show)"
      both_failed=$((both_failed + 1))
      continue
    fi
    if [ "$old_show" != "$new_show" ]; then
      report "DIFFERS" "$name: makes show"
      diff <(echo "$old_show") <(echo "$new_show") | head -20 || true
      differences=$((differences + 1))
      continue
    fi
    kind=$(echo "$new_show" | jq -r '.kind? // empty' 2>/dev/null || true)
    created=$(echo "$new_show" | jq -r '.created? // empty' 2>/dev/null || true)
    if [ "$kind" != makeContainerImage ] || [ "$created" = now ]; then
      report "same" "$name (show, $kind)"
      same=$((same + 1))
      continue
    fi
    old_out=$(makes_with old --project "$dir" "$job" 2>/dev/null) && old_ok=1 || old_ok=0
    new_out=$(makes_with new --project "$dir" "$job" 2>/dev/null) && new_ok=1 || new_ok=0
    if [ $old_ok = 0 ] && [ $new_ok = 0 ]; then
      report "both-fail" "$name (build)"
      both_failed=$((both_failed + 1))
      continue
    fi
    if [ $old_ok != $new_ok ]; then
      report "DIFFERS" "$name: builds with one binary only (old $old_ok, new $new_ok)"
      differences=$((differences + 1))
      continue
    fi
    old_sum=$(sha256sum <"$old_out" | cut -d' ' -f1)
    new_sum=$(sha256sum <"$new_out" | cut -d' ' -f1)
    if [ "$(basename "$old_out")" != "$(basename "$new_out")" ] || [ "$old_sum" != "$new_sum" ]; then
      report "DIFFERS" "$name: $(basename "$old_out") $old_sum vs $(basename "$new_out") $new_sum"
      differences=$((differences + 1))
    else
      report "same" "$name (image $(basename "$new_out") sha256:$new_sum)"
      same=$((same + 1))
    fi
  done
done

echo "same: $same, differing: $differences, failing with both: $both_failed"
[ $differences = 0 ]
