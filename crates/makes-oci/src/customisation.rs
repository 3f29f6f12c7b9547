//! The customisation root: the spec's `contents` joined into `/`, then `extraCommands`.
//!
//! Layered mode does what nixpkgs' `symlinkJoin` (`lndir -silent` per content path) does:
//! directories become real directories (mode 0755), files become symlinks to their absolute
//! `/nix/store/...` path, and symlinks are copied with the same target. Single-layer mode
//! (`buildImage`'s `copyToRoot`) copies the files instead (canonical store modes 0444/0555).
//! Content paths are joined in the order given and the first one wins a conflict, silently, as
//! `lndir -silent` does (buildEnv without `ignoreCollisions` would fail instead: makes follows
//! symlinkJoin, which is what dockerTools uses).
//!
//! Then the scripts, in nixpkgs' order, each in makes' build sandbox
//! ([`makes_store::run_script_as_root`], [`makes_store::run_script_as_build_user`]): no network,
//! no host `/etc`, `/proc`, `/sys` or devices, the store read-only, no VM:
//!
//! 1. `runAsRoot` (single-layer): as a fake root (uid 0 of a user namespace), chrooted into the
//!    root with a minimal `/dev`, a fresh `/proc` and the store mounted. Its interpreter is its
//!    own `#!` line (e.g. `#!${busybox}/bin/sh`), else `/bin/sh` of the image.
//! 2. `extraCommands`: as the build user, as `bash -c` with errexit, nounset and pipefail,
//!    `umask 0022`, the root mounted writable at its working directory and a clean environment
//!    (`PATH=/usr/bin:/bin`, `HOME=/homeless-shelter`), as nixpkgs runs it in the layer
//!    directory, not as root.
//! 3. `fakeRootCommands` (layered): as a fake root in the build sandbox with the root as its
//!    working directory (host bash), or chrooted into the root with `enableFakechroot`. The
//!    owners it sets are kept in the layer.
//!
//! When makes is not root, a fake root has one id (the caller's): there `chown` to other ids
//! fails, so ownership changes need makes to run as root.

use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::dirlink::{resolve_dirlink, Found};
use crate::error::OciError;
pub use crate::joined_root::JoinedRoot;
use crate::joined_root::ROOT_DIR_MODE;
use crate::plan::RootMode;

/// How the Nix database's files are joined: copied, as `nix-store --load-db` writes them.
const COPY: JoinRules<'static> = JoinRules {
    mode: RootMode::Copy,
    keep_dirlinks: false,
    nix_db: None,
};

/// How much of a failing extraCommands' stderr goes into the error.
const STDERR_TAIL_BYTES: usize = 4000;

/// One content path: its absolute logical name (`/nix/store/...`, maybe a subpath) and where its
/// bytes are on disk.
#[derive(Debug, Clone)]
pub struct ContentSource {
    pub logical: String,
    pub real: PathBuf,
}

/// The customisation root: joined as it is walked when no script runs in it (the join alone
/// decides every entry; writing thousands of symlinks to disk only to read them back cost
/// seconds), in memory when the join goes through links to directories, else a temporary
/// directory of the scratch directory, removed when dropped.
#[derive(Debug)]
pub struct CustomisationRoot {
    tree: RootTree,
    owners_changed: bool,
    /// Over a base image (`runAsRoot` with `fromImage`): the root as the base left it, so that
    /// the layer holds only what changed.
    base: Option<crate::base_root::Snapshot>,
}

#[derive(Debug)]
enum RootTree {
    Disk(tempfile::TempDir),
    Memory(crate::tar_writer::LayerEntries),
    Joined(JoinedRoot),
}

/// The entries of a customisation root's layer: listed, or walked from the contents.
#[derive(Debug)]
pub enum RootEntries {
    Listed(crate::tar_writer::LayerEntries),
    Joined(JoinedRoot),
}

impl RootEntries {
    /// Feeds the entries into the layer cache key (see
    /// [`crate::tar_writer::LayerEntries::fingerprint`]); returns the bytes of file content,
    /// for progress reports.
    pub fn fingerprint(
        &self,
        immutable_prefixes: &[Vec<u8>],
        hasher: &mut impl std::io::Write,
    ) -> Result<u64, OciError> {
        match self {
            RootEntries::Listed(entries) => {
                entries.fingerprint(immutable_prefixes, hasher)?;
                Ok(entries.size_hint().1)
            }
            RootEntries::Joined(root) => {
                let mut fingerprint = crate::tar_writer::Fingerprint::new(immutable_prefixes);
                let mut bytes = 0;
                root.walk(&mut |path, entry| {
                    if let crate::tar_writer::EntryKind::File { size, .. } = &entry.kind {
                        bytes += size;
                    }
                    fingerprint.add(path, entry, hasher)
                })?;
                Ok(bytes)
            }
        }
    }

