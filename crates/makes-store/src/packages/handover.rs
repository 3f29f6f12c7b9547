//! Handing paths makes built itself to Nix's store, so that a call Nix makes
//! (`stdenv.mkDerivation { src = <a makes-built path>; }`) can build with them.
//!
//! Nix receives them through Nix itself: makes writes the closure's paths that Nix lacks in
//! the format of `nix-store --export` and pipes it into `nix-store --import`
//! (`src/libstore/export-import.cc`), which checks and registers them. makes never writes
//! `/nix/store` itself. A path keeps its name, contents and references, so Nix sees exactly
//! the path the call's code names.

use crate::error::StoreError;
use crate::local::LocalStore;
use crate::nar::write_nar;
use crate::path::{PathInfo, StorePath};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

/// What `nix-store --export` writes after each path's NAR (`exportMagic`).
const EXPORT_MAGIC: u64 = 0x4558_494e;

/// Makes `roots` and their closures (valid in `store`) valid in Nix's store too; returns
/// the paths Nix was given (those it had already are left alone).
pub fn hand_to_nix(store: &LocalStore, roots: &[StorePath]) -> Result<Vec<StorePath>, StoreError> {
    let closure = store.closure(roots)?;
    let lacking = invalid_in_nix(closure.iter().map(|i| i.path.to_absolute()))?;
    let wanted: Vec<PathInfo> = closure
        .into_iter()
        .filter(|i| lacking.contains(&i.path.to_absolute()))
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let ordered = references_first(wanted);
    let mut child = Command::new("nix-store")
        .arg("--import")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| StoreError::Nix {
            message: format!("cannot run nix-store --import: {e}"),
        })?;
    let written = match child.stdin.take() {
        Some(stdin) => write_export(store, &ordered, std::io::BufWriter::new(stdin)),
        None => Ok(()),
    };
    let out = child.wait_with_output().map_err(|e| StoreError::Nix {
        message: format!("nix-store --import: {e}"),
    })?;
    let names: Vec<String> = ordered.iter().map(|i| i.path.to_absolute()).collect();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(StoreError::Nix {
            message: format!(
                "nix-store --import refused the paths makes built for a call Nix makes ({}): {}",
                names.join(", "),
                stderr.trim()
            ),
        });
    }
    written?;
    Ok(ordered.into_iter().map(|i| i.path).collect())
}

