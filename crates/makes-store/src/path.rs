//! Store paths as Nix names them: `/nix/store/<32 nix-base32 chars>-<name>`.

use serde::{Deserialize, Serialize};

/// The logical store directory every store path is named under, wherever the store lives on
/// disk (builders and images see paths under this name).
pub const STORE_DIR: &str = "/nix/store";

/// A store path: the 32-character hash part and the name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StorePath {
    /// The 32-character nix-base32 hash part.
    pub hash: String,
    /// The name after the dash.
    pub name: String,
}

impl StorePath {
    /// The base name `<hash>-<name>`, as found in the store directory.
    pub fn base_name(&self) -> String {
        format!("{}-{}", self.hash, self.name)
    }

    /// The absolute logical path `/nix/store/<hash>-<name>`.
    pub fn to_absolute(&self) -> String {
        format!("{STORE_DIR}/{}", self.base_name())
    }
}

impl std::fmt::Display for StorePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_absolute())
    }
}

/// What the store knows of a valid path: the closure graph the image builder lays out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathInfo {
    pub path: StorePath,
    /// Store paths this path's contents refer to (possibly itself).
    pub references: Vec<StorePath>,
    /// Size of the NAR serialisation in bytes.
    pub nar_size: u64,
    /// `sha256:<nix-base32>` of the NAR serialisation.
    pub nar_hash: String,
}
