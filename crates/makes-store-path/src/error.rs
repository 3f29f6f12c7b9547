//! The one error type of the store-path crate: a string that is not a store path, a name
//! Nix would refuse, or text that is not nix-base32. Each variant carries the text it is about.

use miette::Diagnostic;
use thiserror::Error;

/// Why a string is not a store path (or a store path name, or nix-base32).
///
/// The diagnostic codes are the store's (`makes::store::...`): these errors were the store
/// crate's before the type moved here, and users may match on them.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum StorePathError {
    /// A string that should be a store path is not one.
    #[error("invalid store path {path:?}: {reason}")]
    #[diagnostic(code(makes::store::invalid_store_path))]
    InvalidStorePath { path: String, reason: &'static str },

    /// A store path name breaks Nix's naming rules.
    #[error("invalid store path name {name:?}: {reason}")]
    #[diagnostic(code(makes::store::invalid_name))]
    InvalidName { name: String, reason: &'static str },

    /// A string is not valid nix-base32.
    #[error("invalid nix-base32 string {input:?}")]
    #[diagnostic(code(makes::store::invalid_nixbase32))]
    InvalidNixBase32 { input: String },
}
