//! One function per command.

pub mod build;
pub mod completions;
pub mod eval;
pub mod exec;
pub mod gc;
pub mod instantiate;
pub mod list;
pub mod lock;
pub mod log;
pub mod pick;
pub mod push;
pub mod show;
