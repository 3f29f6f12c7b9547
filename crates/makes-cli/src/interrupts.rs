//! SIGINT and SIGTERM, handled on a thread of their own. While makes builds, the first signal
//! stops it: no new build starts, running builders are killed (their supervisors are makes'
//! children; the builders die with them), their staging data is removed as after any failed
//! build, what was stopped is printed, and makes exits with 128 + the signal (130, 143). A
//! second signal, or work that does not stop within [`GRACE`], ends makes at once; what it
//! leaves is swept at the next start (and by `makes gc`). While a job's action runs, the
//! signal is passed on to it instead, and makes exits as the action does.

use signal_hook::consts::{SIGINT, SIGTERM};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static FORWARDING: AtomicBool = AtomicBool::new(false);
static NEXT_ACTIVITY: AtomicU64 = AtomicU64::new(0);
/// What is running now, for the message printed when makes is stopped.
static RUNNING: Mutex<BTreeMap<u64, String>> = Mutex::new(BTreeMap::new());

/// How long running work may take to stop before makes exits anyway.
const GRACE: Duration = Duration::from_secs(10);

/// Set once SIGINT or SIGTERM arrived while makes was building.
pub fn flag() -> &'static AtomicBool {
    &INTERRUPTED
}

/// The exit code for the signal received, if one was.
pub fn exit_code() -> Option<u8> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => u8::try_from(128 + signal).ok(),
    }
}

/// Registers `what` as running until the returned id is passed to [`finished`].
pub fn started(what: String) -> u64 {
    let id = NEXT_ACTIVITY.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut running) = RUNNING.lock() {
        running.insert(id, what);
    }
    id
}

pub fn finished(id: u64) {
    if let Ok(mut running) = RUNNING.lock() {
        running.remove(&id);
    }
}

/// While an action runs, signals are passed on to it rather than stopping makes.
pub fn forward_to_children(on: bool) {
    FORWARDING.store(on, Ordering::SeqCst);
}

/// Installs the handler. Failing to is not fatal: makes then dies of the signal as before, and
/// the next start sweeps what it left.
pub fn install() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                handle(signal);
            }
        });
    if spawned.is_err() {
        say!("makes: warning: cannot watch for SIGINT/SIGTERM");
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

fn handle(signal: i32) {
    if FORWARDING.load(Ordering::SeqCst) {
        // Ctrl-C on a terminal reaches the action already (it is in the foreground process
        // group with makes): passing it on would deliver it twice.
        let from_terminal = signal == SIGINT && std::io::stdin().is_terminal();
        if !from_terminal {
            signal_children(signal);
        }
        return;
    }
    let code = 128 + signal;
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        say!("makes: {} again: exiting now", signal_name(signal));
        std::process::exit(code);
    }
    SIGNAL.store(signal, Ordering::SeqCst);
    let running: Vec<String> = RUNNING
        .lock()
        .map(|r| r.values().cloned().collect())
        .unwrap_or_default();
    signal_children(libc::SIGKILL);
    if running.is_empty() {
        say!("makes: interrupted by {}", signal_name(signal));
        std::process::exit(code);
    }
    say!(
        "makes: interrupted by {}: stopping {}",
        signal_name(signal),
        running.join(", ")
    );
    std::thread::sleep(GRACE);
    say!(
        "makes: still not stopped after {}s: exiting; the next run removes what is left",
        GRACE.as_secs()
    );
    std::process::exit(code);
}

/// Sends `signal` to every process makes started, and theirs: an action's script runs its
/// program as a child of its own, and both must hear it.
fn signal_children(signal: i32) {
    for pid in descendants() {
        // SAFETY: kill has no memory effects; a pid that exited meanwhile gets ESRCH.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// The child processes of `process` (`self` or a pid), from `/proc/P/task/*/children`.
fn children_of(process: &str) -> Vec<libc::pid_t> {
    let mut pids = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{process}/task")) else {
        return pids;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<libc::pid_t>().ok()),
            );
        }
    }
    pids
}

/// makes' descendants, parents before their children.
fn descendants() -> Vec<libc::pid_t> {
    let mut found = children_of("self");
    let mut next = 0;
    // A bound, so that a process tree changing under the walk cannot keep it going.
    while next < found.len() && found.len() < 100_000 {
        let more = children_of(&found[next].to_string());
        for pid in more {
            if !found.contains(&pid) {
                found.push(pid);
            }
        }
        next += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spawned_child_and_its_own_child_are_listed() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5; :"])
            .spawn()
            .expect("sh starts");
        let pid = libc::pid_t::try_from(child.id()).expect("a pid fits");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        // The shell starts its sleep soon after it starts.
        while children_of(&pid.to_string()).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let grandchildren = children_of(&pid.to_string());
        let found = descendants();
        assert!(found.contains(&pid), "{found:?}");
        assert!(!grandchildren.is_empty());
        assert!(grandchildren.iter().all(|g| found.contains(g)), "{found:?}");
        let _ = child.kill();
        let _ = child.wait();
    }
}
