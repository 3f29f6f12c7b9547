//! Building a Nix derivation (a `.drv` from `builtins.derivation`) in makes' sandbox, as Nix's
//! builder runs it (`src/libstore/build/local-derivation-goal.cc`): the builder program with
//! the derivation's arguments and environment plus Nix's fixed variables, in `/build`, its
//! input closure read-only at `/nix/store`, every output written there and moved into the
//! store after the builder exits. Unlike a `makeDerivation`, nothing of makes' bash prelude.

use std::fs::{self, File};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{io_err, Result, StoreError};
use crate::fsutil::remove_tree;
use crate::local::LocalStore;
use crate::path::{PathInfo, StorePath};
use crate::sandbox::{Identity, Sandbox, StoreView, BUILD_DIR};

/// What the store needs of a derivation to build it.
pub struct NixBuild<'a> {
    pub builder: &'a [u8],
    pub args: &'a [Vec<u8>],
    /// The derivation's environment (outputs included), before Nix's own variables.
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    /// Files written into `/build` before the builder starts (`passAsFile`), by name.
    pub files: Vec<(String, Vec<u8>)>,
    /// Every output, by name.
    pub outputs: Vec<(String, StorePath)>,
    /// The input sources and the outputs of input derivations: all must be valid.
    pub inputs: Vec<StorePath>,
    /// A fixed-output derivation keeps the network.
    pub fixed_output: bool,
}

/// Checks a fixed output before it is registered (its hash, ingested as the derivation says).
pub type OutputCheck<'a> = &'a dyn Fn(&Path) -> std::result::Result<(), OutputCheckError>;

/// Why a fixed output was refused.
#[derive(Debug)]
pub enum OutputCheckError {
    /// Its hash is not the announced one: what was found (`ALGO:HASH, expected ALGO:HASH`).
    Mismatch { found: String },
    /// It could not be checked at all (an unknown algorithm, a file that cannot be read).
    Unchecked(crate::PluginError),
}

impl OutputCheckError {
    /// The store's error for the output `path`, whose hash was to be `expected`.
    pub fn into_store_error(self, path: &StorePath, expected: String) -> StoreError {
        match self {
            OutputCheckError::Mismatch { found } => StoreError::HashMismatch {
                path: path.clone(),
                expected,
                found,
            },
            OutputCheckError::Unchecked(source) => StoreError::OutputUnchecked {
                path: path.clone(),
                source,
            },
        }
    }
}

/// Builds every output of `build` that is not valid yet; returns their infos.
pub fn build_nix_derivation(
    store: &LocalStore,
    build: &NixBuild,
    check: Option<OutputCheck>,
) -> Result<Vec<PathInfo>> {
    if build.outputs.iter().all(|(_, p)| store.is_valid(p)) {
        return build
            .outputs
            .iter()
            .map(|(_, p)| store.path_info(p))
            .collect();
    }
    let (first_name, first) =
        build
            .outputs
            .first()
            .ok_or_else(|| StoreError::SandboxUnavailable {
                path: StorePath {
                    hash: String::new(),
                    name: "derivation".into(),
                },
                reason: "a derivation without outputs".into(),
            })?;
    for input in &build.inputs {
        if !store.is_valid(input) {
            return Err(StoreError::InputNotValid {
                path: input.clone(),
                output: first.clone(),
            });
        }
    }
    let mut candidates: Vec<StorePath> = store
        .closure(&build.inputs)?
        .into_iter()
        .map(|info| info.path)
        .collect();
    candidates.extend(build.outputs.iter().map(|(_, p)| p.clone()));

    let tmp = store.tmp_dir();
    let staging = tempfile::Builder::new()
        .prefix(&format!("build-{}-", first.hash))
        .tempdir_in(&tmp)
        .map_err(io_err(&tmp))?;
    let new_root = staging.path().join("root");
    let result = (|| {
        let mut infos = Vec::new();
        // The first output's registration runs the builder; the others are moved from the
        // same sandbox root afterwards.
        infos.push(store.build_output(first, &candidates, |real_out| {
            run_builder(store, build, &candidates, &new_root)?;
            take_output(&new_root, first_name, first, real_out, check)
        })?);
        for (name, path) in &build.outputs[1..] {
            infos.push(store.build_output(path, &candidates, |real_out| {
                take_output(&new_root, name, path, real_out, None)
            })?);
        }
        Ok(infos)
    })();
    let cleaned = remove_tree(staging.path());
    result.and_then(|infos| cleaned.map(|()| infos))
}

