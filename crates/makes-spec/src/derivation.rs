//! `DerivationSpec`: what a `makeDerivation` call asks for, as plain data.
//!
//! Argument rules are makes' own (`src/args/make-derivation/default.nix`).

use makes_store_path::StorePath;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `searchPaths` of a `makeDerivation`, each a list of store paths (absolute
/// `/nix/store/...`). Only the kinds makes documents; order is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPaths {
    /// Each `<path>/bin` is put on `PATH`, in order, after coreutils.
    pub bin: Vec<String>,
    /// Each file is `source`d before the builder runs.
    pub source: Vec<String>,
    /// `NAME`, value-directory, suffix triples: `export NAME="<dir><suffix>${NAME:+:}${NAME:-}"`.
    pub export: Vec<(String, String, String)>,
}

/// A typed `makeDerivation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DerivationSpec {
    /// The store name, already sanitised as `lib.strings.sanitizeDerivationName` does.
    pub name: String,
    /// The builder script text (a path builder is read into text).
    pub builder: String,
    /// Variables exported to the builder; keys start with `env` or `__`. Values are Nix
    /// strings, so any bytes: bytes that are not UTF-8 are held as the text that stands for
    /// them (`makes_syntax::byte_text`), and hashed and given to the builder as the bytes.
    pub env: BTreeMap<String, String>,
    /// Variables whose values are written to files; the builder gets `$<KEY>Path`. Values
    /// as in `env`.
    pub env_files: BTreeMap<String, String>,
    pub search_paths: SearchPaths,
    /// `Some(hash)`: fixed-output (recursive sha256), the network is kept.
    pub sha256: Option<String>,
    pub local: bool,
    /// Every store path the builder, env and search paths refer to (their string contexts),
    /// sorted and deduplicated: the build's inputs.
    pub input_paths: Vec<StorePath>,
}
