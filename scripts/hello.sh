#!/usr/bin/env bash
# Builds makes and runs the job /hello of the bundled example (fixtures/hello), printing the
# path of the image archive. The example copies the host's static busybox into its image.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh busybox-static
target="${CARGO_TARGET_DIR:-target}"
if [ ! -x "$target/release/makes" ]; then
  echo "hello.sh: the first build compiles makes and its dependencies: a few minutes" >&2
fi
cargo build --release --locked --bin makes >&2
"$target/release/makes" --project fixtures/hello /hello
bin_dir=$(cd "$target/release" && pwd)
cat >&2 <<NEXT

hello.sh: makes is at $bin_dir/makes. Next:
  export PATH="$bin_dir:\$PATH"
  makes --project fixtures/hello --list     # the example's jobs
  docker load -i "\$(makes --project fixtures/hello /hello)"   # if Docker is installed
  makes --help                              # everything else; README.md has a quick start
NEXT
