//! The makes store: Nix-compatible store paths, NAR serialisation, the local store on disk,
//! and the builders that fill it.

mod path;

pub use path::{PathInfo, StorePath, STORE_DIR};
