//! A builder's output, as Nix takes it: through a pipe that makes reads, never a file the
//! builder holds. So a builder cannot seek, truncate or replace its own log (a pipe has no
//! offset), the log is bounded (past [`BuildLogSettings::max_bytes`] the build is stopped and
//! fails with "log limit exceeded", as Nix's `max-build-log-size`), and its lines can be
//! shown while the build runs ([`BuildLogSettings::on_line`]).
//!
//! makes writes what it reads to the log file in the store's `logs/` directory, which the
//! builder never sees.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::Arc;

use crate::path::StorePath;

/// The default cap on one build's log: 64 MiB.
pub const DEFAULT_MAX_LOG_BYTES: u64 = 64 << 20;

/// The longest piece of a line given to [`BuildLogSettings::on_line`] at once: a longer line
/// (a builder printing megabytes without a newline) comes in pieces of this size, so that
/// makes never holds more than this of a line.
pub const MAX_LINE_BYTES: usize = 64 << 10;

/// Called with each line a builder prints (without its `\n`), from the thread that runs the
/// build; builds may run on several threads at once, hence the path.
pub type LineHook = Arc<dyn Fn(&StorePath, &[u8]) + Send + Sync>;

/// How builders' output is kept and shown.
#[derive(Clone)]
pub struct BuildLogSettings {
    /// The most bytes one build may print (stdout and stderr together).
    pub max_bytes: u64,
    /// Where each line goes besides the log file, if anywhere.
    pub on_line: Option<LineHook>,
}

impl Default for BuildLogSettings {
    fn default() -> BuildLogSettings {
        BuildLogSettings {
            max_bytes: DEFAULT_MAX_LOG_BYTES,
            on_line: None,
        }
    }
}

impl fmt::Debug for BuildLogSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildLogSettings")
            .field("max_bytes", &self.max_bytes)
            .field("on_line", &self.on_line.as_ref().map(|_| "hook"))
            .finish()
    }
}

/// A pipe for a builder's stdout and stderr: the write end goes to the builder, makes reads
/// the other. Both ends are close-on-exec here; the builder gets its copies as fds 1 and 2.
pub(crate) fn log_pipe() -> io::Result<(File, File)> {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    Ok((File::from(read), File::from(write)))
}

/// How copying a builder's output ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Copied {
    /// The builder closed its end (it exited): this many bytes.
    Finished(u64),
    /// It printed more than the cap; the copy stopped at the cap.
    OverLimit,
}

/// Where one build's lines go besides the log file and the settings' hook: the scheduler's
/// observer (`-L`), told as the lines come.
pub type BuildLines<'a> = Option<&'a dyn Fn(&[u8])>;

/// Copies what comes through `pipe` to `log` until the builder closes its end or the copy
/// reaches `settings.max_bytes`, giving each line of the build of `path` to the settings'
/// hook and to `also`. Errors are the log file's (a full disk): the caller stops the build.
pub(crate) fn copy_log(
    pipe: impl Read,
    log: impl Write,
    settings: &BuildLogSettings,
    path: &StorePath,
    also: BuildLines<'_>,
) -> io::Result<Copied> {
    copy_capped(pipe, log, settings.max_bytes, |line| {
        if let Some(hook) = &settings.on_line {
            hook(path, line);
        }
        if let Some(also) = also {
            also(line);
        }
    })
}

/// [`copy_log`] with the cap and the line hook as such.
pub(crate) fn copy_capped(
    mut pipe: impl Read,
    mut log: impl Write,
    max_bytes: u64,
    mut on_line: impl FnMut(&[u8]),
) -> io::Result<Copied> {
    let mut lines = LineSplitter::default();
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let room = max_bytes.saturating_sub(total);
        let kept = n.min(usize::try_from(room).unwrap_or(usize::MAX));
        log.write_all(&buf[..kept])?;
        total += kept as u64;
        lines.feed(&buf[..kept], &mut on_line);
        if kept < n {
            log.flush()?;
            return Ok(Copied::OverLimit);
        }
    }
    lines.finish(&mut on_line);
    log.flush()?;
    Ok(Copied::Finished(total))
}

