//! Progress and messages on stderr. A closed or failing stderr (`makes ... 2>&1 | head -1`)
//! must not stop makes: `eprintln!` panics on a write error, and a panic in the signal thread
//! or a build thread would leave makes hanging or dying mid-build. These macros write and
//! ignore the error, as there is nowhere else to report it.

/// `eprintln!` that ignores write errors.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// `eprint!` that ignores write errors and flushes (a prompt).
macro_rules! say_part {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, $($arg)*).and_then(|()| err.flush());
    }};
}
