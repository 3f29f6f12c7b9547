//! The customisation root of contents that no script changes, joined while it is walked: no
//! entry per file is kept, so memory grows with the width of a directory and the depth of the
//! tree, not with the number of files (a list of the root's entries held about 380 bytes per
//! file: 380 MB for a million files).
//!
//! The walk gives the entries the join of [`crate::customisation`] gives, in the order the
//! layer's tar holds them. A name of a directory of the root is decided by the first source
//! (content path, in the order given) that has it: a file or a symbolic link there wins the
//! name, and later sources' entries of that name are skipped; a directory there becomes a
//! directory of the root joined from every source having a directory of that name (a later
//! source's file or link of that name is skipped). That is what joining the sources one after
//! the other, first entry wins, leaves. Links to directories are never followed
//! (`keepContentsDirlinks` joins through them, and so is joined in memory instead).
//!
//! Entries come in byte order of their whole paths, as `store_layer` walks store trees: a
//! directory's children are visited in the order of keys `name` (the child itself) and
//! `name/` (everything below a child directory).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::error::OciError;
use crate::plan::RootMode;
use crate::tar_writer::{EntryKind, LayerEntry};

/// Mode of the directories the join creates in the root.
pub(crate) const ROOT_DIR_MODE: u32 = 0o755;

/// One directory joined into a directory of the root: where it is, its logical name
/// (`/nix/store/...`, the prefix of the links to its files), and how its files join.
#[derive(Debug, Clone)]
struct JoinSource {
    real: PathBuf,
    logical: String,
    mode: RootMode,
}

/// The sources of a customisation root, walked on demand.
#[derive(Debug, Clone, Default)]
pub struct JoinedRoot {
    sources: Vec<JoinSource>,
}

/// What a visit of the walk is given: an entry's archive path and the entry.
pub(crate) type Visit<'v> = dyn FnMut(&[u8], &LayerEntry) -> Result<(), OciError> + 'v;

/// The winner of one name in a directory of the root.
struct Winner {
    /// Index (into the directory's sources) of the first source having the name.
    source: usize,
    kind: ChildKind,
    /// For a directory: the later sources that have a directory of this name too.
    more_dirs: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ChildKind {
    Directory,
    Symlink,
    File,
    Unsupported,
}

impl JoinedRoot {
    /// An empty root.
    pub fn new() -> Self {
        Self::default()
    }

    /// Joins the directory `real` (logically `logical`) after the sources already added.
    pub fn add(&mut self, real: PathBuf, logical: String, mode: RootMode) {
        self.sources.push(JoinSource {
            real,
            logical,
            mode,
        });
    }

