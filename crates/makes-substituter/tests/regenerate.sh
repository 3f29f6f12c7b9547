#!/usr/bin/env bash
# Regenerates the substituter's fixtures with real Nix (Debian's nix-bin, Nix 2.8; run as root,
# no daemon, no sandbox): builds the three derivations of fixtures/closure.nix, signs them
# with a fresh key "makes-test-cache-1" and copies them into one binary cache per compression
# (fixtures/cache-{xz,zstd,bzip2,none}/), then records:
#   fixtures/cache.pk      the public key of the caches (name:base64)
#   fixtures/impostor.pk   a public key with the same name but another key (signatures do not
#                          verify under it)
#   fixtures/path-info.json  `nix path-info --json -r` of the closure: the lock metadata
# The secret keys are thrown away. The tests only read these files and need no Nix.
set -euo pipefail
cd "$(dirname "$0")/fixtures"
command -v nix-build >/dev/null || { echo "nix-build is missing: apt-get install nix-bin" >&2; exit 1; }
nix=(nix --extra-experimental-features nix-command)
keys=$(mktemp -d)
trap 'rm -rf "$keys"' EXIT
top=$(nix-build --no-out-link --option substituters '' closure.nix)
nix-store --generate-binary-cache-key makes-test-cache-1 "$keys/sk" "$keys/pk"
nix-store --generate-binary-cache-key makes-test-cache-1 "$keys/impostor.sk" "$keys/impostor.pk"
for compression in xz zstd bzip2 none; do
  rm -rf "cache-$compression"
  "${nix[@]}" copy --to "file://$PWD/cache-$compression?secret-key=$keys/sk&compression=$compression" "$top"
done
cp "$keys/pk" cache.pk
cp "$keys/impostor.pk" impostor.pk
"${nix[@]}" path-info --json -r "$top" | python3 -c 'import json,sys; json.dump(json.load(sys.stdin), sys.stdout, indent=2, sort_keys=True); print()' > path-info.json
echo "recorded $(ls cache-xz/*.narinfo | wc -l) paths in 4 caches"