    /// The entries listed (a joined root walked into a list).
    #[cfg(test)]
    pub(crate) fn into_listed(self) -> crate::tar_writer::LayerEntries {
        match self {
            RootEntries::Listed(entries) => entries,
            RootEntries::Joined(root) => {
                let mut entries = crate::tar_writer::LayerEntries::new();
                root.walk(&mut |path, entry| entries.insert(path, entry.clone()))
                    .expect("walk");
                entries
            }
        }
    }
}

impl CustomisationRoot {
    /// The directory that is `/` of the layer, for scripts.
    fn disk(&self) -> &Path {
        match &self.tree {
            RootTree::Disk(dir) => dir.path(),
            // Only roots built on disk are handed to scripts; see build_customisation_root.
            RootTree::Memory(_) | RootTree::Joined(_) => Path::new("/nonexistent"),
        }
    }

    /// Whether a root script ran, so that owners on disk are meant to be kept.
    pub fn owners_changed(&self) -> bool {
        self.owners_changed
    }

    /// The entries of the layer: the whole root, or over a base image only what changed,
    /// with whiteouts for what was deleted. A root built in memory hands its entries over
    /// (a later call finds none) instead of copying them: they are an entry per file of every
    /// content path, the largest allocation of an image build (a copy of them was 20 MiB of
    /// a 2 GB build's peak). A root on disk stays, since its files are read when the layer is
    /// written.
    pub fn take_layer_entries(
        &mut self,
        modes: crate::tar_writer::ModePolicy,
    ) -> Result<RootEntries, OciError> {
        match (&mut self.tree, &self.base) {
            (RootTree::Joined(root), _) => Ok(RootEntries::Joined(std::mem::take(root))),
            (RootTree::Memory(entries), _) => Ok(RootEntries::Listed(std::mem::take(entries))),
            (RootTree::Disk(dir), Some(before)) => Ok(RootEntries::Listed(
                crate::base_root::changed_entries(dir.path(), before, modes)?,
            )),
            (RootTree::Disk(dir), None) => {
                let mut entries = crate::tar_writer::LayerEntries::new();
                entries.add_tree(dir.path(), b"", modes)?;
                Ok(RootEntries::Listed(entries))
            }
        }
    }
}

/// The scripts of the customisation root.
#[derive(Debug, Clone, Copy)]
pub struct RootScripts<'a> {
    pub run_as_root: &'a str,
    pub extra_commands: &'a str,
    pub fake_root_commands: &'a str,
    pub fakechroot: bool,
    /// The host directory of the store, needed by the root scripts.
    pub store_dir: Option<&'a Path>,
}

impl Drop for CustomisationRoot {
    fn drop(&mut self) {
        // extraCommands may leave read-only directories; make them removable so the temporary
        // directory can go (errors are ignored: this is best-effort cleanup).
        if let RootTree::Disk(dir) = &self.tree {
            make_removable(dir.path());
        }
    }
}

pub(crate) fn make_removable(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                make_removable(&e.path());
            }
        }
    }
}

/// Builds the customisation root in `scratch`: joins `contents` by `mode`, then runs
/// `extra_commands` (when not blank) in it.
pub fn build_customisation_root(
    contents: &[ContentSource],
    rules: JoinRules<'_>,
    scripts: &RootScripts,
    base: Option<&crate::base::BaseImage>,
    scratch: &Path,
) -> Result<CustomisationRoot, OciError> {
    for content in contents {
        let meta = fs::metadata(&content.real).map_err(OciError::io(&content.real))?;
        if !meta.is_dir() {
            return Err(OciError::ContentNotDirectory {
                path: content.logical.clone(),
            });
        }
    }
    let scripted = [
        scripts.run_as_root,
        scripts.extra_commands,
        scripts.fake_root_commands,
    ]
    .iter()
    .any(|s| !s.trim().is_empty());
    if !scripted && !rules.keep_dirlinks {
        let mut root = JoinedRoot::new();
        for content in contents {
            root.add(content.real.clone(), content.logical.clone(), rules.mode);
        }
        if let Some(db) = rules.nix_db {
            root.add(db.to_path_buf(), String::new(), COPY.mode);
        }
        return Ok(CustomisationRoot {
            tree: RootTree::Joined(root),
            owners_changed: false,
            base: None,
        });
    }
    if !scripted {
        let mut entries = crate::tar_writer::LayerEntries::new();
        for content in contents {
            join_dir(
                &content.real,
                &content.logical,
                &mut MemoryRoot(&mut entries, Vec::new()),
                rules,
            )?;
        }
        if let Some(db) = rules.nix_db {
            join_dir(db, "", &mut MemoryRoot(&mut entries, Vec::new()), COPY)?;
        }
        return Ok(CustomisationRoot {
            tree: RootTree::Memory(entries),
            owners_changed: false,
            base: None,
        });
    }
    let dir = tempfile::Builder::new()
        .prefix("makes-root-")
        .tempdir_in(scratch)
        .map_err(OciError::io(scratch))?;
    let mut root = CustomisationRoot {
        tree: RootTree::Disk(dir),
        owners_changed: false,
        base: None,
    };
    // runAsRoot on top of a base image sees the base's files; what it changes makes the layer.
    if let (Some(base), RootMode::Copy, false) =
        (base, rules.mode, scripts.run_as_root.trim().is_empty())
    {
        crate::base_root::unpack_base(base, root.disk())?;
        root.base = Some(crate::base_root::snapshot(root.disk())?);
    }
    for content in contents {
        join_dir(
            &content.real,
            &content.logical,
            &mut DiskRoot(root.disk().to_path_buf(), Vec::new()),
            rules,
        )?;
    }
    if let Some(db) = rules.nix_db {
        join_dir(
            db,
            "",
            &mut DiskRoot(root.disk().to_path_buf(), Vec::new()),
            COPY,
        )?;
    }
    if !scripts.run_as_root.trim().is_empty() {
        let shell = shebang(scripts.run_as_root).unwrap_or_else(|| vec!["/bin/sh".to_string()]);
        run_root_script("runAsRoot", scripts, &shell, true, root.disk(), scratch)?;
        root.owners_changed = true;
    }
    if !scripts.extra_commands.trim().is_empty() {
        run_extra_commands(scripts, root.disk(), scratch)?;
    }
    if !scripts.fake_root_commands.trim().is_empty() {
        let shell = if scripts.fakechroot {
            shebang(scripts.fake_root_commands).unwrap_or_else(|| vec!["/bin/sh".to_string()])
        } else {
            vec!["/bin/bash".to_string()]
        };
        run_root_script(
            "fakeRootCommands",
            scripts,
            &shell,
            scripts.fakechroot,
            root.disk(),
            scratch,
        )?;
        root.owners_changed = true;
    }
    Ok(root)
}

