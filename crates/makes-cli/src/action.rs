//! A job's action, run after its build as makes runs it: a result holding `makes-action.sh`
//! (makeScript's, which runs `OUT/bin/<name> ARGS...`) is run as `makes-action.sh OUT
//! ARGS...` in the caller's directory with the caller's environment and standard streams, and
//! its exit code is makes' exit code. The store is seen at `/nix/store` while it runs, where the
//! script's paths point (see `makes_store::run_on_host`).

use crate::report::Failure;
use crate::session::Session;
use makes_store::{run_on_host, HostRun, StorePath};
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

/// The file makes' makeDerivation writes for an `action`.
const ACTION_FILE: &str = "makes-action.sh";

/// The action of a built result, if it has one.
pub fn action_of(result: &Path) -> Option<PathBuf> {
    let action = result.join(ACTION_FILE);
    action.is_file().then_some(action)
}

/// Runs the action of the built result at `result` (its path on disk) with `args`.
pub fn run_action(session: &Session, result: &Path, args: &[OsString]) -> Result<(), Failure> {
    let base = result
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let out = StorePath::from_base_name(&base)?;
    let inside = PathBuf::from(out.to_absolute());
    let workdir = std::env::current_dir()
        .map_err(|e| Failure::message(format!("cannot read the current directory: {e}")))?;
    let mut action_args = vec![inside.clone().into_os_string()];
    action_args.extend(args.iter().cloned());
    let run = HostRun {
        program: &inside.join(ACTION_FILE),
        args: &action_args,
        workdir: &workdir,
    };
    crate::interrupts::forward_to_children(true);
    let status = run_on_host(&session.store, &run);
    crate::interrupts::forward_to_children(false);
    let status = status.map_err(|e| {
        Failure::message(format!(
            "cannot run the action of {}: {e}",
            inside.display()
        ))
    })?;
    exit_of(status)
}

/// makes' exit for a program it ran on the host: the program's own exit code.
pub fn exit_of(status: std::process::ExitStatus) -> Result<(), Failure> {
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(Failure::silent(u8::try_from(code).unwrap_or(1))),
        // Killed by a signal: the shell's convention.
        None => Err(Failure::silent(
            status
                .signal()
                .and_then(|s| u8::try_from(128 + s).ok())
                .unwrap_or(1),
        )),
    }
}
