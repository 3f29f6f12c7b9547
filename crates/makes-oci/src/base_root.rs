//! The single-layer root on top of a base image (`buildImage` with `fromImage` and
//! `runAsRoot`): the base layers are unpacked into the root (whiteouts applied), a snapshot of
//! its metadata is taken, and after the contents and scripts, the layer holds only what
//! changed, with a whiteout (`.wh.<name>`) for every base file that was deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::base::BaseImage;
use crate::confined_root::ConfinedRoot;
use crate::error::OciError;
use crate::layer_apply::apply_layer;
use crate::tar_writer::{EntryKind, LayerEntries, LayerEntry, ModePolicy};

/// What identifies an entry's state on disk: any change to it (content, mode, owner, a new
/// file in its place) changes one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaPrint {
    ino: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// Every entry under `root` (relative paths, bytes) with its print.
pub type Snapshot = BTreeMap<Vec<u8>, MetaPrint>;

pub fn snapshot(root: &Path) -> Result<Snapshot, OciError> {
    let mut out = BTreeMap::new();
    walk(root, b"", &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, rel: &[u8], out: &mut Snapshot) -> Result<(), OciError> {
    for entry in fs::read_dir(dir).map_err(OciError::io(dir))? {
        let entry = entry.map_err(OciError::io(dir))?;
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).map_err(OciError::io(&path))?;
        let mut child = rel.to_vec();
        if !child.is_empty() {
            child.push(b'/');
        }
        child.extend_from_slice(entry.file_name().as_bytes());
        out.insert(
            child.clone(),
            MetaPrint {
                ino: meta.ino(),
                mode: meta.mode(),
                uid: meta.uid(),
                gid: meta.gid(),
                size: meta.size(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ctime: (meta.ctime(), meta.ctime_nsec()),
            },
        );
        if meta.is_dir() {
            walk(&path, &child, out)?;
        }
    }
    Ok(())
}

/// Unpacks the layers of `base` into `root`, in order, applying whiteouts and opaque markers;
/// nothing a layer holds (symlinks, `..`, hard links, whiteouts through symlinks) reaches
/// outside `root` (see `layer_apply`).
pub fn unpack_base(base: &BaseImage, root: &Path) -> Result<(), OciError> {
    let confined = ConfinedRoot::open(root).map_err(OciError::io(root))?;
    for layer in &base.layers {
        let file = fs::File::open(&layer.blob).map_err(OciError::io(&layer.blob))?;
        let reader: Box<dyn Read> = if layer.media_type.ends_with("+gzip") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else if layer.media_type.ends_with("+zstd") {
            Box::new(zstd::stream::read::Decoder::new(file).map_err(OciError::io(&layer.blob))?)
        } else {
            Box::new(file)
        };
        apply_layer(&confined, reader).map_err(|e| OciError::InvalidBaseLayer {
            path: base.source.clone(),
            layer: layer.digest.to_string(),
            entry: e.entry,
            reason: e.reason,
        })?;
    }
    Ok(())
}

/// The layer over the base: the entries of `root` that are new or changed since `before`
/// (with the directories above them), and a whiteout for every entry of `before` that is gone.
pub fn changed_entries(
    root: &Path,
    before: &Snapshot,
    modes: ModePolicy,
) -> Result<LayerEntries, OciError> {
    let after = snapshot(root)?;
    let mut keep: BTreeSet<Vec<u8>> = after
        .iter()
        .filter(|(path, print)| before.get(*path) != Some(*print))
        .map(|(path, _)| path.clone())
        .collect();
    let mut whiteouts = Vec::new();
    for path in before.keys() {
        if after.contains_key(path) {
            continue;
        }
        let (parent, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (&b""[..], &path[..]),
        };
        // A deleted directory's whiteout hides everything below it.
        if parent.is_empty() || after.contains_key(parent) {
            let mut wh = parent.to_vec();
            if !wh.is_empty() {
                wh.push(b'/');
            }
            wh.extend_from_slice(b".wh.");
            wh.extend_from_slice(name);
            whiteouts.push(wh);
            if !parent.is_empty() {
                keep.insert(parent.to_vec());
            }
        }
    }
    for path in keep.clone() {
        let mut p = path.as_slice();
        while let Some(i) = p.iter().rposition(|&b| b == b'/') {
            p = &p[..i];
            keep.insert(p.to_vec());
        }
    }
    let mut all = LayerEntries::new();
    all.add_tree(root, b"", modes)?;
    let mut entries = all.retain_paths(&keep);
    for wh in whiteouts {
        entries.insert(&wh, LayerEntry::new(0o644, EntryKind::Bytes(Vec::new())))?;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_entries_are_left_out_and_deletions_become_whiteouts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/motd"), "hi").unwrap();
        fs::write(root.join("etc/keep"), "same").unwrap();
        fs::create_dir_all(root.join("gone/deep")).unwrap();
        let before = snapshot(root).unwrap();
        fs::remove_file(root.join("etc/motd")).unwrap();
        fs::remove_dir_all(root.join("gone")).unwrap();
        fs::write(root.join("etc/new"), "new").unwrap();
        let entries = changed_entries(root, &before, ModePolicy::AsIs).unwrap();
        let paths: Vec<String> = entries
            .paths()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        assert!(paths.contains(&"etc/new".to_string()), "{paths:?}");
        assert!(paths.contains(&"etc/.wh.motd".to_string()), "{paths:?}");
        assert!(paths.contains(&".wh.gone".to_string()), "{paths:?}");
        assert!(
            !paths.contains(&"etc/keep".to_string()),
            "unchanged: {paths:?}"
        );
        assert!(
            !paths.iter().any(|p| p.contains("deep")),
            "covered by the directory's whiteout: {paths:?}"
        );
    }
}
