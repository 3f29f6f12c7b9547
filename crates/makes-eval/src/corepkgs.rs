//! Nix's own Nix files, found as `<nix/NAME>` after every search-path entry, as Nix 2.8
//! serves them from memory under `/__corepkgs__/`: only `fetchurl.nix` (a fixed-output
//! derivation with the builder `builtin:fetchurl`), kept as Nix 2.8 has it.

/// Where these files seem to be.
pub(crate) const PREFIX: &str = "/__corepkgs__/";

const FILES: &[(&str, &str)] = &[("fetchurl.nix", include_str!("corepkgs/fetchurl.nix"))];

/// The path of `<nix/NAME>`, if Nix has such a file.
pub(crate) fn lookup(name: &str) -> Option<String> {
    let file = name.strip_prefix("nix/")?;
    FILES
        .iter()
        .any(|(n, _)| *n == file)
        .then(|| format!("{PREFIX}{file}"))
}

/// The text of one of these files, by path.
pub(crate) fn source(path: &std::path::Path) -> Option<&'static str> {
    let file = path.to_str()?.strip_prefix(PREFIX)?;
    FILES
        .iter()
        .find(|(n, _)| *n == file)
        .map(|(_, text)| *text)
}
