#!/usr/bin/env bash
# Runs the corpus harness (tests/e2e/corpus.rs) on the materialised corpus and prints its table
# (also left in $MAKES_CORPUS_DIR/report.md). The harness fails while a project's job list
# differs from makes' own and is not in tests/corpus/known-differences.txt; the table is
# printed either way, and the script exits with the harness's status.
#
#   scripts/corpus/materialise.sh && scripts/corpus/report.sh
#
# MAKES_CORPUS_RELEASE=1 builds makes with `--release` and has the harness run that binary
# (MAKES_CORPUS_BIN, which can also name any binary): a debug `makes show` takes seconds and
# the corpus has about two thousand jobs. MAKES_CORPUS_JOBS says how many jobs are shown at
# once (default: the machine's cores).
#
# --build (or MAKES_CORPUS_BUILD=1) also builds every shown job as `makes --no-run JOB` does
# (images, scripts, deploy jobs' images; nothing is run or pushed), offline, with makes' package
# set the host's tools (scripts/corpus/host-tools-nixpkgs.nix, built by the installed Nix), and
# adds a `built` column. MAKES_CORPUS_BUILD_TIME_LIMIT is the most seconds one build may take
# (default 300); MAKES_CORPUS_BUILD_MAX the most jobs built per project (default 80; a project
# with more builds every Nth job in job order, and the table says so).
set -uo pipefail

while (($#)); do
  case $1 in
    --build) export MAKES_CORPUS_BUILD=1; shift ;;
    *) echo "report.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export MAKES_CORPUS_DIR=${MAKES_CORPUS_DIR:-${CORPUS_DIR:-$root/target/corpus}}
if [[ ! -d $MAKES_CORPUS_DIR ]]; then
  echo "report.sh: no corpus in $MAKES_CORPUS_DIR: run scripts/corpus/materialise.sh first" >&2
  exit 1
fi
rm -f "$MAKES_CORPUS_DIR/report.md"
cd "$root" || exit 1
if [[ ${MAKES_CORPUS_RELEASE:-} == 1 ]]; then
  cargo build --release -p makes-cli >"$MAKES_CORPUS_DIR/release-build.log" 2>&1 || {
    tail -20 "$MAKES_CORPUS_DIR/release-build.log" >&2
    exit 1
  }
  MAKES_CORPUS_BIN=${CARGO_TARGET_DIR:-$root/target}/release/makes
  export MAKES_CORPUS_BIN
fi
cargo test -p makes-cli --test e2e -- corpus::real_projects_list_the_jobs_makes_lists \
  >"$MAKES_CORPUS_DIR/harness.log" 2>&1
status=$?
if [[ -f $MAKES_CORPUS_DIR/report.md ]]; then
  cat "$MAKES_CORPUS_DIR/report.md"
else
  tail -20 "$MAKES_CORPUS_DIR/harness.log" >&2
fi
if ((status)); then
  echo >&2
  # The assertion's message, without the backtrace.
  sed -n '/job lists differ\|makes crashed/,/^stack backtrace:\|^note: \|^$/p' \
    "$MAKES_CORPUS_DIR/harness.log" | grep -v '^stack backtrace:\|^note: ' >&2
fi
exit "$status"
