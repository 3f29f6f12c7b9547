#!/usr/bin/env bash
# The whole test suite: installs what the tests use (skopeo, umoci and runc read and run the
# images; nix-bin is the reference evaluator and store; busybox-static goes into test images),
# then runs every test, with missing tools treated as failures rather than skips.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh skopeo umoci runc oci-image-tool busybox-static nix-bin
export MAKES_REQUIRE_TOOLS=1
cargo test --workspace --locked "$@"
