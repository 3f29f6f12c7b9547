//! Running a `makeDerivation` builder: host bash in the [`sandbox`](crate::sandbox) (its input
//! closure read-only, as the build user), a clean environment, makes' bash options and helper
//! functions, the search paths, then the builder text. The builder writes `$out` in the
//! sandbox's own `/nix/store` (a directory of the staging area); it is moved to its place in
//! the store after the build, then registered through [`LocalStore::build_output`], so a path
//! is built once and a failed build leaves nothing.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use makes_spec::DerivationSpec;
use makes_syntax::byte_text::text_to_bytes;

use crate::build_log::{copy_log, log_pipe, BuildLines, Copied};
use crate::error::{io_err, Result, StoreError};
use crate::fsutil::remove_tree;
use crate::hash::parse_sha256;
use crate::local::LocalStore;
use crate::nar::nar_hash_and_size;
use crate::nixbase32;
use crate::path::{PathInfo, StorePath};
use crate::sandbox::{Identity, Sandbox, StoreView, BUILD_DIR};

/// How many lines of the log a failed build reports.
const LOG_TAIL_LINES: usize = 30;

/// The script file, inside `/build`.
const SCRIPT_NAME: &str = ".makes-builder.sh";

/// Where `envFiles` are written, inside `/build`.
const ENV_FILES_DIR: &str = ".makes-env-files";

/// The bash options and helper functions every builder starts with.
pub(crate) const PRELUDE: &str = r#"set -o errexit -o pipefail -o nounset -o functrace -o errtrace -o monitor -o posix
shopt -s dotglob

function echo_stderr {
  echo "${@}" 1>&2
}

function debug {
  echo_stderr "[DEBUG]" "${@}"
}

function info {
  echo_stderr "[INFO]" "${@}"
}

function warn {
  echo_stderr "[WARNING]" "${@}"
}

function error {
  echo_stderr "[ERROR]" "${@}"
  return 1
}

function critical {
  echo_stderr "[CRITICAL]" "${@}"
  exit 1
}

function copy {
  cp --no-target-directory --recursive "${@}" \
    && chmod --recursive +w "${@: -1}"
}

function require_env_var {
  local var_name="${1}"

  if test -z "${!var_name:-}"; then
    critical "Env var is required but is empty or not present:" "${var_name}"
  fi
}

"#;

/// Builds `out` from `spec` in the sandbox, unless it is already valid. Every input path must
/// already be valid; references are looked for among the closure of the inputs and `out`.
/// With `spec.sha256` (fixed-output) the network is kept and the output's NAR hash must
/// match it.
pub fn run_derivation(
    store: &LocalStore,
    spec: &DerivationSpec,
    out: &StorePath,
) -> Result<PathInfo> {
    run_derivation_showing(store, spec, out, None)
}

/// [`run_derivation`], giving each line the builder prints to `lines` as it comes.
pub fn run_derivation_showing(
    store: &LocalStore,
    spec: &DerivationSpec,
    out: &StorePath,
    lines: BuildLines<'_>,
) -> Result<PathInfo> {
    if store.is_valid(out) {
        return store.path_info(out);
    }
    let expected_hash = match &spec.sha256 {
        None => None,
        Some(hash) => Some(parse_sha256(hash).ok_or_else(|| StoreError::InvalidHash {
            path: out.clone(),
            hash: hash.clone(),
        })?),
    };
    let mut inputs = Vec::with_capacity(spec.input_paths.len());
    for input in &spec.input_paths {
        if !store.is_valid(input) {
            return Err(StoreError::InputNotValid {
                path: input.clone(),
                output: out.clone(),
            });
        }
        inputs.push(input.clone());
    }
    let candidates: Vec<StorePath> = store
        .closure(&inputs)?
        .into_iter()
        .map(|info| info.path)
        .collect();
    store.build_output(out, &candidates, |real_out| {
        run_builder(store, spec, out, &candidates, real_out, lines)?;
        if let Some(expected) = expected_hash {
            // The NAR does not depend on what canonicalisation changes (modes but the owner
            // x bit, times), so the hash can be checked before.
            let (found, _) = nar_hash_and_size(real_out)?;
            if found != expected {
                return Err(StoreError::HashMismatch {
                    path: out.clone(),
                    expected: format!("sha256:{}", nixbase32::encode(&expected)),
                    found: format!("sha256:{}", nixbase32::encode(&found)),
                });
            }
        }
        Ok(())
    })
}