/// The interpreter named by a script's `#!` line, with its one optional argument, as the
/// kernel reads it (`#!/bin/busybox sh`, `#!/usr/bin/env bash`).
fn shebang(script: &str) -> Option<Vec<String>> {
    let first = script.trim_start().lines().next()?;
    let line = first.strip_prefix("#!")?.trim();
    let (interp, arg) = match line.split_once(char::is_whitespace) {
        Some((interp, arg)) => (interp, Some(arg.trim())),
        None => (line, None),
    };
    if interp.is_empty() {
        return None;
    }
    Some(
        std::iter::once(interp)
            .chain(arg.filter(|a| !a.is_empty()))
            .map(str::to_owned)
            .collect(),
    )
}

fn run_root_script(
    what: &'static str,
    scripts: &RootScripts,
    shell: &[String],
    chroot: bool,
    root: &Path,
    scratch: &Path,
) -> Result<(), OciError> {
    let store_dir = scripts.store_dir.ok_or(OciError::RootScriptUnavailable {
        what,
        reason: "no store directory was given to the image builder".into(),
    })?;
    let script = match what {
        "runAsRoot" => scripts.run_as_root,
        _ => scripts.fake_root_commands,
    };
    let body = format!("set -e\numask 0022\n{script}");
    let args: Vec<&str> = shell.iter().map(String::as_str).chain(["-c"]).collect();
    let out = makes_store::run_script_as_root(&makes_store::RootScript {
        root,
        chroot,
        store_dir: Some(store_dir),
        scratch,
        shell: &args,
        script: &body,
        env: &[],
    })
    .map_err(|e| OciError::RootScriptUnavailable {
        what,
        reason: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = &out.stderr;
    let tail = &stderr[stderr.len().saturating_sub(STDERR_TAIL_BYTES)..];
    Err(OciError::RootScriptFailed {
        what,
        status: out.status.to_string(),
        stderr_tail: String::from_utf8_lossy(tail).into_owned(),
    })
}

/// What the join finds at a path of the root.
enum Existing {
    Directory,
    /// A symbolic link, with its target.
    Symlink(Vec<u8>),
    Other,
}

/// Where the join builds the root: a directory on disk, or the layer entries themselves. The
/// join itself ([`join_dir`]) is the same for both, so both give the same layer.
trait JoinTarget {
    /// What is at the child `name` of the current directory.
    fn existing(&self, name: &std::ffi::OsStr) -> Option<Existing>;
    /// What is at the root-relative `path` (the root itself is a directory).
    fn lookup(&self, path: &[u8]) -> Option<Found>;
    /// The root-relative path of the current directory.
    fn cwd(&self) -> Vec<u8>;
    /// Makes the root-relative directory `cwd` the current one.
    fn set_cwd(&mut self, cwd: Vec<u8>);
    fn create_dir(&mut self, name: &std::ffi::OsStr) -> Result<(), OciError>;
    fn symlink(&mut self, name: &std::ffi::OsStr, target: &[u8]) -> Result<(), OciError>;
    /// A copy of the store file `source` (mode `mode`).
    fn copy(
        &mut self,
        name: &std::ffi::OsStr,
        source: &Path,
        meta: &fs::Metadata,
        mode: u32,
    ) -> Result<(), OciError>;
}

/// A root on disk and the root-relative path of the current directory.
struct DiskRoot(PathBuf, Vec<u8>);

impl DiskRoot {
    fn at(&self, rel: &[u8]) -> PathBuf {
        match rel {
            b"" => self.0.clone(),
            rel => self.0.join(std::ffi::OsStr::from_bytes(rel)),
        }
    }

    fn dir(&self) -> PathBuf {
        self.at(&self.1)
    }
}

impl JoinTarget for DiskRoot {
    fn existing(&self, name: &std::ffi::OsStr) -> Option<Existing> {
        let path = self.dir().join(name);
        let meta = fs::symlink_metadata(&path).ok()?;
        Some(if meta.is_dir() {
            Existing::Directory
        } else if meta.file_type().is_symlink() {
            Existing::Symlink(fs::read_link(&path).ok()?.into_os_string().into_vec())
        } else {
            Existing::Other
        })
    }

    fn lookup(&self, path: &[u8]) -> Option<Found> {
        let full = self.at(path);
        let meta = fs::symlink_metadata(&full).ok()?;
        Some(if meta.is_dir() {
            Found::Directory
        } else if meta.file_type().is_symlink() {
            Found::Symlink(fs::read_link(&full).ok()?.into_os_string().into_vec())
        } else {
            Found::Other
        })
    }

    fn cwd(&self) -> Vec<u8> {
        self.1.clone()
    }

    fn set_cwd(&mut self, cwd: Vec<u8>) {
        self.1 = cwd;
    }

    fn create_dir(&mut self, name: &std::ffi::OsStr) -> Result<(), OciError> {
        let d = self.dir().join(name);
        fs::create_dir(&d).map_err(OciError::io(&d))?;
        fs::set_permissions(&d, fs::Permissions::from_mode(ROOT_DIR_MODE)).map_err(OciError::io(&d))
    }

    fn symlink(&mut self, name: &std::ffi::OsStr, target: &[u8]) -> Result<(), OciError> {
        let d = self.dir().join(name);
        symlink(std::ffi::OsStr::from_bytes(target), &d).map_err(OciError::io(&d))
    }

    fn copy(
        &mut self,
        name: &std::ffi::OsStr,
        source: &Path,
        _meta: &fs::Metadata,
        mode: u32,
    ) -> Result<(), OciError> {
        let d = self.dir().join(name);
        fs::copy(source, &d).map_err(OciError::io(&d))?;
        fs::set_permissions(&d, fs::Permissions::from_mode(mode)).map_err(OciError::io(&d))
    }
}

/// The layer entries and the archive path of the current directory.
struct MemoryRoot<'a>(&'a mut crate::tar_writer::LayerEntries, Vec<u8>);

impl MemoryRoot<'_> {
    fn child(&self, name: &std::ffi::OsStr) -> Vec<u8> {
        child_path(&self.1, name)
    }
}

