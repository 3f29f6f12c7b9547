//! The store of a Nix installation (`/nix/store`), read, never written: a path that makes
//! needs and Nix has (a package built by Nix, `builtins.storePath`) is copied into makes' own
//! store under the same name, with the references Nix recorded for it, after its NAR hash is
//! checked against the one Nix recorded. Nix is asked through `nix-store --query`, so its
//! database is read the way Nix itself reads it.

use crate::error::{Result, StoreError};
use crate::hash::parse_sha256;
use crate::local::LocalStore;
use crate::nar::nar_hash_and_size;
use crate::path::{PathInfo, StorePath, STORE_DIR};
use std::path::Path;
use std::process::Command;

/// What Nix says of a valid path.
struct NixPathInfo {
    references: Vec<StorePath>,
    nar_hash: [u8; 32],
}

/// Asks Nix about `path`; `None` when Nix is not installed or does not have it.
fn query(path: &StorePath) -> Option<NixPathInfo> {
    let abs = path.to_absolute();
    if std::fs::symlink_metadata(&abs).is_err() {
        return None;
    }
    let ask = |flag: &str| -> Option<String> {
        let out = Command::new("nix-store")
            .args(["--query", flag, &abs])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let references = ask("--references")?
        .lines()
        .filter_map(|l| StorePath::parse(l.trim()).ok())
        .collect();
    let nar_hash = parse_sha256(ask("--hash")?.trim())?;
    Some(NixPathInfo {
        references,
        nar_hash,
    })
}

impl LocalStore {
    /// Makes `path` valid from the host's Nix store if Nix has it (and, first, everything it
    /// refers to); `Ok(None)` when Nix does not have it. Nothing is written to `/nix/store`.
    pub fn import_from_nix(&self, path: &StorePath) -> Result<Option<PathInfo>> {
        if self.is_valid(path) {
            return self.path_info(path).map(Some);
        }
        // Our own store may live at /nix/store only if Nix does not (see the CLI's check).
        if self.store_dir() == Path::new(STORE_DIR) {
            return Ok(None);
        }
        let Some(info) = query(path) else {
            return Ok(None);
        };
        for reference in info.references.iter().filter(|r| *r != path) {
            if self.import_from_nix(reference)?.is_none() {
                return Err(StoreError::PathNotValid {
                    path: reference.clone(),
                });
            }
        }
        let source = Path::new(STORE_DIR).join(path.base_name());
        let (hash, size) = nar_hash_and_size(&source)?;
        if hash != info.nar_hash {
            return Err(StoreError::HashMismatch {
                path: path.clone(),
                expected: crate::nixbase32::encode(&info.nar_hash),
                found: crate::nixbase32::encode(&hash),
            });
        }
        self.install_copy(&source, path, &|_| true, (hash, size), info.references)?;
        self.path_info(path).map(Some)
    }
}