/// Prepares the sandbox, runs bash, and moves `$out` to `real_out`.
fn run_builder(
    store: &LocalStore,
    spec: &DerivationSpec,
    out: &StorePath,
    closure: &[StorePath],
    real_out: &Path,
    lines: BuildLines<'_>,
) -> Result<()> {
    let tmp = store.tmp_dir();
    let staging = tempfile::Builder::new()
        .prefix(&format!("build-{}-", out.hash))
        .tempdir_in(&tmp)
        .map_err(io_err(&tmp))?;
    let result = run_in(store, spec, out, closure, real_out, staging.path(), lines);
    // The builder may have left read-only files behind.
    let cleaned = remove_tree(staging.path());
    result.and(cleaned)
}

fn run_in(
    store: &LocalStore,
    spec: &DerivationSpec,
    out: &StorePath,
    closure: &[StorePath],
    real_out: &Path,
    staging: &Path,
    lines: BuildLines<'_>,
) -> Result<()> {
    let new_root = staging.join("root");
    fs::create_dir(&new_root).map_err(io_err(&new_root))?;
    let store_dir = store.store_dir();
    let inputs: Vec<String> = closure.iter().map(StorePath::base_name).collect();
    let view = StoreView::Closure {
        store_dir: &store_dir,
        paths: &inputs,
    };
    let network = spec.sha256.is_some();
    let sandbox = Sandbox::prepare(&new_root, view, network, Identity::BuildUser).map_err(|e| {
        StoreError::SandboxUnavailable {
            path: out.clone(),
            reason: format!("preparing {}: {e}", new_root.display()),
        }
    })?;
    let build_dir = new_root.join("build");
    let script_path = build_dir.join(SCRIPT_NAME);
    write_readable(&script_path, builder_script(spec))?;
    let mut env = base_env(spec, out);
    if !spec.env_files.is_empty() {
        let files_dir = build_dir.join(ENV_FILES_DIR);
        fs::create_dir(&files_dir).map_err(io_err(&files_dir))?;
        fs::set_permissions(&files_dir, fs::Permissions::from_mode(0o755))
            .map_err(io_err(&files_dir))?;
        for (key, value) in &spec.env_files {
            let file = files_dir.join(key);
            write_readable(&file, text_to_bytes(value))?;
            env.push((
                format!("{key}Path"),
                format!("{BUILD_DIR}/{ENV_FILES_DIR}/{key}").into(),
            ));
        }
    }

    let log_path = store.log_path(out);
    let log = File::create(&log_path).map_err(io_err(&log_path))?;
    // The builder writes into a pipe that makes copies to the log: it never holds the file.
    let (log_read, log_write) = log_pipe().map_err(io_err(&log_path))?;
    let log_write_err = log_write.try_clone().map_err(io_err(&log_path))?;
    let mut cmd = Command::new(host_bash());
    cmd.args([
        "--norc",
        "--noprofile",
        &format!("{BUILD_DIR}/{SCRIPT_NAME}"),
    ])
    .env_clear()
    .envs(env)
    .stdin(Stdio::null())
    .stdout(log_write)
    .stderr(log_write_err);
    sandbox.install(&mut cmd);

    let spawned = cmd.spawn();
    // Our copies of the write end go with the command: the pipe ends when the build does.
    drop(cmd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            // What the sandbox's set-up said before it gave up.
            let _ = copy_log(log_read, &log, store.build_log(), out, lines);
            return Err(StoreError::SandboxUnavailable {
                path: out.clone(),
                reason: format!("{e}\n{}", log_tail(&log_path)),
            });
        }
    };
    let copied = copy_log(log_read, &log, store.build_log(), out, lines);
    if !matches!(copied, Ok(Copied::Finished(_))) {
        // Over the cap, or the log cannot be written: the build stops here. Killing the
        // process outside the sandbox's PID namespace kills the build (its parent-death
        // signal) and so everything in the namespace.
        let _ = child.kill();
        let _ = child.wait();
    }
    match copied {
        Ok(Copied::Finished(_)) => {}
        Ok(Copied::OverLimit) => {
            return Err(StoreError::LogLimitExceeded {
                path: out.clone(),
                limit: store.build_log().max_bytes,
                log: log_path,
            })
        }
        Err(e) => return Err(io_err(&log_path)(e)),
    }
    let status = child.wait().map_err(io_err(&log_path))?;
    let failed = |status: String| StoreError::BuilderFailed {
        path: out.clone(),
        // The builder's own ENOSPC message could not reach the log on that same disk.
        status: match crate::disk_space::full_file_system(store.root()) {
            Some(cause) => format!("{status}, while {cause}"),
            None => status,
        },
        tail: log_tail(&log_path),
        log: log_path.clone(),
    };
    if !status.success() {
        return Err(failed(status.to_string()));
    }
    let built = new_root.join("nix/store").join(out.base_name());
    let Ok(meta) = fs::symlink_metadata(&built) else {
        return Err(failed("exited 0 without creating $out".to_owned()));
    };
    if meta.is_dir() {
        // Moving a directory rewrites its `..`: it must be writable by us.
        fs::set_permissions(&built, fs::Permissions::from_mode(0o755)).map_err(io_err(&built))?;
    }
    fs::rename(&built, real_out).map_err(io_err(real_out))
}