/// The root-relative path of the child `name` of the root-relative directory `dir`.
fn child_path(dir: &[u8], name: &std::ffi::OsStr) -> Vec<u8> {
    let mut path = dir.to_vec();
    if !path.is_empty() {
        path.push(b'/');
    }
    path.extend_from_slice(name.as_bytes());
    path
}

impl JoinTarget for MemoryRoot<'_> {
    fn existing(&self, name: &std::ffi::OsStr) -> Option<Existing> {
        Some(match self.lookup(&self.child(name))? {
            Found::Directory => Existing::Directory,
            Found::Symlink(target) => Existing::Symlink(target),
            Found::Other => Existing::Other,
        })
    }

    fn lookup(&self, path: &[u8]) -> Option<Found> {
        use crate::tar_writer::EntryKind;
        if path.is_empty() {
            return Some(Found::Directory);
        }
        Some(match &self.0.get(path)?.kind {
            EntryKind::Directory => Found::Directory,
            EntryKind::Symlink { target } => Found::Symlink(target.clone()),
            _ => Found::Other,
        })
    }

    fn cwd(&self) -> Vec<u8> {
        self.1.clone()
    }

    fn set_cwd(&mut self, cwd: Vec<u8>) {
        self.1 = cwd;
    }

    fn create_dir(&mut self, name: &std::ffi::OsStr) -> Result<(), OciError> {
        use crate::tar_writer::{EntryKind, LayerEntry};
        self.0.insert(
            &self.child(name),
            LayerEntry::new(ROOT_DIR_MODE, EntryKind::Directory),
        )
    }

    fn symlink(&mut self, name: &std::ffi::OsStr, target: &[u8]) -> Result<(), OciError> {
        use crate::tar_writer::{EntryKind, LayerEntry};
        let kind = EntryKind::Symlink {
            target: target.to_vec(),
        };
        self.0
            .insert(&self.child(name), LayerEntry::new(0o777, kind))
    }

    fn copy(
        &mut self,
        name: &std::ffi::OsStr,
        source: &Path,
        meta: &fs::Metadata,
        mode: u32,
    ) -> Result<(), OciError> {
        use crate::tar_writer::{EntryKind, LayerEntry};
        // A copy is a file of its own: never a hard link of another entry.
        let kind = EntryKind::File {
            source: source.to_path_buf(),
            size: meta.len(),
            link_id: None,
        };
        self.0
            .insert(&self.child(name), LayerEntry::new(mode, kind))
    }
}

