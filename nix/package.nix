# The makes binary as a Nix package (used by flake.nix).
{ lib, rustPlatform }:
rustPlatform.buildRustPackage {
  pname = "makes";
  version = "0.1.0";
  src = lib.cleanSource ../.;
  cargoLock.lockFile = ../Cargo.lock;
  cargoBuildFlags = [ "--bin" "makes" ];
  # The end-to-end tests need skopeo, umoci, runc and user namespaces: run them outside Nix.
  doCheck = false;
  meta = {
    description = "Build makes.nix container-image jobs into OCI images, without Nix";
    mainProgram = "makes";
    license = lib.licenses.mit;
  };
}