/// Writes a file the build user can read, whatever makes' umask.
fn write_readable(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    fs::write(path, contents).map_err(io_err(path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).map_err(io_err(path))
}

/// The bash that runs builders: the host's, at a path that exists in the sandbox too.
fn host_bash() -> PathBuf {
    let bin = Path::new("/bin/bash");
    if bin.exists() {
        bin.to_owned()
    } else {
        PathBuf::from("/usr/bin/bash")
    }
}

/// The whole environment of a builder, except `envFiles` paths. Values are bytes, as Nix
/// strings are.
fn base_env(spec: &DerivationSpec, out: &StorePath) -> Vec<(String, OsString)> {
    // The search paths first, as makes prepends them: a tool of the package set wins over
    // the host's (`command -v node` in a builder must find the set's node, not /usr/bin's).
    let mut path = String::new();
    for dir in &spec.search_paths.bin {
        path.push_str(dir);
        path.push_str("/bin:");
    }
    path.push_str("/usr/bin:/bin");
    let mut env: Vec<(String, OsString)> = vec![
        ("PATH".to_owned(), path.into()),
        ("HOME".to_owned(), "/homeless-shelter".into()),
        ("NIX_BUILD_TOP".to_owned(), BUILD_DIR.into()),
        ("TMPDIR".to_owned(), BUILD_DIR.into()),
        ("TMP".to_owned(), BUILD_DIR.into()),
        ("TEMP".to_owned(), BUILD_DIR.into()),
        ("SOURCE_DATE_EPOCH".to_owned(), "1".into()),
        ("out".to_owned(), out.to_absolute().into()),
    ];
    env.extend(spec.env.iter().map(|(k, v)| {
        let bytes = text_to_bytes(v).into_owned();
        (k.clone(), OsString::from_vec(bytes))
    }));
    env
}

/// The script bash runs: prelude, `source`d search paths, exports, then the builder.
fn builder_script(spec: &DerivationSpec) -> String {
    let mut script = String::from(PRELUDE);
    for file in &spec.search_paths.source {
        // Writing to a String cannot fail.
        let _ = writeln!(script, "source {}", shell_quote(file));
    }
    for (var, dir, suffix) in &spec.search_paths.export {
        let _ = writeln!(
            script,
            "export {var}={}{}\"${{{var}:+:}}${{{var}:-}}\"",
            shell_quote(dir),
            shell_quote(suffix),
        );
    }
    script.push('\n');
    script.push_str(&spec.builder);
    script.push('\n');
    script
}

/// Single-quotes a string for bash.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The last lines of a log, reading at most its last 64 KiB.
pub(crate) fn log_tail(path: &Path) -> String {
    const MAX: u64 = 64 * 1024;
    let mut buf = Vec::new();
    if let Ok(mut f) = File::open(path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(MAX)));
        let _ = f.read_to_end(&mut buf);
    }
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_has_prelude_sources_exports_and_builder() {
        let spec = DerivationSpec {
            name: "x".into(),
            builder: "touch $out".into(),
            env: Default::default(),
            env_files: Default::default(),
            search_paths: makes_spec::SearchPaths {
                bin: vec!["/nix/store/a-bin".into()],
                source: vec!["/nix/store/b-it's".into()],
                export: vec![("PYTHONPATH".into(), "/nix/store/c".into(), "/lib".into())],
            },
            sha256: None,
            local: false,
            input_paths: vec![],
        };
        let script = builder_script(&spec);
        assert!(script.starts_with("set -o errexit -o pipefail -o nounset"));
        assert!(script.contains("source '/nix/store/b-it'\\''s'\n"));
        assert!(script.contains(
            "export PYTHONPATH='/nix/store/c''/lib'\"${PYTHONPATH:+:}${PYTHONPATH:-}\"\n"
        ));
        assert!(script.ends_with("touch $out\n"));
        let env = base_env(&spec, &crate::path::make_store_path("t", &[0; 32], "x"));
        assert_eq!(env[0].1, "/nix/store/a-bin/bin:/usr/bin:/bin");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        fs::write(&log, text).expect("write");
        let tail = log_tail(&log);
        assert!(tail.starts_with("line 71\n"));
        assert!(tail.ends_with("line 100"));
    }
}
