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
//! Then the scripts, in nixpkgs' order:
//!
//! 1. `runAsRoot` (single-layer): as root, chrooted into the root, with `/dev`, `/proc`, `/sys`
//!    and the store mounted, in private namespaces ([`makes_store::run_script_as_root`]; no VM).
//!    Its interpreter is its own `#!` line (e.g. `#!${busybox}/bin/sh`), else `/bin/sh` of the
//!    image.
//! 2. `extraCommands`: as `bash -c` with errexit, nounset and pipefail, `umask 0022`, the root as
//!    the working directory and a clean environment (`PATH=/usr/bin:/bin`,
//!    `HOME=/homeless-shelter`), as nixpkgs runs it in the layer directory, not as root.
//! 3. `fakeRootCommands` (layered): as root in the build sandbox with the root as its working
//!    directory (host bash), or chrooted into the root with `enableFakechroot`. The owners it
//!    sets are kept in the layer.
//!
//! Root scripts run as uid 0 of a user namespace when makes is not root: there `chown` to
//! other ids fails (one id is mapped), so ownership changes need makes to run as root.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::OciError;
use crate::plan::RootMode;

/// Mode of the directories makes creates in the root.
const ROOT_DIR_MODE: u32 = 0o755;
/// How much of a failing extraCommands' stderr goes into the error.
const STDERR_TAIL_BYTES: usize = 4000;

/// One content path: its absolute logical name (`/nix/store/...`, maybe a subpath) and where its
/// bytes are on disk.
#[derive(Debug, Clone)]
pub struct ContentSource {
    pub logical: String,
    pub real: PathBuf,
}

/// The customisation root, built in a temporary directory of the scratch directory and removed
/// when dropped.
#[derive(Debug)]
pub struct CustomisationRoot {
    dir: tempfile::TempDir,
    owners_changed: bool,
    /// Over a base image (`runAsRoot` with `fromImage`): the root as the base left it, so that
    /// the layer holds only what changed.
    base: Option<crate::base_root::Snapshot>,
}

impl CustomisationRoot {
    /// The directory that is `/` of the layer.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Whether a root script ran, so that owners on disk are meant to be kept.
    pub fn owners_changed(&self) -> bool {
        self.owners_changed
    }

