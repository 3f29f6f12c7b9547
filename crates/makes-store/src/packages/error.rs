//! Why the package backend cannot answer a question about a package set: the cause the
//! evaluator's package values report (in their own words) when a name cannot be resolved,
//! listed or called. Cloneable, since answers (failures too) are remembered per evaluation.

use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

use super::lock::LOCK_FILE;

/// What the package backend could not do, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum PackageError {
    /// No set of this evaluation has this identity.
    #[error("unknown package set {set}")]
    #[diagnostic(code(makes::packages::unknown_set))]
    UnknownSet { set: String },

    /// Listing a set's names needs Nix.
    #[error("only the nix package backend lists a package set: run with --packages nix")]
    #[diagnostic(code(makes::packages::listing_needs_nix))]
    ListingNeedsNix,

    /// A pinned set's source is fetched by Nix.
    #[error("a fetchNixpkgs set's source is fetched by Nix (backend \"nix\")")]
    #[diagnostic(code(makes::packages::source_needs_nix))]
    SourceNeedsNix,

    /// A pinned set's `lib` is not at hand, and no stand-in was named.
    #[error("{cause} (the option nixpkgs-lib may name a nixpkgs lib directory to read instead)")]
    #[diagnostic(code(makes::packages::lib_unavailable))]
    LibUnavailable { cause: String },

    /// Nix failed to answer (its message, and what makes knows of why).
    #[error("{message}")]
    #[diagnostic(code(makes::packages::nix))]
    Nix { message: String },

    /// Backend "lock" without a lock file.
    #[error("there is no {LOCK_FILE} in {} and the package backend is \"lock\": run `makes lock` where Nix is installed, or use --packages nix", dir.display())]
    #[diagnostic(code(makes::packages::no_lock_file))]
    NoLockFile { dir: PathBuf },

    /// Backend "lock", and the lock file does not cover the reference.
    #[error("{LOCK_FILE} does not lock '{attr_path}' of {set}: run `makes lock` again where Nix is installed")]
    #[diagnostic(code(makes::packages::not_locked))]
    NotLocked { set: String, attr_path: String },

    /// A symbolic evaluation (`makes show`, `--list`) resolves no package.
    #[error("packages are not resolved in this evaluation")]
    #[diagnostic(code(makes::packages::symbolic))]
    Symbolic,
}