/// The paths of `paths` Nix's store does not have (`nix-store --check-validity`).
fn invalid_in_nix(paths: impl Iterator<Item = String>) -> Result<BTreeSet<String>, StoreError> {
    let paths: Vec<String> = paths.collect();
    if paths.is_empty() {
        return Ok(BTreeSet::new());
    }
    let out = Command::new("nix-store")
        .args(["--check-validity", "--print-invalid"])
        .args(&paths)
        .output()
        .map_err(|e| StoreError::Nix {
            message: format!("cannot run nix-store --check-validity: {e}"),
        })?;
    if !out.status.success() {
        return Err(StoreError::Nix {
            message: format!(
                "nix-store --check-validity failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect())
}

/// `infos` ordered so that every path comes after the paths it refers to (Nix registers a
/// path only when its references are valid).
fn references_first(infos: Vec<PathInfo>) -> Vec<PathInfo> {
    let mut by_path: BTreeMap<StorePath, PathInfo> =
        infos.into_iter().map(|i| (i.path.clone(), i)).collect();
    let keys: Vec<StorePath> = by_path.keys().cloned().collect();
    let mut placed: BTreeSet<StorePath> = BTreeSet::new();
    let mut order = Vec::with_capacity(keys.len());
    for root in keys {
        // An explicit stack: (path, whether its references are placed).
        let mut stack = vec![(root, false)];
        while let Some((path, ready)) = stack.pop() {
            if placed.contains(&path) {
                continue;
            }
            if ready {
                placed.insert(path.clone());
                order.push(path);
                continue;
            }
            let Some(info) = by_path.get(&path) else {
                continue;
            };
            stack.push((path.clone(), true));
            for r in info.references.iter().rev() {
                if *r != path && !placed.contains(r) && by_path.contains_key(r) {
                    stack.push((r.clone(), false));
                }
            }
        }
    }
    order
        .into_iter()
        .filter_map(|p| by_path.remove(&p))
        .collect()
}

/// Writes `infos` as `nix-store --export` does: per path `1`, its NAR, the magic, its name,
/// its references, no deriver and no signature; `0` at the end.
fn write_export(
    store: &LocalStore,
    infos: &[PathInfo],
    mut out: impl Write,
) -> Result<(), StoreError> {
    let pipe = |e: std::io::Error| StoreError::Nix {
        message: format!("writing to nix-store --import: {e}"),
    };
    for info in infos {
        put_u64(&mut out, 1).map_err(pipe)?;
        let real = store.real_path(&info.path);
        write_nar(&real, &mut out).map_err(|e| match e {
            StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe => {
                pipe(source)
            }
            other => other,
        })?;
        put_u64(&mut out, EXPORT_MAGIC).map_err(pipe)?;
        put_str(&mut out, info.path.to_absolute().as_bytes()).map_err(pipe)?;
        put_u64(&mut out, info.references.len() as u64).map_err(pipe)?;
        for r in &info.references {
            put_str(&mut out, r.to_absolute().as_bytes()).map_err(pipe)?;
        }
        put_str(&mut out, b"").map_err(pipe)?;
        put_u64(&mut out, 0).map_err(pipe)?;
    }
    put_u64(&mut out, 0).map_err(pipe)?;
    out.flush().map_err(pipe)
}

fn put_u64(out: &mut impl Write, n: u64) -> std::io::Result<()> {
    out.write_all(&n.to_le_bytes())
}

/// A string of Nix's wire format: its length, its bytes, zero padding to 8.
fn put_str(out: &mut impl Write, s: &[u8]) -> std::io::Result<()> {
    put_u64(out, s.len() as u64)?;
    out.write_all(s)?;
    let pad = (8 - s.len() % 8) % 8;
    out.write_all(&[0u8; 8][..pad])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(path: &str, refs: &[&str]) -> PathInfo {
        let sp = |p: &str| StorePath::parse(p).expect("a store path");
        PathInfo {
            path: sp(path),
            references: refs.iter().map(|r| sp(r)).collect(),
            nar_size: 0,
            nar_hash: String::new(),
        }
    }

    #[test]
    fn references_come_first() {
        let a = "/nix/store/00000000000000000000000000000000-a";
        let b = "/nix/store/11111111111111111111111111111111-b";
        let c = "/nix/store/22222222222222222222222222222222-c";
        // a refers to c and itself; c to b.
        let order: Vec<String> =
            references_first(vec![info(a, &[a, c]), info(b, &[]), info(c, &[b])])
                .into_iter()
                .map(|i| i.path.to_absolute())
                .collect();
        assert_eq!(order, vec![b, c, a]);
    }

    #[test]
    fn strings_are_padded_as_nix_writes_them() {
        let mut out = Vec::new();
        put_str(&mut out, b"abc").expect("written");
        assert_eq!(
            out,
            [3, 0, 0, 0, 0, 0, 0, 0, b'a', b'b', b'c', 0, 0, 0, 0, 0]
        );
        let mut out = Vec::new();
        put_str(&mut out, b"").expect("written");
        assert_eq!(out, [0u8; 8]);
    }

    #[test]
    fn nix_receives_a_closure_with_its_contents_and_references() {
        if !super::super::nix_available() {
            eprintln!("note: skipping: Nix is not installed");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(dir.path().join("store")).expect("store");
        let inner = store
            .add_text("makes-handover-inner", b"inner\n", &[])
            .expect("added");
        let outer = store
            .add_text(
                "makes-handover-outer",
                format!("refers to {}\n", inner.to_absolute()).as_bytes(),
                std::slice::from_ref(&inner),
            )
            .expect("added");
        hand_to_nix(&store, std::slice::from_ref(&outer)).expect("handed");
        let ask = |args: &[&str]| {
            let out = Command::new("nix-store")
                .args(args)
                .output()
                .expect("nix-store runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let outer_abs = outer.to_absolute();
        assert_eq!(
            ask(&["--query", "--references", &outer_abs]),
            inner.to_absolute()
        );
        assert_eq!(
            ask(&["--query", "--hash", &outer_abs]),
            store.path_info(&outer).expect("info").nar_hash
        );
        // Handing it again gives Nix nothing new.
        assert!(hand_to_nix(&store, &[outer]).expect("handed").is_empty());
    }
}
