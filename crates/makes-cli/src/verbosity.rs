//! How much makes says on stderr: `-q` only errors, default progress lines, `-v` also store
//! paths and the codes of errors. Set once from the command line, read anywhere.

use std::sync::atomic::{AtomicI8, Ordering};

static LEVEL: AtomicI8 = AtomicI8::new(0);

/// Sets the level: `verbose` minus `quiet` (`-vv` is 2, `-q` is -1).
pub fn set(verbose: u8, quiet: u8) {
    let level = i16::from(verbose) - i16::from(quiet);
    LEVEL.store(level.clamp(-1, 3) as i8, Ordering::Relaxed);
}

/// The level: -1 quiet, 0 default, 1 and more verbose.
pub fn level() -> i8 {
    LEVEL.load(Ordering::Relaxed)
}

pub fn quiet() -> bool {
    level() < 0
}

pub fn verbose() -> bool {
    level() > 0
}
