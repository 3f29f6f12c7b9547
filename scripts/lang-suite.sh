#!/usr/bin/env bash
# Runs NixOS/nix's language test suite (a copy made by scripts/lang-suite-extract.sh) with
# `makes eval`, as Nix's own runner (tests/lang.sh in 2.8) runs it with nix-instantiate:
#   parse-fail-*  must not parse            (makes eval --parse FILE)
#   parse-okay-*  must parse                (makes eval --parse FILE)
#   eval-fail-*   must not evaluate         (makes eval FILE; exit code 1, not a crash)
#   eval-okay-*   with NAME.exp: `--eval --strict` (plus NAME.flags) prints NAME.exp, with
#                 NIX_PATH=lang/dir3:lang/dir4; with NAME.exp.xml: `--eval --xml --no-location
#                 --strict` prints NAME.exp.xml
# from the folder holding the suite's `lang/`, with TEST_VAR=foo, as Nix's runner does. A case
# with neither .exp nor .exp.xml (Nix disabled its expectation) is not counted. Suites of newer
# Nix (tests/functional/lang, recognised by their .err.exp files) are run by their own rules
# where they differ: the working directory written /pwd in outputs, HOME=/fake-home, .exp.xml
# instead of .exp, .exp-disabled, eval-fail flags from .flags; what they add that 2.8's
# runner did not check (error texts, --parse output, stderr of eval-okay cases) is not compared.
#
#   bash scripts/lang-suite.sh [--nix] [--failures FILE] [--nix-failures FILE] [--verbose] SUITE_DIR
#
# --nix runs nix-instantiate instead of makes (which cases Nix itself passes); otherwise the
# evaluator is $MAKES, else `makes` on PATH, else target/release/makes or target/debug/makes.
# --nix-failures FILE names cases (one a line, as --failures writes them; `#` comments) that
# the reference Nix fails: they are reported apart and not counted. Prints one line per failing case and the
# counts per kind; --failures writes the failing case names, sorted, one a line. Exits 0
# whatever the counts (tests/e2e/lang_suite.rs compares the failures with the recorded ones);
# 2 on bad usage.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
use_nix=0
failures_file=
nix_failures_file=
verbose=0
while [ $# -gt 0 ]; do
  case $1 in
    --nix) use_nix=1 ;;
    --failures) failures_file=${2:?--failures needs a file}; shift ;;
    --nix-failures) nix_failures_file=${2:?--nix-failures needs a file}; shift ;;
    --verbose) verbose=1 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
suite=${1:?usage: lang-suite.sh [--nix] [--failures FILE] [--verbose] SUITE_DIR}
[ -d "$suite" ] || { echo "no suite at $suite" >&2; exit 2; }
suite="$(cd "$suite" && pwd)"
declare -A nix_fails
if [ -n "$nix_failures_file" ]; then
  # One case a line, first word; `#` starts a comment.
  while read -r name _; do
    case $name in '' | '#'*) ;; *) nix_fails[$name]=1 ;; esac
  done <"$nix_failures_file"
fi
newer=0
compgen -G "$suite/*.err.exp" >/dev/null && newer=1

if [ "$use_nix" = 1 ]; then
  command -v nix-instantiate >/dev/null || { echo "nix-instantiate is missing" >&2; exit 2; }
  evaluator=(nix-instantiate)
  parse=(nix-instantiate --parse)
  export NIX_REMOTE=dummy://
else
  makes=${MAKES:-}
  if [ -z "$makes" ]; then
    makes=$(command -v makes || true)
    for candidate in "$root/target/release/makes" "$root/target/debug/makes"; do
      [ -n "$makes" ] || { [ -x "$candidate" ] && makes=$candidate; }
    done
  fi
  [ -n "$makes" ] || { echo "no makes binary: set MAKES or build it" >&2; exit 2; }
  evaluator=("$makes" eval -q)
  parse=("$makes" eval -q --parse)
  # Evaluation may write to the store (toFile, path literals): a scratch store, not the user's.
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  export MAKES_STORE_DIR="$scratch/store" XDG_CACHE_HOME="$scratch/cache"
fi

# The suite's .flags files name their files lang/...: run from a folder where lang/ is it.
work=$(mktemp -d)
trap 'rm -rf "$work" ${scratch:+"$scratch"}' EXIT
# A copy, not a link: `./.` in a case is then a directory, as in Nix's own runner (builtins.path
# of a symlink adds the link).
cp -R "$suite" "$work/lang"
cd "$work" || exit 2
export TEST_VAR=foo
unset NIX_PATH

declare -A passed total
failed_names=()
skipped=()
fail() { # KIND NAME REASON
  failed_names+=("$2")
  [ -n "${nix_fails[$2]:-}" ] || echo "FAIL $2: $3"
}
count() { # KIND NAME OK
  if [ -n "${nix_fails[$2]:-}" ]; then
    skipped+=("$2")
    return
  fi
  total[$1]=$(( ${total[$1]:-0} + 1 ))
  [ "$3" = 1 ] && passed[$1]=$(( ${passed[$1]:-0} + 1 ))
  return 0
}
run() { # runs a command with a deadline, its stdout to $out, stderr to $err
  timeout 120 "$@" >"$work/out" 2>"$work/err" </dev/null
}
show_err() {
  [ "$verbose" = 1 ] && sed 's/^/    /' "$work/err" | head -5
  return 0
}

