//! Reference scanning, as Nix does it (`src/libstore/references.cc`): a store path is a
//! reference of an output when its 32-character hash part occurs anywhere in the output's NAR
//! serialisation (file contents, names, symlink targets).

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};

use crate::nixbase32;
use crate::path::{StorePath, HASH_LEN};

/// A `Write` sink that looks for the hash parts of candidate store paths in the bytes written
/// to it, across write boundaries.
pub(crate) struct RefScanner {
    candidates: HashMap<[u8; HASH_LEN], usize>,
    paths: Vec<StorePath>,
    found: BTreeSet<usize>,
    /// The last `HASH_LEN - 1` bytes seen, followed by the current chunk.
    window: Vec<u8>,
}

impl RefScanner {
    pub(crate) fn new(paths: impl IntoIterator<Item = StorePath>) -> Self {
        let mut candidates = HashMap::new();
        let mut unique = Vec::new();
        for p in paths {
            let Ok(hash) = <[u8; HASH_LEN]>::try_from(p.hash.as_bytes()) else {
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(e) = candidates.entry(hash) {
                e.insert(unique.len());
                unique.push(p);
            }
        }
        RefScanner {
            candidates,
            paths: unique,
            found: BTreeSet::new(),
            window: Vec::new(),
        }
    }

    /// The candidates whose hash part was seen, sorted.
    pub(crate) fn into_found(self) -> Vec<StorePath> {
        let mut out: Vec<StorePath> = self
            .found
            .into_iter()
            .map(|i| self.paths[i].clone())
            .collect();
        out.sort();
        out
    }

    fn scan(&mut self) {
        let data = &self.window;
        let mut i = 0;
        'outer: while i + HASH_LEN <= data.len() {
            // Check from the end so that a non-base32 byte skips the whole window past it.
            for j in (0..HASH_LEN).rev() {
                if !nixbase32::is_digit(data[i + j]) {
                    i += j + 1;
                    continue 'outer;
                }
            }
            if let Some(&idx) = data[i..i + HASH_LEN]
                .try_into()
                .ok()
                .and_then(|h: [u8; HASH_LEN]| self.candidates.get(&h))
            {
                self.found.insert(idx);
            }
            i += 1;
        }
    }
}

impl Write for RefScanner {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.candidates.is_empty() {
            return Ok(buf.len());
        }
        self.window.extend_from_slice(buf);
        self.scan();
        let keep = self.window.len().min(HASH_LEN - 1);
        let start = self.window.len() - keep;
        self.window.drain(..start);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(hash_char: char, name: &str) -> StorePath {
        StorePath {
            hash: hash_char.to_string().repeat(HASH_LEN),
            name: name.into(),
        }
    }

    #[test]
    fn finds_hashes_across_writes() {
        let a = sp('a', "a");
        let b = sp('b', "b");
        let c = sp('c', "c");
        let mut s = RefScanner::new([a.clone(), b.clone(), c.clone()]);
        let text = format!(
            "xx {} yy /nix/store/{}-b/bin",
            "a".repeat(32),
            "b".repeat(32)
        );
        for chunk in text.as_bytes().chunks(5) {
            s.write_all(chunk).expect("write");
        }
        assert_eq!(s.into_found(), vec![a, b]);
    }

    #[test]
    fn a_longer_base32_run_still_matches_inside() {
        let a = sp('a', "a");
        let mut s = RefScanner::new([a.clone()]);
        s.write_all(format!("0{}1", "a".repeat(32)).as_bytes())
            .expect("write");
        assert_eq!(s.into_found(), vec![a]);
    }

    #[test]
    fn partial_hash_is_not_a_reference() {
        let mut s = RefScanner::new([sp('a', "a")]);
        s.write_all("a".repeat(31).as_bytes()).expect("write");
        s.write_all(b"-").expect("write");
        assert!(s.into_found().is_empty());
    }
}
