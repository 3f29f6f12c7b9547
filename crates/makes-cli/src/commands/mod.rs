//! One function per command.

pub mod build;
pub mod eval;
pub mod list;