/// How contents join into the root.
#[derive(Debug, Clone, Copy)]
pub struct JoinRules<'a> {
    pub mode: RootMode,
    /// `keepContentsDirlinks`: a content directory meeting a symbolic link to a directory of
    /// the root goes into that directory (`rsync --keep-dirlinks`), instead of being skipped.
    pub keep_dirlinks: bool,
    /// `includeNixDB`: a directory holding `nix/var/nix/...`, copied into the root after the
    /// contents and before the scripts, as nixpkgs loads the database before `extraCommands`.
    pub nix_db: Option<&'a Path>,
}

/// Joins the directory `src` (logically `logical`) into the current directory of `dest`,
/// first entry wins.
fn join_dir(
    src: &Path,
    logical: &str,
    dest: &mut impl JoinTarget,
    rules: JoinRules<'_>,
) -> Result<(), OciError> {
    let mode = rules.mode;
    let mut names: Vec<_> = fs::read_dir(src)
        .map_err(OciError::io(src))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(OciError::io(src))?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        let s = src.join(&name);
        let child_logical = format!("{logical}/{}", name.to_string_lossy());
        let s_meta = fs::symlink_metadata(&s).map_err(OciError::io(&s))?;
        let existing = dest.existing(&name);
        let ft = s_meta.file_type();
        if ft.is_dir() {
            let cwd = dest.cwd();
            let into = match existing {
                Some(Existing::Directory) => child_path(&cwd, &name),
                Some(Existing::Symlink(target)) if rules.keep_dirlinks => {
                    match resolve_dirlink(|p| dest.lookup(p), &cwd, &target) {
                        Some(dir) => dir,
                        None => continue,
                    }
                }
                Some(_) => continue,
                None => {
                    dest.create_dir(&name)?;
                    child_path(&cwd, &name)
                }
            };
            dest.set_cwd(into);
            let joined = join_dir(&s, &child_logical, dest, rules);
            dest.set_cwd(cwd);
            joined?;
        } else if existing.is_some() {
            continue;
        } else if ft.is_symlink() {
            let target = fs::read_link(&s).map_err(OciError::io(&s))?;
            dest.symlink(&name, target.as_os_str().as_bytes())?;
        } else if ft.is_file() {
            match mode {
                RootMode::SymlinkJoin => dest.symlink(&name, child_logical.as_bytes())?,
                RootMode::Copy => {
                    let bits = s_meta.permissions().mode();
                    let exec = if bits & 0o100 != 0 { 0o111 } else { 0 };
                    let file_mode = 0o444 | exec | (bits & 0o7000);
                    dest.copy(&name, &s, &s_meta, file_mode)?;
                }
            }
        } else {
            return Err(OciError::UnsupportedFileType { path: s });
        }
    }
    Ok(())
}

