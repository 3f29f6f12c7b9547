//! Where a package set comes from (`fetchNixpkgs` or makes' own pin, a checkout), as the Nix
//! expression that imports it and as the identity the lock file keys its packages by.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The origin of a nixpkgs-like package set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SetOrigin {
    /// `fetchNixpkgs { rev; sha256; }`, or the nixpkgs a makes release pins (`__nixpkgs__`):
    /// the GitHub archive of that nixpkgs revision.
    Github { rev: String, sha256: String },
    /// A checkout on disk (absolute here; project-relative in the identity).
    Checkout(PathBuf),
}

/// One overlay of a package set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Overlay {
    /// A Nix file holding `self: super: { ... }`.
    File(PathBuf),
    /// `self: super: { ... }` written in makes.nix: its source text, handed to Nix as it is
    /// (so it may use only its own arguments and Nix's builtins).
    Source(String),
}

/// A package set: its origin and the arguments nixpkgs is imported with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageSetSource {
    pub origin: SetOrigin,
    pub allow_unfree: bool,
    /// Overlays, applied in order.
    pub overlays: Vec<Overlay>,
}

impl PackageSetSource {
    /// A stable name of the set, the same on every machine: paths inside the project are
    /// written relative to it. The lock file keys packages by it.
    pub fn identity(&self, project_dir: &Path) -> String {
        let relative = |p: &Path| match p.strip_prefix(project_dir) {
            Ok(rest) => format!("./{}", rest.display()),
            Err(_) => p.display().to_string(),
        };
        let mut id = match &self.origin {
            SetOrigin::Github { rev, sha256 } => {
                format!("github:nixos/nixpkgs/{rev}?sha256={sha256}")
            }
            SetOrigin::Checkout(path) => format!("path:{}", relative(path)),
        };
        if !self.allow_unfree {
            id.push_str(" allowUnfree=false");
        }
        for overlay in &self.overlays {
            match overlay {
                Overlay::File(path) => id.push_str(&format!(" overlay={}", relative(path))),
                Overlay::Source(text) => {
                    use sha2::{Digest, Sha256};
                    let digest = Sha256::digest(text.as_bytes());
                    let hex: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
                    id.push_str(&format!(" overlay=sha256:{hex}"));
                }
            }
        }
        id
    }

    /// The Nix expression evaluating to the package set.
    pub fn nix_expression(&self) -> String {
        let source = match &self.origin {
            SetOrigin::Github { rev, sha256 } => format!(
                "(builtins.fetchTarball {{ url = {}; sha256 = {}; }})",
                nix_string(&format!(
                    "https://github.com/nixos/nixpkgs/archive/{rev}.tar.gz"
                )),
                nix_string(sha256)
            ),
            SetOrigin::Checkout(path) => nix_path(path),
        };
        let overlays: Vec<String> = self
            .overlays
            .iter()
            .map(|o| match o {
                Overlay::File(p) => format!("(import {})", nix_path(p)),
                Overlay::Source(text) => format!("({text})"),
            })
            .collect();
        format!(
            "(import {source} {{ config = {{ allowUnfree = {}; }}; overlays = [ {} ]; }})",
            self.allow_unfree,
            overlays.join(" ")
        )
    }
}

/// A Nix string literal holding `s` (the evaluator's own quoting).
pub fn nix_string(s: &str) -> String {
    makes_eval::quote_string(s)
}

/// A Nix expression for the absolute path `p`, whatever characters it holds.
fn nix_path(p: &Path) -> String {
    format!("(/. + {})", nix_string(&p.to_string_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_for_nix() {
        assert_eq!(nix_string("a\"b\\c${d}$e"), r#""a\"b\\c\${d}$e""#);
    }

    #[test]
    fn identities_are_project_relative() {
        let project = Path::new("/home/u/project");
        let set = PackageSetSource {
            origin: SetOrigin::Checkout(project.join("nix/pkgs")),
            allow_unfree: true,
            overlays: vec![Overlay::File(project.join("overlay.nix"))],
        };
        assert_eq!(
            set.identity(project),
            "path:./nix/pkgs overlay=./overlay.nix"
        );
    }

    #[test]
    fn fetched_sets_import_the_github_archive() {
        let set = PackageSetSource {
            origin: SetOrigin::Github {
                rev: "abc".into(),
                sha256: "0xyz".into(),
            },
            allow_unfree: false,
            overlays: Vec::new(),
        };
        assert_eq!(
            set.nix_expression(),
            "(import (builtins.fetchTarball { url = \"https://github.com/nixos/nixpkgs/archive/abc.tar.gz\"; sha256 = \"0xyz\"; }) { config = { allowUnfree = false; }; overlays = [  ]; })"
        );
    }
}
