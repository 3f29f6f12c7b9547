//! SIGINT and SIGTERM: set a flag that stops new builds from starting.

use std::sync::atomic::AtomicBool;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Set once SIGINT or SIGTERM arrived.
pub fn flag() -> &'static AtomicBool {
    &INTERRUPTED
}
