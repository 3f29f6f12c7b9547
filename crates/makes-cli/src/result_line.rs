//! Results on stdout, one per line. A reader that closed the pipe (`makes show /job | head`)
//! has what it wanted: that is not an error, and never a panic as `println!` would make it.

use std::io::Write;

/// Writes `line` and a newline to stdout; a closed pipe or another write error is ignored
/// (stdout carries results only: there is nowhere better to report it).
pub fn print_result(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}
