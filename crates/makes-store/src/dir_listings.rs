//! The remembered listings of the directories of source trees, so that checking an unchanged
//! tree takes one `lstat` per entry and no directory reads (an image of 5,000 small path
//! literals otherwise lists 10,000 directories on every evaluation).
//!
//! A directory's listing changes only through a create, unlink or rename in it, and each of
//! those sets its modification and change times; the change time no user can set. So a
//! directory whose device, inode, mode, size and times are those of a remembered listing has
//! that listing's names. A listing is remembered only when the directory's change time is
//! more than a second older than the moment it was read, so that a change in the same clock
//! tick as the read (which would leave the times as they were) is never missed.
//!
//! The file, `cache/dirs.log`, holds one line per directory, `<check> <path> <8 numbers>
//! <names>` (path and names hex, the numbers those of `EntryMeta::words`, the check the first
//! 8 bytes of the SHA-256 of the rest of the line): appended with one `write` per tree by
//! sessions that may run at once; a line that does not check out (torn by a crash) is
//! skipped, and the last line of a directory wins. It starts afresh past [`MAX_LOG_BYTES`].

use crate::path::hex;
use crate::source_tree::EntryMeta;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How large the log may grow before it starts afresh (about 200,000 directories).
const MAX_LOG_BYTES: u64 = 32 << 20;

/// A directory's names as its listing gave them (without `.` and `..`), sorted.
pub(crate) type Names = Vec<Vec<u8>>;

/// The remembered listings, read from `log` once per process.
#[derive(Debug, Default)]
pub(crate) struct DirListings(
    Mutex<Option<State>>,
    /// Set by [`DirListings::release`]: a read-ahead no longer reads the log.
    std::sync::atomic::AtomicBool,
);

#[derive(Debug)]
struct State {
    log: PathBuf,
    /// The log as read; its lines are checked and decoded only when their directory is asked
    /// for (most processes walk a few of the trees the log knows), outside the lock, so that
    /// threads walking trees at once do not wait on each other's checks.
    text: Arc<[u8]>,
    /// The lines of `text`, each as the [`path_key`] of its path field and its range, sorted
    /// by key (lines of one key in log order): one allocation for the whole log, where a map
    /// of paths cost two per directory, all made while the other walkers wait for the lock.
    lines: Vec<(u64, Range<usize>)>,
    /// The metadata and encoded names ([`encode_names`]) remembered by this process, by
    /// directory path.
    fresh: HashMap<Vec<u8>, (EntryMeta, Vec<u8>)>,
    /// Lines not yet appended to the log.
    pending: Vec<u8>,
}