    /// Calls `visit` with every entry of the root, in archive order.
    pub(crate) fn walk(&self, visit: &mut Visit<'_>) -> Result<(), OciError> {
        let mut archive = Vec::new();
        walk_dir(&self.sources, &mut archive, visit)
    }
}

/// The children of the root directory at `archive` joined from `sources`, in archive order.
fn walk_dir(
    sources: &[JoinSource],
    archive: &mut Vec<u8>,
    visit: &mut Visit<'_>,
) -> Result<(), OciError> {
    let mut winners: BTreeMap<OsString, Winner> = BTreeMap::new();
    for (index, source) in sources.iter().enumerate() {
        for child in fs::read_dir(&source.real).map_err(OciError::io(&source.real))? {
            let child = child.map_err(OciError::io(&source.real))?;
            let kind = child_kind(&child)?;
            match winners.entry(child.file_name()) {
                std::collections::btree_map::Entry::Vacant(name) => {
                    name.insert(Winner {
                        source: index,
                        kind,
                        more_dirs: Vec::new(),
                    });
                }
                std::collections::btree_map::Entry::Occupied(mut name) => {
                    let winner = name.get_mut();
                    if winner.kind == ChildKind::Directory && kind == ChildKind::Directory {
                        winner.more_dirs.push(index);
                    }
                }
            }
        }
    }
    let winners: Vec<(OsString, Winner)> = winners.into_iter().collect();
    // The child itself (`name`) and, for a directory, what is below it (`name/`): indices
    // into `winners`, with whether the key is the one below.
    let mut keys: Vec<(usize, bool)> = Vec::with_capacity(winners.len() + 8);
    for (i, (_, winner)) in winners.iter().enumerate() {
        keys.push((i, false));
        if winner.kind == ChildKind::Directory {
            keys.push((i, true));
        }
    }
    let key = |&(i, below): &(usize, bool)| {
        let slash: &[u8] = if below { b"/" } else { b"" };
        winners[i].0.as_bytes().iter().chain(slash)
    };
    keys.sort_unstable_by(|a, b| key(a).cmp(key(b)));
    let parent_len = archive.len();
    for (i, below) in keys {
        let (name, winner) = &winners[i];
        if parent_len > 0 {
            archive.push(b'/');
        }
        archive.extend_from_slice(name.as_bytes());
        if below {
            let joined: Vec<JoinSource> = std::iter::once(winner.source)
                .chain(winner.more_dirs.iter().copied())
                .map(|s| child_source(&sources[s], name))
                .collect();
            walk_dir(&joined, archive, visit)?;
        } else {
            let entry = child_entry(&sources[winner.source], name, winner.kind)?;
            visit(archive, &entry)?;
        }
        archive.truncate(parent_len);
    }
    Ok(())
}

/// The child `name` of the directory `source`, as a source of the root's directory `name`.
fn child_source(source: &JoinSource, name: &OsStr) -> JoinSource {
    JoinSource {
        real: source.real.join(name),
        logical: format!("{}/{}", source.logical, name.to_string_lossy()),
        mode: source.mode,
    }
}

/// The kind of a directory entry (not followed).
fn child_kind(child: &fs::DirEntry) -> Result<ChildKind, OciError> {
    let ft = child.file_type().map_err(OciError::io(child.path()))?;
    Ok(if ft.is_dir() {
        ChildKind::Directory
    } else if ft.is_symlink() {
        ChildKind::Symlink
    } else if ft.is_file() {
        ChildKind::File
    } else {
        ChildKind::Unsupported
    })
}

/// The root's entry for the child `name` (of kind `kind`) of `source`: a directory, a copy of
/// a symbolic link, and for a file a link to its logical path or a copy with store modes.
fn child_entry(source: &JoinSource, name: &OsStr, kind: ChildKind) -> Result<LayerEntry, OciError> {
    let path = source.real.join(name);
    Ok(match kind {
        ChildKind::Directory => LayerEntry::new(ROOT_DIR_MODE, EntryKind::Directory),
        ChildKind::Symlink => {
            let target = fs::read_link(&path).map_err(OciError::io(&path))?;
            LayerEntry::new(
                0o777,
                EntryKind::Symlink {
                    target: target.into_os_string().into_encoded_bytes(),
                },
            )
        }
        ChildKind::File => match source.mode {
            RootMode::SymlinkJoin => LayerEntry::new(
                0o777,
                EntryKind::Symlink {
                    target: format!("{}/{}", source.logical, name.to_string_lossy()).into_bytes(),
                },
            ),
            RootMode::Copy => {
                let meta = fs::symlink_metadata(&path).map_err(OciError::io(&path))?;
                let bits = meta.permissions().mode();
                let exec = if bits & 0o100 != 0 { 0o111 } else { 0 };
                // A copy is a file of its own: never a hard link of another entry.
                let kind = EntryKind::File {
                    source: path,
                    size: meta.len(),
                    link_id: None,
                };
                LayerEntry::new(0o444 | exec | (bits & 0o7000), kind)
            }
        },
        ChildKind::Unsupported => return Err(OciError::UnsupportedFileType { path }),
    })
}
