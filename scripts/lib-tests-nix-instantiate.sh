#!/usr/bin/env bash
# A `nix-instantiate` for nixpkgs' lib tests (scripts/lib-tests.sh puts it first on PATH):
# evaluates with `makes eval` ($MAKES) what nix-instantiate would, translating its flags.
# `-E`/`--expr` makes the positional argument an expression; `-` reads one from stdin;
# flags with no meaning here (--show-trace, --read-write-mode, --timeout N, --option N V)
# are dropped, except `--option abort-on-warn B` (see below). Without --eval/--eval-only/--parse it instantiates (`makes instantiate`).
set -uo pipefail
makes=${MAKES:?MAKES names the makes binary}
mode=instantiate
expr_mode=0
args=()
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --eval | --eval-only) mode=eval ;;
    --parse) mode=eval; args+=(--parse) ;;
    -E | --expr) expr_mode=1 ;;
    --strict | --json | --xml | --no-location) args+=("$1") ;;
    -A | --attr | -I) args+=("$1" "$2"); shift ;;
    --arg | --argstr) args+=("$1" "$2" "$3"); shift 2 ;;
    --show-trace | --read-write-mode | --readonly-mode | --no-show-trace) ;;
    --timeout | --max-call-depth) shift ;;
    # Newer Nix's abort-on-warn setting, which makes' `builtins.warn` honours too; other
    # settings have no meaning here.
    --option)
      if [ "$2" = abort-on-warn ]; then args+=(--option "$2" "$3"); fi
      shift 2 ;;
    -) positional+=("-") ;;
    -*) echo "nix-instantiate (makes shim): unsupported flag $1" >&2; exit 2 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
if [ "$mode" = instantiate ]; then
  [ "${#positional[@]}" -gt 0 ] || positional=(./default.nix)
  exec "$makes" instantiate "${args[@]}" "${positional[@]}"
fi
source=()
if [ "${#positional[@]}" -gt 0 ] && [ "${positional[0]}" = - ]; then
  source=(--expr "$(cat)")
elif [ "$expr_mode" = 1 ]; then
  source=(--expr "${positional[0]:?an expression}")
elif [ "${#positional[@]}" -gt 0 ]; then
  source=("${positional[0]}")
fi
exec "$makes" eval -q "${args[@]}" "${source[@]}"
