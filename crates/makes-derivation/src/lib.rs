//! Nix derivations as Nix 2.8 makes them: the `.drv` format ([`Derivation`], its ATerm text),
//! Nix's hashes ([`NixHash`]), `hashDerivationModulo` and the output paths it gives, and the
//! built-ins that instantiate derivations (`derivationStrict`, `derivation`, `placeholder`).
//!
//! The format and hashing are pure; the built-ins keep every instantiated derivation in a
//! [`Derivations`] registry (in memory: makes never writes `/nix/store`), from which the store
//! can build them. This crate sits between the store (store paths, nix-base32) and makes'
//! arguments (which register its built-ins with the evaluator).

mod builtins;
mod convert_hash;
mod drv;
mod error;
mod fetch;
mod hash;
mod realise;
mod registry;
mod store_paths;
mod structured_attrs;
mod to_file;

pub use builtins::derivation_builtins;
pub use drv::{Derivation, DrvOutput};
pub use error::DerivationError;
pub use fetch::{fetch_builtins, DeferredFetches, Fetchers};
pub use hash::{HashAlgo, NixHash};
pub use realise::realise;
pub use registry::{Derivations, OutputHashes};
pub use store_paths::{
    fixed_output_path, hash_placeholder, output_path, output_path_name, text_path, IngestionMethod,
};
