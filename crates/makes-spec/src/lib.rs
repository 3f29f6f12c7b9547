//! Typed makes job specs reduced from evaluated Nix values.
//!
//! The evaluator hands over values; this crate turns them into plain data (`ImageSpec`,
//! `DerivationSpec`) with the documented defaults, reporting mistakes with the span of the
//! attribute they are about. Later stages (store, image builder) only see these types.

mod derivation;
mod image;

pub use derivation::{DerivationSpec, SearchPaths};
pub use image::{host_architecture, Compressor, Created, ImageSpec, DEFAULT_CREATED};
