//! The errors of derivations: a hash that does not parse, a `.drv` text that does not parse,
//! a derivation the registry does not know.

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum DerivationError {
    #[error("{message}")]
    #[diagnostic(code(makes::derivation::bad_hash))]
    BadHash { message: String },

    #[error("the derivation '{path}' is not known to this evaluation")]
    #[diagnostic(code(makes::derivation::unknown_derivation))]
    UnknownDerivation { path: String },

    #[error("building '{path}': {message}")]
    #[diagnostic(code(makes::derivation::build_failed))]
    Build { path: String, message: String },

    #[error("'{path}' is not a valid derivation: {reason}")]
    #[diagnostic(code(makes::derivation::malformed))]
    Malformed { path: String, reason: String },
}