impl State {
    fn read(log: &Path) -> Self {
        let text = read_log(log);
        let mut lines: Vec<(u64, Range<usize>)> = line_ranges(&text)
            .into_iter()
            .filter_map(|range| {
                let mut fields = text[range.clone()].splitn(3, |b| *b == b' ');
                match (fields.next(), fields.next(), fields.next()) {
                    (Some(_check), Some(path), Some(_rest)) => Some((path_key(path), range)),
                    _ => None,
                }
            })
            .collect();
        // Stable: the lines of a directory stay in log order (the last one wins).
        lines.sort_by_key(|(key, _)| *key);
        State {
            log: log.to_path_buf(),
            text: text.into(),
            lines,
            fresh: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// The remembered metadata and encoded names of the directory at `path`.
    fn get(&self, path: &[u8]) -> Option<(EntryMeta, Vec<u8>)> {
        let path_hex = hex(path);
        self.candidates(path, &path_hex).resolve(&path_hex)
    }

    /// Where the listing of the directory at `path` (whose hex is `path_hex`) may be: what
    /// this process remembered, or the log's lines of it.
    fn candidates(&self, path: &[u8], path_hex: &str) -> Candidates {
        if let Some(found) = self.fresh.get(path) {
            return Candidates::Fresh(found.clone());
        }
        // Lines of another path with the same key fail `parse_line`'s path check.
        let key = path_key(path_hex.as_bytes());
        let first = self.lines.partition_point(|(k, _)| *k < key);
        let ranges: Vec<Range<usize>> = self.lines[first..]
            .iter()
            .take_while(|(k, _)| *k == key)
            .map(|(_, range)| range.clone())
            .collect();
        if ranges.is_empty() {
            Candidates::None
        } else {
            Candidates::Logged(self.text.clone(), ranges)
        }
    }
}

/// See [`State::candidates`].
enum Candidates {
    None,
    Fresh((EntryMeta, Vec<u8>)),
    /// The log's text and the ranges of the directory's lines in it.
    Logged(Arc<[u8]>, Vec<Range<usize>>),
}

impl Candidates {
    /// The metadata and encoded names they hold for the directory whose path's hex is
    /// `path_hex`: from the log, the last line that checks out (one torn by a crash is
    /// skipped, and any whole line is a true listing for the metadata it names).
    fn resolve(self, path_hex: &str) -> Option<(EntryMeta, Vec<u8>)> {
        match self {
            Candidates::None => None,
            Candidates::Fresh(found) => Some(found),
            Candidates::Logged(text, ranges) => ranges
                .iter()
                .rev()
                .find_map(|range| parse_line(text.get(range.clone())?, path_hex)),
        }
    }
}

impl DirListings {
    fn state(&self, log: &Path) -> std::sync::MutexGuard<'_, Option<State>> {
        // A panic elsewhere while the lock was held leaves a map of whole entries: keep it.
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // The bytes first: `Path`'s own equality compares component by component, and this
        // runs for every directory of every path literal; an equal path spelt otherwise
        // (`a//b`) still counts as the same log.
        let same_log = |s: &State| s.log.as_os_str() == log.as_os_str() || s.log == log;
        if !guard.as_ref().is_some_and(same_log) {
            *guard = Some(State::read(log));
        }
        guard
    }

    /// The names of the directory `dir`, if a listing of it is remembered with exactly the
    /// metadata `now` (its `lstat` now).
    pub(crate) fn names(&self, log: &Path, dir: &Path, now: &EntryMeta) -> Option<Names> {
        let path = dir.as_os_str().as_bytes();
        let path_hex = hex(path);
        // Only finding the lines is done under the lock; checking and decoding them is not.
        let candidates = self.state(log).as_ref()?.candidates(path, &path_hex);
        let (meta, encoded) = candidates.resolve(&path_hex)?;
        if meta != *now {
            return None;
        }
        decode_names(&encoded)
    }

    /// Remembers the listing `names` of `dir`, read while its metadata was `meta` (taken
    /// from the open directory before reading it), if its change time is old enough at `now`
    /// (seconds since the epoch). Kept in memory until [`DirListings::flush`].
    pub(crate) fn remember(
        &self,
        log: &Path,
        dir: &Path,
        meta: &EntryMeta,
        names: &Names,
        now: i64,
    ) {
        if meta.ctime.0 >= now - 1 {
            return;
        }
        let mut guard = self.state(log);
        let Some(state) = guard.as_mut() else { return };
        let path = dir.as_os_str().as_bytes();
        let encoded = encode_names(names);
        if state
            .get(path)
            .is_some_and(|(m, e)| m == *meta && e == encoded)
        {
            return;
        }
        let mut rest = hex(path);
        for w in meta.words() {
            rest.push(' ');
            rest.push_str(&w.to_string());
        }
        rest.push(' ');
        rest.push_str(&hex(&encoded));
        let check = hex(&Sha256::digest(rest.as_bytes())[..8]);
        state.pending.extend_from_slice(check.as_bytes());
        state.pending.push(b' ');
        state.pending.extend_from_slice(rest.as_bytes());
        state.pending.push(b'\n');
        state.fresh.insert(path.to_vec(), (*meta, encoded));
    }

    /// Appends the listings remembered since the last flush, with one `write` (best effort:
    /// a failure only costs reading those directories again next time).
    pub(crate) fn flush(&self, log: &Path) {
        let mut guard = self.state(log);
        let Some(state) = guard.as_mut() else { return };
        if state.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut state.pending);
        drop(guard);
        let Some(dir) = log.parent() else { return };
        if fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(mut file) = fs::OpenOptions::new().create(true).append(true).open(log) {
            // One `write` of whole lines: appends of concurrent sessions do not interleave.
            let _ = file.write_all(&pending);
        }
    }
}