    /// The entries of the layer: the whole root, or over a base image only what changed,
    /// with whiteouts for what was deleted.
    pub fn layer_entries(
        &self,
        modes: crate::tar_writer::ModePolicy,
    ) -> Result<crate::tar_writer::LayerEntries, OciError> {
        match &self.base {
            Some(before) => crate::base_root::changed_entries(self.path(), before, modes),
            None => {
                let mut entries = crate::tar_writer::LayerEntries::new();
                entries.add_tree(self.path(), b"", modes)?;
                Ok(entries)
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
        make_removable(self.dir.path());
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
    mode: RootMode,
    scripts: &RootScripts,
    base: Option<&crate::base::BaseImage>,
    scratch: &Path,
) -> Result<CustomisationRoot, OciError> {
    let dir = tempfile::Builder::new()
        .prefix("makes-root-")
        .tempdir_in(scratch)
        .map_err(OciError::io(scratch))?;
    let mut root = CustomisationRoot {
        dir,
        owners_changed: false,
        base: None,
    };
    // runAsRoot on top of a base image sees the base's files; what it changes makes the layer.
    if let (Some(base), RootMode::Copy, false) = (base, mode, scripts.run_as_root.trim().is_empty())
    {
        crate::base_root::unpack_base(base, root.path())?;
        root.base = Some(crate::base_root::snapshot(root.path())?);
    }
    for content in contents {
        let meta = fs::metadata(&content.real).map_err(OciError::io(&content.real))?;
        if !meta.is_dir() {
            return Err(OciError::ContentNotDirectory {
                path: content.logical.clone(),
            });
        }
        join_dir(&content.real, &content.logical, root.path(), mode)?;
    }
    if !scripts.run_as_root.trim().is_empty() {
        let shell = shebang(scripts.run_as_root).unwrap_or_else(|| "/bin/sh".to_string());
        run_root_script("runAsRoot", scripts, &shell, true, root.path(), scratch)?;
        root.owners_changed = true;
    }
    if !scripts.extra_commands.trim().is_empty() {
        run_extra_commands(scripts.extra_commands, root.path())?;
    }
    if !scripts.fake_root_commands.trim().is_empty() {
        let shell = if scripts.fakechroot {
            shebang(scripts.fake_root_commands).unwrap_or_else(|| "/bin/sh".to_string())
        } else {
            "/bin/bash".to_string()
        };
        run_root_script(
            "fakeRootCommands",
            scripts,
            &shell,
            scripts.fakechroot,
            root.path(),
            scratch,
        )?;
        root.owners_changed = true;
    }
    Ok(root)
}

/// The interpreter named by a script's `#!` line.
fn shebang(script: &str) -> Option<String> {
    let first = script.trim_start().lines().next()?;
    let interp = first.strip_prefix("#!")?.split_whitespace().next()?;
    Some(interp.to_string())
}

fn run_root_script(
    what: &'static str,
    scripts: &RootScripts,
    shell: &str,
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
    let args: [&str; 2] = [shell, "-c"];
    let out = makes_store::run_script_as_root(&makes_store::RootScript {
        root,
        chroot,
        store_dir,
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

/// Joins the directory `src` (logically `logical`) into `dest`, first entry wins.
fn join_dir(src: &Path, logical: &str, dest: &Path, mode: RootMode) -> Result<(), OciError> {
    let mut names: Vec<_> = fs::read_dir(src)
        .map_err(OciError::io(src))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(OciError::io(src))?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        let s = src.join(&name);
        let d = dest.join(&name);
        let child_logical = format!("{logical}/{}", name.to_string_lossy());
        let s_meta = fs::symlink_metadata(&s).map_err(OciError::io(&s))?;
        let existing = fs::symlink_metadata(&d).ok();
        let ft = s_meta.file_type();
        if ft.is_dir() {
            match existing {
                Some(m) if m.is_dir() => {}
                Some(_) => continue,
                None => {
                    fs::create_dir(&d).map_err(OciError::io(&d))?;
                    fs::set_permissions(&d, fs::Permissions::from_mode(ROOT_DIR_MODE))
                        .map_err(OciError::io(&d))?;
                }
            }
            join_dir(&s, &child_logical, &d, mode)?;
        } else if existing.is_some() {
            continue;
        } else if ft.is_symlink() {
            let target = fs::read_link(&s).map_err(OciError::io(&s))?;
            symlink(&target, &d).map_err(OciError::io(&d))?;
        } else if ft.is_file() {
            match mode {
                RootMode::SymlinkJoin => {
                    symlink(&child_logical, &d).map_err(OciError::io(&d))?;
                }
                RootMode::Copy => {
                    fs::copy(&s, &d).map_err(OciError::io(&d))?;
                    let bits = s_meta.permissions().mode();
                    let exec = if bits & 0o100 != 0 { 0o111 } else { 0 };
                    let file_mode = 0o444 | exec | (bits & 0o7000);
                    fs::set_permissions(&d, fs::Permissions::from_mode(file_mode))
                        .map_err(OciError::io(&d))?;
                }
            }
        } else {
            return Err(OciError::UnsupportedFileType { path: s });
        }
    }
    Ok(())
}

/// Runs `script` with bash in `cwd`, with a clean environment.
fn run_extra_commands(script: &str, cwd: &Path) -> Result<(), OciError> {
    let output = Command::new("bash")
        .args(["--noprofile", "--norc"])
        .args(["-o", "errexit", "-o", "nounset", "-o", "pipefail"])
        .arg("-c")
        .arg(format!("umask 0022\n{script}"))
        .current_dir(cwd)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/homeless-shelter")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(OciError::io("bash"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = &output.stderr;
    let tail = &stderr[stderr.len().saturating_sub(STDERR_TAIL_BYTES)..];
    Err(OciError::ExtraCommandsFailed {
        status: output.status.to_string(),
        cwd: cwd.to_path_buf(),
        stderr_tail: String::from_utf8_lossy(tail).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn symlink_join_links_files_and_first_wins() {
        let store = tempfile::tempdir().expect("tempdir");
        let scratch = tempfile::tempdir().expect("tempdir");
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
        let root = build_customisation_root(
            &[a, b],
            RootMode::SymlinkJoin,
            &scripts(""),
            None,
            scratch.path(),
        )
        .expect("root");
        let r = root.path();
        let link = |p: &str| fs::read_link(r.join(p)).expect(p);
        assert_eq!(
            link("bin/hello"),
            Path::new("/nix/store/aaa-hello/bin/hello")
        );
        assert_eq!(link("bin/b"), Path::new("/nix/store/bbb-other/bin/b"));
        assert_eq!(
            link("bin/hi"),
            Path::new("hello"),
            "symlinks copied as they are"
        );
        assert_eq!(link("share/a"), Path::new("/nix/store/aaa-hello/share/a"));
        let bin = fs::symlink_metadata(r.join("bin")).expect("bin");
        assert!(bin.is_dir());
        assert_eq!(bin.permissions().mode() & 0o7777, 0o755);
    }

    #[test]
    fn copy_mode_copies_with_store_modes() {
        let store = tempfile::tempdir().expect("tempdir");
        let scratch = tempfile::tempdir().expect("tempdir");
        let a = content(store.path(), "aaa-hello", &[("bin/hello", "#!/bin/sh\n")]);
        fs::set_permissions(a.real.join("bin/hello"), fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let root =
            build_customisation_root(&[a], RootMode::Copy, &scripts(""), None, scratch.path())
                .expect("root");
        let f = root.path().join("bin/hello");
        let meta = fs::symlink_metadata(&f).expect("copied");
        assert!(meta.is_file());
        assert_eq!(meta.permissions().mode() & 0o7777, 0o555);
        assert_eq!(fs::read(&f).expect("read"), b"#!/bin/sh\n");
    }

    #[test]
    fn extra_commands_run_in_root_with_clean_env() {
        let scratch = tempfile::tempdir().expect("tempdir");
        // cargo sets CARGO_MANIFEST_DIR for test runs: it must not reach the script.
        let script = "mkdir -p tmp\nchmod 1777 tmp\necho \"$PATH:$HOME:${CARGO_MANIFEST_DIR-unset}\" > env\n";
        let root = build_customisation_root(
            &[],
            RootMode::SymlinkJoin,
            &scripts(script),
            None,
            scratch.path(),
        )
        .expect("root");
        let tmp = fs::metadata(root.path().join("tmp")).expect("tmp");
        assert_eq!(tmp.permissions().mode() & 0o7777, 0o1777);
        let env = fs::read_to_string(root.path().join("env")).expect("env");
        assert_eq!(env, "/usr/bin:/bin:/homeless-shelter:unset\n");
        let file_mode = fs::metadata(root.path().join("env")).expect("env");
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
            let err = build_customisation_root(
                &[],
                RootMode::SymlinkJoin,
                &scripts(script),
                None,
                scratch.path(),
            )
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
            RootMode::SymlinkJoin,
            &scripts("false | true"),
            None,
            scratch.path()
        )
        .is_err());
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
            build_customisation_root(
                &[c],
                RootMode::SymlinkJoin,
                &scripts(""),
                None,
                scratch.path()
            ),
            Err(OciError::ContentNotDirectory { .. })
        ));
    }
}
