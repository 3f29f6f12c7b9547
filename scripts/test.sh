#!/usr/bin/env bash
# The whole test suite: installs what the tests use (skopeo, umoci and runc read and run the
# images; nix-bin is the reference evaluator and store; busybox-static goes into test images;
# docker-registry, htpasswd (apache2-utils) and openssl make real registries for the
# registry client's tests; python3.11-venv and patchelf make the stand-in package set's
# python311; shellcheck, shfmt, black, isort, bandit, reuse, yq and ruby-mdl are the tools of
# makes' modules that the module-job tests wrap as stand-in packages), then runs every test,
# with missing tools treated as failures rather than skips, and ends with one line adding up
# all test binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh skopeo umoci runc oci-image-tool busybox-static nix-bin docker-registry apache2-utils openssl python3.11-venv patchelf shellcheck shfmt black isort bandit reuse yq ruby-mdl
# The language environments' tests (tests/e2e/language_envs.rs) wrap the host's jq, gpg,
# ruby (gem), node and npm, and builders serve on loopback with python3. A node from
# elsewhere (nodesource) brings its own npm, and conflicts with Debian's.
bash scripts/install-deps.sh jq gnupg ruby python3
command -v npm >/dev/null || bash scripts/install-deps.sh nodejs npm
# makes' Python checks (tests/e2e/python_checks.rs) wrap makes' pinned mypy, prospector,
# import-linter and pytest, installed from PyPI into a virtual environment of python3.11.
bash scripts/install-python-tools.sh
# Debian's nix-bin without nix-setup-systemd has no build users: root's Nix builds would stop
# at "the group 'nixbld' ... does not exist". The tests' Nix builds run without build users,
# and without Nix's sandbox: Debian's Nix has no sandbox shell, so a sandboxed builder cannot
# run /bin/sh (makes' own builds still run in makes' sandbox).
if [ "$(id -u)" -eq 0 ] && ! getent group nixbld >/dev/null && [ ! -e /etc/nix/nix.conf ]; then
  mkdir -p /etc/nix
  printf 'build-users-group =\nsandbox = false\n' > /etc/nix/nix.conf
fi
export MAKES_REQUIRE_TOOLS=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked --all-targets --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