impl DirListings {
    /// Reads the log now (if not read yet), for a thread to do before the first walk asks;
    /// not once [`DirListings::release`] has run (the walks it would serve are over, and the
    /// copy would only add to the peak memory of what follows).
    pub(crate) fn load(&self, log: &Path) {
        if !self.1.load(std::sync::atomic::Ordering::Acquire) {
            drop(self.state(log));
        }
    }

    /// Whether the log is read (tests).
    #[cfg(test)]
    pub(crate) fn is_loaded(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some()
    }

    /// Forgets the log as read and the listings remembered since (after appending the ones
    /// not yet written), so that what follows the evaluation, an image build above all, does
    /// not carry a copy of the log, megabytes for a large tree; a later walk reads it again.
    pub(crate) fn release(&self, log: &Path) {
        self.flush(log);
        self.1.store(true, std::sync::atomic::Ordering::Release);
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard = None;
    }
}

/// The key a directory's lines are found by: FNV-1a of the hex of its path, as the log spells
/// it (a lookup hashes the hex it compares lines against; no line is decoded to be indexed).
fn path_key(path_hex: &[u8]) -> u64 {
    path_hex.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The ranges of the lines of `text` (without their `\n`), a log of this module's or
/// `source_cache`'s. Those logs are ASCII as written, and `str`'s search for a newline skips
/// many bytes at a time; a log that is not UTF-8 (a damaged disk) is split a byte at a time,
/// to the same lines.
pub(crate) fn line_ranges(text: &[u8]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut push = |len: usize| {
        ranges.push(start..start + len);
        start += len + 1;
    };
    match std::str::from_utf8(text) {
        Ok(text) => text.split('\n').for_each(|line| push(line.len())),
        Err(_) => text
            .split(|b| *b == b'\n')
            .for_each(|line| push(line.len())),
    }
    ranges
}

/// The log's bytes (none if it is missing or was too large, and then removed).
fn read_log(log: &Path) -> Vec<u8> {
    if fs::metadata(log).is_ok_and(|m| m.len() > MAX_LOG_BYTES) {
        let _ = fs::remove_file(log);
        return Vec::new();
    }
    fs::read(log).unwrap_or_default()
}

/// The metadata and encoded names of a log line that checks out and names the directory whose
/// path's hex is `path_hex` (compared as hex: no copy of the path is decoded).
fn parse_line(line: &[u8], path_hex: &str) -> Option<(EntryMeta, Vec<u8>)> {
    let line = std::str::from_utf8(line).ok()?;
    let (check, rest) = line.split_once(' ')?;
    if check != hex(&Sha256::digest(rest.as_bytes())[..8]) {
        return None;
    }
    let mut fields = rest.split(' ');
    if fields.next()? != path_hex {
        return None;
    }
    let mut words = [0u64; 8];
    for w in &mut words {
        *w = fields.next()?.parse().ok()?;
    }
    let names = unhex(fields.next()?)?;
    fields
        .next()
        .is_none()
        .then_some((EntryMeta::from_words(words), names))
}

/// Each name followed by `/`, which no name holds.
fn encode_names(names: &Names) -> Vec<u8> {
    let mut out = Vec::new();
    for name in names {
        out.extend_from_slice(name);
        out.push(b'/');
    }
    out
}

fn decode_names(encoded: &[u8]) -> Option<Names> {
    let mut names = Vec::new();
    let Some(body) = encoded.strip_suffix(b"/") else {
        return encoded.is_empty().then_some(names);
    };
    for name in body.split(|b| *b == b'/') {
        if name.is_empty() {
            return None;
        }
        names.push(name.to_vec());
    }
    Some(names)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(ctime: i64) -> EntryMeta {
        EntryMeta::from_words([0o040_755, 4096, 7, 8, 100, 5, ctime as u64, 6])
    }

    #[test]
    fn line_ranges_are_those_of_a_byte_split() {
        for text in [
            &b""[..],
            b"\n",
            b"a",
            b"a\nbc\n",
            b"a\n\nb",
            b"\xffx\ny\n\xfe",
            b"\xc3\xa9\n",
        ] {
            let mut start = 0;
            let by_bytes: Vec<_> = text
                .split(|b| *b == b'\n')
                .map(|line| {
                    let range = start..start + line.len();
                    start = range.end + 1;
                    range
                })
                .collect();
            assert_eq!(line_ranges(text), by_bytes, "{text:?}");
        }
    }

    #[test]
    fn listings_round_trip_through_the_log_and_need_the_same_metadata() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("cache/dirs.log");
        let names: Names = vec![b"a b\n".to_vec(), b"bin".to_vec()];
        let listings = DirListings::default();
        let d = Path::new("/some/dir");
        listings.remember(&log, d, &meta(100), &names, 1000);
        assert_eq!(listings.names(&log, d, &meta(100)), Some(names.clone()));
        listings.flush(&log);
        // Another process reads it; a torn line and a line with a wrong check are skipped.
        let mut text = fs::read(&log).expect("read");
        let good = text.clone();
        text.extend_from_slice(&good[..good.len() / 2]);
        text.push(b'\n');
        let mut forged = good.clone();
        forged[0] = if forged[0] == b'0' { b'1' } else { b'0' };
        text.extend_from_slice(&forged);
        fs::write(&log, text).expect("write");
        let again = DirListings::default();
        assert_eq!(again.names(&log, d, &meta(100)), Some(names));
        assert_eq!(again.names(&log, d, &meta(101)), None, "other metadata");
        assert_eq!(again.names(&log, Path::new("/other"), &meta(100)), None);
        // The empty directory has a listing too.
        again.remember(&log, Path::new("/empty"), &meta(1), &Vec::new(), 1000);
        assert_eq!(
            again.names(&log, Path::new("/empty"), &meta(1)),
            Some(Vec::new())
        );
        // A later listing of the same directory wins, in this process and the next.
        let later: Names = vec![b"c".to_vec()];
        again.remember(&log, d, &meta(102), &later, 1000);
        assert_eq!(again.names(&log, d, &meta(102)), Some(later.clone()));
        again.flush(&log);
        let third = DirListings::default();
        assert_eq!(third.names(&log, d, &meta(102)), Some(later));
        assert_eq!(third.names(&log, d, &meta(100)), None);
        assert_eq!(
            third.names(&log, Path::new("/empty"), &meta(1)),
            Some(Vec::new())
        );
    }

    #[test]
    fn each_of_many_directories_is_found_with_its_last_listing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("cache/dirs.log");
        let listings = DirListings::default();
        let path = |n: usize| PathBuf::from(format!("/tree/p{n:04}"));
        let names = |n: usize, round: usize| -> Names { vec![format!("{n}-{round}").into_bytes()] };
        // Two listings of every directory, the others' lines between them in the log.
        for round in 0..2usize {
            for n in 0..300 {
                listings.remember(
                    &log,
                    &path(n),
                    &meta((n + round) as i64),
                    &names(n, round),
                    1000,
                );
            }
            listings.flush(&log);
        }
        let again = DirListings::default();
        for n in 0..300 {
            let last = Some(names(n, 1));
            assert_eq!(
                again.names(&log, &path(n), &meta(n as i64 + 1)),
                last,
                "{n}"
            );
            // The first listing is not taken for the metadata it was read with.
            assert_eq!(again.names(&log, &path(n), &meta(n as i64)), None, "{n}");
        }
        assert_eq!(again.names(&log, &path(300), &meta(300)), None);
    }

    #[test]
    fn a_released_state_writes_what_it_remembered_and_reads_the_log_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("cache/dirs.log");
        let names: Names = vec![b"x".to_vec()];
        let listings = DirListings::default();
        let d = Path::new("/some/dir");
        listings.remember(&log, d, &meta(100), &names, 1000);
        listings.release(&log);
        assert!(listings.0.lock().expect("lock").is_none(), "nothing kept");
        assert!(log.exists(), "the remembered listing was written");
        assert_eq!(listings.names(&log, d, &meta(100)), Some(names));
    }

    #[test]
    fn a_directory_changed_within_the_last_second_is_not_remembered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("dirs.log");
        let listings = DirListings::default();
        let d = Path::new("/young");
        listings.remember(&log, d, &meta(999), &vec![b"x".to_vec()], 1000);
        assert_eq!(listings.names(&log, d, &meta(999)), None);
        listings.flush(&log);
        assert!(!log.exists(), "nothing to write");
    }
}
