#!/usr/bin/env bash
# A `nix` (the newer command line) for nixpkgs' lib tests (scripts/lib-tests.sh puts it first on
# PATH in makes' run): the one command they use, `nix eval --impure (--raw | --json) --expr E`,
# evaluated by `makes eval` ($MAKES). Anything else fails, naming what is missing, so that a test
# needing more of `nix` fails rather than passing for the wrong reason. Pure evaluation (no
# --impure) is refused: makes has no pure mode, and Nix's answer would differ (no NIX_PATH).
set -uo pipefail
makes=${MAKES:?MAKES names the makes binary}
refuse() {
  echo "nix (makes shim for the lib tests): $*" >&2
  exit 127
}
[ "${1:-}" = eval ] || refuse "only 'nix eval' is available, not 'nix ${1:-}'"
shift
impure=0
output=
expr=
while [ $# -gt 0 ]; do
  case $1 in
    --impure) impure=1 ;;
    --raw | --json) output=$1 ;;
    --expr) expr=${2:?--expr needs an expression}; shift ;;
    --show-trace) ;;
    *) refuse "unsupported argument '$1' to nix eval" ;;
  esac
  shift
done
[ "$impure" = 1 ] || refuse "pure evaluation (nix eval without --impure) is not available"
[ -n "$expr" ] || refuse "nix eval needs --expr here"
[ -n "$output" ] || refuse "nix eval needs --raw or --json here"
exec "$makes" eval -q "$output" --expr "$expr"
