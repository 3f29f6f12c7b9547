# shellcheck shell=bash

# makes' builder of makePythonPypiEnvironment: a venv holding exactly the closure, installed
# offline from the fetched files (pip's --find-links reads them where makes' pypi-mirror
# served them as an index), without pip left in it.
function main {
  local pip=(
    python -m pip
  )
  local pip_install=(
    "${pip[@]}" install
    --cache-dir .
    --no-index
    --find-links "file://${envDownloads}"
    --no-deps
  )

  # Byte-compiled files are the same on every build: hash-based (SOURCE_DATE_EPOCH is set)
  # and marshalled with a fixed hash seed.
  export PYTHONHASHSEED=0

  "${envPython}/bin/python" -m venv "${out}" \
    && source "${out}/bin/activate" \
    && HOME=. "${pip_install[@]}" --requirement "${envClosure}" \
    && HOME=. "${pip[@]}" uninstall -y pip
}

main "${@}"