/// A sink that keeps only the last `keep` bytes written to it: the end of a script's output
/// for its error message, whatever the script prints.
pub(crate) struct Tail {
    bytes: Vec<u8>,
    keep: usize,
}

impl Tail {
    pub(crate) fn new(keep: usize) -> Tail {
        Tail {
            bytes: Vec::new(),
            keep,
        }
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl Write for Tail {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        if self.bytes.len() > self.keep * 2 {
            self.bytes.drain(..self.bytes.len() - self.keep);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.bytes.len() > self.keep {
            self.bytes.drain(..self.bytes.len() - self.keep);
        }
        Ok(())
    }
}

/// Cuts a byte stream into lines, holding at most [`MAX_LINE_BYTES`] of an unfinished one.
#[derive(Default)]
struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    fn feed(&mut self, mut bytes: &[u8], mut emit: impl FnMut(&[u8])) {
        while let Some(end) = bytes.iter().position(|b| *b == b'\n') {
            if self.pending.is_empty() {
                emit(&bytes[..end]);
            } else {
                self.pending.extend_from_slice(&bytes[..end]);
                emit(&self.pending);
                self.pending.clear();
            }
            bytes = &bytes[end + 1..];
        }
        self.pending.extend_from_slice(bytes);
        while self.pending.len() >= MAX_LINE_BYTES {
            emit(&self.pending[..MAX_LINE_BYTES]);
            self.pending.drain(..MAX_LINE_BYTES);
        }
    }

    fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            emit(&self.pending);
            self.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn path() -> StorePath {
        crate::path::make_store_path("t", &[0; 32], "x")
    }

    fn collecting() -> (BuildLogSettings, Arc<Mutex<Vec<Vec<u8>>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let theirs = Arc::clone(&seen);
        let settings = BuildLogSettings {
            max_bytes: 100,
            on_line: Some(Arc::new(move |_, line: &[u8]| {
                theirs.lock().expect("lock").push(line.to_vec())
            })),
        };
        (settings, seen)
    }

    #[test]
    fn lines_reach_the_hook_and_the_log() {
        let (settings, seen) = collecting();
        let mut log = Vec::new();
        let also = std::cell::RefCell::new(Vec::new());
        let also_hook = |line: &[u8]| also.borrow_mut().push(line.to_vec());
        let copied = copy_log(
            &b"one\ntwo\n\nlast"[..],
            &mut log,
            &settings,
            &path(),
            Some(&also_hook),
        );
        assert_eq!(copied.expect("copied"), Copied::Finished(13));
        assert_eq!(log, b"one\ntwo\n\nlast");
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(seen, [&b"one"[..], b"two", b"", b"last"]);
        assert_eq!(
            also.into_inner(),
            seen,
            "the build's own hook sees the same lines"
        );
    }

    #[test]
    fn the_copy_stops_at_the_cap() {
        let (settings, _) = collecting();
        let mut log = Vec::new();
        let copied = copy_log(&[b'x'; 1000][..], &mut log, &settings, &path(), None);
        assert_eq!(copied.expect("copied"), Copied::OverLimit);
        assert_eq!(log.len(), 100);
        let mut log = Vec::new();
        let exact = copy_log(&[b'x'; 100][..], &mut log, &settings, &path(), None);
        assert_eq!(exact.expect("copied"), Copied::Finished(100));
    }

    #[test]
    fn the_tail_keeps_the_last_bytes() {
        let mut tail = Tail::new(4);
        let copied = copy_capped(&b"0123456789"[..], &mut tail, 100, |_| {});
        assert_eq!(copied.expect("copied"), Copied::Finished(10));
        assert_eq!(tail.into_bytes(), b"6789");
    }

    #[test]
    fn a_line_without_end_comes_in_pieces() {
        let mut splitter = LineSplitter::default();
        let mut pieces = Vec::new();
        let long = vec![b'a'; MAX_LINE_BYTES * 2 + 5];
        for chunk in long.chunks(1000) {
            splitter.feed(chunk, |l| pieces.push(l.len()));
        }
        splitter.feed(b"\n", |l| pieces.push(l.len()));
        assert_eq!(pieces, [MAX_LINE_BYTES, MAX_LINE_BYTES, 5]);
    }
}