/// Moves output `path` from the sandbox's store to `real_out`, after `check`.
fn take_output(
    new_root: &Path,
    name: &str,
    path: &StorePath,
    real_out: &Path,
    check: Option<OutputCheck>,
) -> Result<()> {
    let built = new_root.join("nix/store").join(path.base_name());
    let Ok(meta) = fs::symlink_metadata(&built) else {
        return Err(StoreError::OutputNotCreated { path: path.clone() });
    };
    if let Some(check) = check {
        check(&built)
            .map_err(|e| e.into_store_error(path, format!("the hash of output '{name}'")))?;
    }
    if meta.is_dir() {
        // Moving a directory rewrites its `..`: it must be writable by us.
        fs::set_permissions(&built, fs::Permissions::from_mode(0o755)).map_err(io_err(&built))?;
    }
    fs::rename(&built, real_out).map_err(io_err(real_out))
}

/// Nix's variables, which the derivation's own environment does not override.
fn nix_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PATH", "/path-not-set"),
        ("HOME", "/homeless-shelter"),
        ("NIX_STORE", "/nix/store"),
        ("NIX_BUILD_CORES", "1"),
        ("NIX_BUILD_TOP", BUILD_DIR),
        ("TMPDIR", BUILD_DIR),
        ("TEMPDIR", BUILD_DIR),
        ("TMP", BUILD_DIR),
        ("TEMP", BUILD_DIR),
        ("PWD", BUILD_DIR),
        ("NIX_LOG_FD", "2"),
        ("TERM", "xterm-256color"),
    ]
}

fn run_builder(
    store: &LocalStore,
    build: &NixBuild,
    closure: &[StorePath],
    new_root: &Path,
) -> Result<()> {
    let (_, first) = &build.outputs[0];
    fs::create_dir(new_root).map_err(io_err(new_root))?;
    let store_dir = store.store_dir();
    let inputs: Vec<String> = closure
        .iter()
        .filter(|p| store.is_valid(p))
        .map(StorePath::base_name)
        .collect();
    let view = StoreView::Closure {
        store_dir: &store_dir,
        paths: &inputs,
    };
    let sandbox = Sandbox::prepare(new_root, view, build.fixed_output, Identity::BuildUser)
        .map_err(|e| StoreError::SandboxUnavailable {
            path: first.clone(),
            reason: format!("preparing {}: {e}", new_root.display()),
        })?;
    let build_dir = new_root.join("build");
    for (name, contents) in &build.files {
        let file = build_dir.join(name);
        fs::write(&file, contents).map_err(io_err(&file))?;
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).map_err(io_err(&file))?;
    }
    let log_path = store.log_path(first);
    let log = File::create(&log_path).map_err(io_err(&log_path))?;
    let log_err = log.try_clone().map_err(io_err(&log_path))?;
    let os = |b: &[u8]| std::ffi::OsStr::from_bytes(b).to_owned();
    let mut cmd = Command::new(os(build.builder));
    // As Nix, the builder sees its base name as its `$0`.
    let base_name = build
        .builder
        .rsplit(|&b| b == b'/')
        .next()
        .unwrap_or_default();
    std::os::unix::process::CommandExt::arg0(&mut cmd, os(base_name));
    cmd.args(build.args.iter().map(|a| os(a)))
        .env_clear()
        .envs(nix_env())
        .envs(build.env.iter().map(|(k, v)| (os(k), os(v))))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    sandbox.install(&mut cmd);
    let tail = || crate::builder::log_tail(&log_path);
    let mut child = cmd.spawn().map_err(|e| StoreError::SandboxUnavailable {
        path: first.clone(),
        reason: format!(
            "cannot run the builder '{}': {e}\n{}",
            String::from_utf8_lossy(build.builder),
            tail()
        ),
    })?;
    let status = child.wait().map_err(io_err(&log_path))?;
    if !status.success() {
        return Err(StoreError::BuilderFailed {
            path: first.clone(),
            status: status.to_string(),
            tail: tail(),
            log: log_path.clone(),
        });
    }
    Ok(())
}
