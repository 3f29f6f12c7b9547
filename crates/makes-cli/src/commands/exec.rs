//! `makes exec COMMAND [ARGS...]`: runs a host command with makes' store seen at `/nix/store`
//! (as a job's action runs, see `makes_store::run_on_host`), so that the store paths an
//! evaluation prints (`builtins.path`, `filterSource`, a path in a string) are where they say
//! they are for the command: a script can read `$(makes eval ...)`'s result as it would read
//! `nix-instantiate --eval`'s with Nix's store. The command's exit code is makes'. While it
//! runs, makes holds the store's session lock as any session does: a `makes gc` started inside
//! would wait for the command to end, so collect garbage outside.

use crate::action::exit_of;
use crate::locations;
use crate::report::Failure;
use makes_store::{run_on_host, HostRun, LocalStore};
use std::ffi::OsString;
use std::path::Path;

pub fn exec(command: &[OsString]) -> Result<(), Failure> {
    let Some((program, args)) = command.split_first() else {
        return Err(Failure::message("makes exec needs a command to run"));
    };
    let store_dir = locations::store_dir().map_err(Failure::message)?;
    let store = LocalStore::open(&store_dir)?;
    // Held while the command runs, as by every session: no other makes (the command's own
    // `makes eval` included) sweeps the store's scratch area, where the mount points of the
    // command's root are, and no garbage collection removes what the command reads.
    let _session = store.session_lock()?;
    let workdir = std::env::current_dir()
        .map_err(|e| Failure::message(format!("cannot read the current directory: {e}")))?;
    let run = HostRun {
        program: Path::new(program),
        args,
        workdir: &workdir,
    };
    crate::interrupts::forward_to_children(true);
    let status = run_on_host(&store, &run);
    crate::interrupts::forward_to_children(false);
    let status = status.map_err(|e| {
        let mut failure =
            Failure::message(format!("cannot run {}: {e}", Path::new(program).display()));
        // A command that is not there exits 127, as in a shell.
        if e.kind() == std::io::ErrorKind::NotFound {
            failure.code = 127;
        }
        failure
    })?;
    exit_of(status)
}