eval_args() { # prints nothing: sets the array `cmd` to the evaluator with --eval where needed
  if [ "$use_nix" = 1 ]; then cmd=("${evaluator[@]}" --eval); else cmd=("${evaluator[@]}"); fi
}

for file in lang/parse-fail-*.nix; do
  [ -e "$file" ] || continue
  name=$(basename "$file" .nix)
  if run "${parse[@]}" "$file"; then fail parse-fail "$name" "parsed"; count parse-fail "$name" 0
  else count parse-fail "$name" 1; fi
done

for file in lang/parse-okay-*.nix; do
  [ -e "$file" ] || continue
  name=$(basename "$file" .nix)
  if run "${parse[@]}" "$file"; then count parse-okay "$name" 1
  else fail parse-okay "$name" "did not parse: $(head -c 300 "$work/err" | tr '\n' ' ')"; show_err; count parse-okay "$name" 0; fi
done

# Flags of a case for the evaluator: makes eval always evaluates, and has no trace switches.
case_flags() { # FILE -> array `flags`
  flags=()
  [ -e "$1" ] || return 0
  # Word-split as Nix's runner does (`$(cat lang/NAME.flags)` unquoted; newer: comments cut).
  read -r -a flags < <(sed -e 's/#.*//' "$1" | tr '\n' ' ')
  if [ "$use_nix" = 0 ]; then
    local kept=() f
    for f in "${flags[@]}"; do
      case $f in --eval | --show-trace | --no-show-trace) ;; *) kept+=("$f") ;; esac
    done
    flags=("${kept[@]}")
  fi
}

for file in lang/eval-fail-*.nix; do
  [ -e "$file" ] || continue
  name=$(basename "$file" .nix)
  eval_args
  if [ "$newer" = 1 ] && [ -e "lang/$name.flags" ]; then
    case_flags "lang/$name.flags"
    if [ "$use_nix" = 1 ]; then cmd=("${evaluator[@]}"); fi
  elif [ "$newer" = 1 ]; then
    flags=(--strict)
  else
    flags=()
  fi
  run "${cmd[@]}" "${flags[@]}" "$file"
  status=$?
  if [ "$status" = 0 ]; then
    fail eval-fail "$name" "evaluated"; count eval-fail "$name" 0
  elif grep -q "unrecognised flag" "$work/err"; then
    # Nix refusing a flag of a newer Nix's case did not evaluate it at all.
    fail eval-fail "$name" "the evaluator lacks a flag: $(grep -m1 'unrecognised flag' "$work/err")"; count eval-fail "$name" 0
  elif [ "$status" != 1 ]; then
    # An evaluation error is exit code 1; anything else is a crash, a panic or the deadline.
    fail eval-fail "$name" "exit code $status"; show_err; count eval-fail "$name" 0
  else
    count eval-fail "$name" 1
  fi
done

check_output() { # KIND NAME EXPECTED
  if [ "$newer" = 1 ]; then sed -i "s!$work!/pwd!g" "$work/out"; fi
  if ! cmp -s "$work/out" "$3"; then
    fail "$1" "$2" "output differs"
    [ "$verbose" = 1 ] && diff "$work/out" "$3" | head -10 | sed 's/^/    /'
    count "$1" "$2" 0
  else
    count "$1" "$2" 1
  fi
}

for file in lang/eval-okay-*.nix; do
  [ -e "$file" ] || continue
  name=$(basename "$file" .nix)
  eval_args
  expect_text=1
  if [ "$newer" = 1 ] && { [ -e "lang/$name.exp.xml" ] || [ -e "lang/$name.exp-disabled" ]; }; then
    expect_text=0
  fi
  if [ "$expect_text" = 1 ] && [ -e "lang/$name.exp" ]; then
    case_flags "lang/$name.flags"
    if ! NIX_PATH=lang/dir3:lang/dir4 HOME=$([ "$newer" = 1 ] && echo /fake-home || echo "$HOME") \
      run "${cmd[@]}" "${flags[@]}" --strict "$file"; then
      fail eval-okay "$name" "did not evaluate: $(grep -m1 -i 'error' "$work/err" | head -c 300)"; show_err; count eval-okay "$name" 0
    else
      check_output eval-okay "$name" "lang/$name.exp"
    fi
  fi
  if [ -e "lang/$name.exp.xml" ]; then
    xml=(--xml --no-location)
    if ! run "${cmd[@]}" "${xml[@]}" --strict "$file"; then
      fail eval-okay-xml "$name.xml" "did not evaluate: $(grep -m1 -i 'error' "$work/err" | head -c 300)"; count eval-okay-xml "$name.xml" 0
    else
      check_output eval-okay-xml "$name.xml" "lang/$name.exp.xml"
    fi
  fi
done

for kind in parse-fail parse-okay eval-fail eval-okay eval-okay-xml; do
  [ -n "${total[$kind]:-}" ] && echo "$kind: ${passed[$kind]:-0} of ${total[$kind]} passed"
done
if [ "${#skipped[@]}" -gt 0 ]; then
  echo "not counted (the reference Nix fails them too): ${#skipped[@]}: ${skipped[*]}"
fi
if [ -n "$failures_file" ]; then
  printf '%s\n' "${failed_names[@]}" | sed '/^$/d' | LC_ALL=C sort >"$failures_file"
fi
exit 0
