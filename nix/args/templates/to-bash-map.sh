# shellcheck shell=bash

eval declare -A "${1}"='(' __argMap__ ')'
