#!/usr/bin/env bash
# Installs the Python linters and test runner of makes' lintPython, lintPythonImports and
# testPython modules, at the versions makes pins (its src/args/*/pyproject.toml of 24.02), into
# one virtual environment of Debian's python3.11 under /usr/local (build sandboxes see /usr).
# The stand-in package set's python311Packages.{mypy,prospector,pylint,import-linter,pytest}
# wrap them. Needs PyPI; does nothing when they are installed already.
set -euo pipefail
dir=/usr/local/lib/makes-python-tools
tools=(mypy==1.9.0 prospector==1.10.3 pylint==2.17.7 import-linter==1.2.4 pytest==7.2.0)
if [ -x "$dir/bin/python3" ] && "$dir/bin/python3" -m pip freeze 2>/dev/null \
  | grep -qixF -e "${tools[0]}" && [ -x "$dir/bin/prospector" ] && [ -x "$dir/bin/lint-imports" ] \
  && [ -x "$dir/bin/pytest" ]; then
  exit 0
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "installing into $dir: ${tools[*]}" >&2
"${as_root[@]}" /usr/bin/python3.11 -m venv "$dir"
"${as_root[@]}" "$dir/bin/python3" -m pip install -q "${tools[@]}" >&2
