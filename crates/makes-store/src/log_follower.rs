//! Following a build's log while the builder writes it: complete lines are handed over as they
//! appear (cut at [`MAX_LINE`] bytes, so a builder printing without newlines cannot make makes
//! hold its output). The log file is the builder's; a stale log of an earlier build of the same
//! path is skipped by waiting for a file written since the build started.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// The longest line handed over; the rest of a longer line is dropped.
pub(crate) const MAX_LINE: usize = 4096;

/// How often the file is looked at.
const POLL: Duration = Duration::from_millis(100);

/// Calls `on_line` with each line of the log at `path` written since `since`, until `done` is
/// set and the file holds nothing more.
pub(crate) fn follow(
    path: &Path,
    since: SystemTime,
    done: &AtomicBool,
    on_line: &mut dyn FnMut(&[u8]),
) {
    let mut offset = 0u64;
    let mut pending: Vec<u8> = Vec::new();
    let mut overlong = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Read `done` before the file, so that what was written before it was set is read.
        let finished = done.load(Ordering::SeqCst);
        let fresh = std::fs::metadata(path)
            .ok()
            .filter(|m| m.modified().is_ok_and(|t| t >= since));
        if let (Some(meta), Ok(mut file)) = (fresh, File::open(path)) {
            if meta.len() < offset {
                // Truncated: a new build of the path started the log again.
                offset = 0;
                pending.clear();
            }
            if file.seek(SeekFrom::Start(offset)).is_ok() {
                while let Ok(n) = file.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    offset += n as u64;
                    for &byte in &buf[..n] {
                        if byte == b'\n' {
                            on_line(&pending);
                            pending.clear();
                            overlong = false;
                        } else if pending.len() < MAX_LINE {
                            pending.push(byte);
                        } else if !overlong {
                            overlong = true;
                        }
                    }
                }
            }
        }
        if finished {
            if !pending.is_empty() {
                on_line(&pending);
            }
            return;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    #[test]
    fn lines_written_while_following_are_handed_over_and_long_lines_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("x.log");
        let since = SystemTime::now() - Duration::from_secs(1);
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let (log, done) = (log.clone(), done.clone());
            std::thread::spawn(move || {
                let mut f = File::create(&log).expect("create");
                f.write_all(b"one\ntw").expect("write");
                std::thread::sleep(Duration::from_millis(250));
                f.write_all(b"o\n").expect("write");
                f.write_all(&vec![b'x'; MAX_LINE + 10]).expect("write");
                f.write_all(b"\nlast").expect("write");
                done.store(true, Ordering::SeqCst);
            })
        };
        let mut lines = Vec::new();
        follow(&log, since, &done, &mut |l| lines.push(l.to_vec()));
        writer.join().expect("writer");
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0], b"one");
        assert_eq!(lines[1], b"two");
        assert_eq!(lines[2].len(), MAX_LINE);
        assert_eq!(lines[3], b"last");
    }

    #[test]
    fn a_log_older_than_the_build_is_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("x.log");
        std::fs::write(&log, "stale\n").expect("write");
        let since = SystemTime::now() + Duration::from_secs(3600);
        let done = AtomicBool::new(true);
        let mut lines = Vec::new();
        follow(&log, since, &done, &mut |l| lines.push(l.to_vec()));
        assert!(lines.is_empty());
    }
}
