#!/usr/bin/env bash
# Builds makes and runs the job /hello of the bundled example (fixtures/hello), printing the
# path of the image archive. The example copies the host's static busybox into its image.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh busybox-static
cargo build --release --locked --bin makes >&2
exec "${CARGO_TARGET_DIR:-target}/release/makes" --project fixtures/hello /hello