/// Runs `extraCommands` with the host's bash as the build user, in the sandbox with `root` as
/// its working directory.
fn run_extra_commands(scripts: &RootScripts, root: &Path, scratch: &Path) -> Result<(), OciError> {
    let body = format!("umask 0022\n{}", scripts.extra_commands);
    let output = makes_store::run_script_as_build_user(&makes_store::RootScript {
        root,
        chroot: false,
        store_dir: scripts.store_dir,
        scratch,
        shell: &[
            "/bin/bash",
            "--noprofile",
            "--norc",
            "-o",
            "errexit",
            "-o",
            "nounset",
            "-o",
            "pipefail",
            "-c",
        ],
        script: &body,
        env: &[],
    })
    .map_err(OciError::io(root))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = &output.stderr;
    let tail = &stderr[stderr.len().saturating_sub(STDERR_TAIL_BYTES)..];
    Err(OciError::ExtraCommandsFailed {
        status: output.status.to_string(),
        cwd: root.to_path_buf(),
        stderr_tail: String::from_utf8_lossy(tail).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYMLINK_JOIN: JoinRules = JoinRules {
        mode: RootMode::SymlinkJoin,
        keep_dirlinks: false,
        nix_db: None,
    };

    fn scripts(extra: &str) -> RootScripts<'_> {
        RootScripts {
            run_as_root: "",
            extra_commands: extra,
            fake_root_commands: "",
            fakechroot: false,
            store_dir: None,
        }
    }

    fn content(dir: &Path, base: &str, files: &[(&str, &str)]) -> ContentSource {
        let real = dir.join(base);
        for (p, data) in files {
            let path = real.join(p);
            fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
            fs::write(&path, data).expect("write");
        }
        ContentSource {
            logical: format!("/nix/store/{base}"),
            real,
        }
    }

    use crate::tar_writer::{EntryKind, LayerEntries, LayerEntry, ModePolicy};

    /// A content of `files` files named uniquely, 100 to a directory and 10 directories to a
    /// directory, so that no directory widens as the files grow in number.
    fn many_files(dir: &Path, base: &str, files: usize) -> ContentSource {
        let names: Vec<String> = (0..files)
            .map(|i| format!("a{}/b{}/file-{i}", i / 1000, (i / 100) % 10))
            .collect();
        let pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "x")).collect();
        content(dir, base, &pairs)
    }

    /// The most bytes held while a root of `files` files, in two contents, is joined, keyed
    /// and written as a layer's tar, and the number of entries written.
    fn bytes_to_write_a_root(files: usize) -> (usize, usize) {
        let dir = tempfile::tempdir().expect("tempdir");
        let contents = [
            many_files(dir.path(), "aaa-one", files / 2),
            many_files(dir.path(), "bbb-two", files / 2),
        ];
        let policy = crate::tar_writer::tests::policy();
        let (written, bytes) = crate::alloc_count::peak_during(|| {
            let mut root =
                build_customisation_root(&contents, SYMLINK_JOIN, &scripts(""), None, dir.path())
                    .expect("root");
            let RootEntries::Joined(joined) =
                root.take_layer_entries(ModePolicy::AsIs).expect("entries")
            else {
                panic!("a root without scripts or dirlinks is joined as it is walked");
            };
            RootEntries::Joined(joined.clone())
                .fingerprint(&[], &mut std::io::sink())
                .expect("fingerprint");
            let out = crate::tar_writer::write_tar_merged(
                &LayerEntries::new(),
                |visit| joined.walk(visit),
                &policy,
                crate::tar_writer::reading_sink(CountingSink::default()),
            )
            .expect("tar");
            out.into_inner().0
        });
        (bytes, written)
    }

    /// Counts the bytes written, holding none.
    #[derive(Default)]
    struct CountingSink(usize);

    impl std::io::Write for CountingSink {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0 += data.len();
            Ok(data.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writing_a_joined_root_holds_memory_flat_in_the_number_of_files() {
        // A list of the root's entries held about 380 bytes per file: 3.4 MB more for the
        // larger root here. Walked, the root holds one directory's listing per level.
        let (small, small_tar) = bytes_to_write_a_root(1000);
        let (large, large_tar) = bytes_to_write_a_root(10_000);
        assert!(
            large_tar > 9 * small_tar,
            "{large_tar} vs {small_tar} bytes of tar"
        );
        assert!(
            large <= small + 4096,
            "{large} bytes held for 10,000 files, {small} for 1,000"
        );
    }

    /// The root's entries built in memory (no script) and on disk (a no-op script): the two
    /// must agree, but for where copied files are read from.
    fn both_ways(contents: &[ContentSource], mode: RootMode) -> LayerEntries {
        join_both_ways(
            contents,
            JoinRules {
                mode,
                keep_dirlinks: false,
                nix_db: None,
            },
        )
    }

    fn join_both_ways(contents: &[ContentSource], rules: JoinRules<'_>) -> LayerEntries {
        let scratch = tempfile::tempdir().expect("tempdir");
        let mut memory =
            build_customisation_root(contents, rules, &scripts(""), None, scratch.path())
                .expect("root in memory");
        assert!(matches!(
            (&memory.tree, rules.keep_dirlinks),
            (RootTree::Joined(_), false) | (RootTree::Memory(_), true)
        ));
        let mut disk =
            build_customisation_root(contents, rules, &scripts(":"), None, scratch.path())
                .expect("root on disk");
        assert!(matches!(disk.tree, RootTree::Disk(_)));
        let (m, d) = (
            memory
                .take_layer_entries(ModePolicy::AsIs)
                .expect("entries")
                .into_listed(),
            disk.take_layer_entries(ModePolicy::AsIs)
                .expect("entries")
                .into_listed(),
        );
        // The root in memory handed its entries over instead of keeping a copy of them (an
        // entry per file of every content path) for as long as the layer is written.
        let left = memory
            .take_layer_entries(ModePolicy::AsIs)
            .expect("entries")
            .into_listed();
        assert_eq!(left.iter().count(), 0, "entries moved, not copied");
        let shape = |e: &LayerEntries| -> Vec<(Vec<u8>, u32, String)> {
            e.iter()
                .map(|(p, entry)| {
                    let kind = match &entry.kind {
                        EntryKind::File { size, .. } => format!("file {size}"),
                        other => format!("{other:?}"),
                    };
                    (p.clone(), entry.mode, kind)
                })
                .collect()
        };
        assert_eq!(shape(&m), shape(&d));
        m
    }

    /// The root joined into a list by [`join_dir`], content after content.
    fn listed_join(contents: &[ContentSource], rules: JoinRules<'_>) -> LayerEntries {
        let mut entries = LayerEntries::new();
        for content in contents {
            join_dir(
                &content.real,
                &content.logical,
                &mut MemoryRoot(&mut entries, Vec::new()),
                rules,
            )
            .expect("join");
        }
        if let Some(db) = rules.nix_db {
            join_dir(db, "", &mut MemoryRoot(&mut entries, Vec::new()), COPY).expect("join db");
        }
        entries
    }

    #[test]
    fn the_walked_join_gives_the_listed_join_in_archive_order() {
        let store = tempfile::tempdir().expect("tempdir");
        // Names that sort between a directory and its children (`a-b`, `a.c` before `a/`),
        // a file against a directory both ways, directories merged from three contents.
        let a = content(
            store.path(),
            "aaa-one",
            &[
                ("a/b", "1"),
                ("a-b", "1"),
                ("a.c/x", "1"),
                ("clash", "1"),
                ("deep/x/y/z", "1"),
                ("share/one", "1"),
            ],
        );
        let b = content(
            store.path(),
            "bbb-two",
            &[
                ("a/b", "2"),
                ("a/c", "2"),
                ("a.c", "2"),
                ("clash/inside", "2"),
                ("deep/x/w", "2"),
                ("share/two", "2"),
            ],
        );
        symlink("../a", b.real.join("share/link")).expect("symlink");
        let c = content(
            store.path(),
            "ccc-three",
            &[("share/one/x", "3"), ("a0", "3")],
        );
        let db = store.path().join("db");
        fs::create_dir_all(db.join("nix/var/nix/db")).expect("mkdir");
        fs::write(db.join("nix/var/nix/db/db.sqlite"), "db").expect("write");
        fs::create_dir_all(db.join("share")).expect("mkdir");
        fs::write(db.join("share/one"), "db").expect("write");
        let contents = [a, b, c];
        for mode in [RootMode::SymlinkJoin, RootMode::Copy] {
            let rules = JoinRules {
                mode,
                keep_dirlinks: false,
                nix_db: Some(&db),
            };
            let mut root =
                build_customisation_root(&contents, rules, &scripts(""), None, store.path())
                    .expect("root");
            let RootEntries::Joined(joined) =
                root.take_layer_entries(ModePolicy::AsIs).expect("entries")
            else {
                panic!("joined as it is walked");
            };
            let mut walked = Vec::new();
            joined
                .walk(&mut |path, entry| {
                    walked.push((path.to_vec(), entry.clone()));
                    Ok(())
                })
                .expect("walk");
            let paths: Vec<&Vec<u8>> = walked.iter().map(|(p, _)| p).collect();
            assert!(
                paths.windows(2).all(|w| w[0] < w[1]),
                "archive order: {:?}",
                paths
                    .iter()
                    .map(|p| String::from_utf8_lossy(p))
                    .collect::<Vec<_>>()
            );
            let listed = listed_join(&contents, rules);
            let listed: Vec<(Vec<u8>, LayerEntry)> =
                listed.iter().map(|(p, e)| (p.clone(), e.clone())).collect();
            assert_eq!(walked, listed, "{mode:?}");
        }
    }

    #[test]
    fn keep_dirlinks_joins_through_links_to_directories_of_the_root() {
        let store = tempfile::tempdir().expect("tempdir");
        let base = content(store.path(), "aaa-base", &[("usr/lib/a", "a")]);
        symlink("usr/lib", base.real.join("lib")).expect("symlink");
        symlink("/usr/lib", base.real.join("lib64")).expect("symlink");
        symlink("nowhere", base.real.join("dangling")).expect("symlink");
        let extra = content(
            store.path(),
            "bbb-extra",
            &[("lib/b", "b"), ("lib64/c", "c"), ("dangling/d", "d")],
        );
        let contents = [base, extra];
        let kept = join_both_ways(
            &contents,
            JoinRules {
                mode: RootMode::Copy,
                keep_dirlinks: true,
                nix_db: None,
            },
        );
        let names = |e: &LayerEntries| -> Vec<String> {
            e.iter()
                .map(|(p, _)| String::from_utf8_lossy(p).into_owned())
                .collect()
        };
        assert_eq!(
            names(&kept),
            [
                "dangling",
                "lib",
                "lib64",
                "usr",
                "usr/lib",
                "usr/lib/a",
                "usr/lib/b",
                "usr/lib/c"
            ],
            "entries went through the links, the links stayed"
        );
        assert!(matches!(
            kept.get(b"lib").expect("lib").kind,
            EntryKind::Symlink { .. }
        ));
        let plain = join_both_ways(
            &contents,
            JoinRules {
                mode: RootMode::Copy,
                keep_dirlinks: false,
                nix_db: None,
            },
        );
        assert_eq!(
            names(&plain),
            ["dangling", "lib", "lib64", "usr", "usr/lib", "usr/lib/a"],
            "without keepContentsDirlinks the first content's links win"
        );
    }

    #[test]
    fn symlink_join_links_files_and_first_wins() {
        let store = tempfile::tempdir().expect("tempdir");
        let a = content(
            store.path(),
            "aaa-hello",
            &[("bin/hello", "a"), ("share/a", "a")],
        );
        let b = content(
            store.path(),
            "bbb-other",
            &[("bin/hello", "b"), ("bin/b", "b")],
        );
        symlink("hello", b.real.join("bin/hi")).expect("symlink");
        let entries = both_ways(&[a, b], RootMode::SymlinkJoin);
        let link = |p: &str| match &entries.get(p.as_bytes()).expect(p).kind {
            EntryKind::Symlink { target } => String::from_utf8_lossy(target).into_owned(),
            other => panic!("{p} is {other:?}"),
        };
        assert_eq!(link("bin/hello"), "/nix/store/aaa-hello/bin/hello");
        assert_eq!(link("bin/b"), "/nix/store/bbb-other/bin/b");
        assert_eq!(link("bin/hi"), "hello", "symlinks copied as they are");
        assert_eq!(link("share/a"), "/nix/store/aaa-hello/share/a");
        let bin = entries.get(b"bin").expect("bin");
        assert_eq!(bin.kind, EntryKind::Directory);
        assert_eq!(bin.mode, 0o755);
    }

    #[test]
    fn copy_mode_copies_with_store_modes() {
        let store = tempfile::tempdir().expect("tempdir");
        let a = content(store.path(), "aaa-hello", &[("bin/hello", "#!/bin/sh\n")]);
        fs::set_permissions(a.real.join("bin/hello"), fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let entries = both_ways(&[a], RootMode::Copy);
        let f = entries.get(b"bin/hello").expect("copied");
        assert_eq!(f.mode, 0o555);
        assert!(matches!(
            f.kind,
            EntryKind::File {
                size: 10,
                link_id: None,
                ..
            }
        ));
    }

    #[test]
    fn extra_commands_run_in_root_with_clean_env() {
        let scratch = tempfile::tempdir().expect("tempdir");
        // cargo sets CARGO_MANIFEST_DIR for test runs: it must not reach the script.
        let script = "mkdir -p tmp\nchmod 1777 tmp\necho \"$PATH:$HOME:${CARGO_MANIFEST_DIR-unset}\" > env\n";
        let root =
            build_customisation_root(&[], SYMLINK_JOIN, &scripts(script), None, scratch.path())
                .expect("root");
        let tmp = fs::metadata(root.disk().join("tmp")).expect("tmp");
        assert_eq!(tmp.permissions().mode() & 0o7777, 0o1777);
        let env = fs::read_to_string(root.disk().join("env")).expect("env");
        assert_eq!(env, "/usr/bin:/bin:/homeless-shelter:unset\n");
        let file_mode = fs::metadata(root.disk().join("env")).expect("env");
        assert_eq!(file_mode.permissions().mode() & 0o777, 0o644, "umask 0022");
    }

    #[test]
    fn failing_extra_commands_report_stderr() {
        let scratch = tempfile::tempdir().expect("tempdir");
        for script in [
            "echo oops >&2; false",
            "echo $UNSET_VAR",
            "false | true; exit 3",
        ] {
            let err =
                build_customisation_root(&[], SYMLINK_JOIN, &scripts(script), None, scratch.path())
                    .expect_err(script);
            let OciError::ExtraCommandsFailed { stderr_tail, .. } = &err else {
                panic!("{err:?}");
            };
            if script.starts_with("echo oops") {
                assert!(stderr_tail.contains("oops"));
            }
        }
        // pipefail: a failure early in a pipeline fails the script.
        assert!(build_customisation_root(
            &[],
            SYMLINK_JOIN,
            &scripts("false | true"),
            None,
            scratch.path()
        )
        .is_err());
    }

    #[test]
    fn shebang_lines_give_the_interpreter_and_its_argument() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(shebang("#!/bin/sh\necho"), Some(v(&["/bin/sh"])));
        assert_eq!(
            shebang("  #!/bin/busybox sh\n"),
            Some(v(&["/bin/busybox", "sh"]))
        );
        assert_eq!(
            shebang("#! /usr/bin/env  bash \n"),
            Some(v(&["/usr/bin/env", "bash"]))
        );
        assert_eq!(shebang("echo hi"), None);
        assert_eq!(shebang("#!\n"), None);
    }

    #[test]
    fn non_directory_content_is_an_error() {
        let store = tempfile::tempdir().expect("tempdir");
        let scratch = tempfile::tempdir().expect("tempdir");
        let f = store.path().join("ccc-file");
        fs::write(&f, "x").expect("write");
        let c = ContentSource {
            logical: "/nix/store/ccc-file".into(),
            real: f,
        };
        assert!(matches!(
            build_customisation_root(&[c], SYMLINK_JOIN, &scripts(""), None, scratch.path()),
            Err(OciError::ContentNotDirectory { .. })
        ));
    }
}
