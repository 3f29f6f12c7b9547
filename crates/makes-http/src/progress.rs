//! Progress hooks: a reader that tells a callback how many bytes have passed so far, for the
//! progress bars of downloads (binary caches) without the HTTP code knowing how they are shown.

use std::io::{self, Read};

/// Passes reads through, calling `on_bytes` with the running total after each one that
/// brought bytes.
pub struct ProgressRead<R, F> {
    inner: R,
    total: u64,
    on_bytes: F,
}

impl<R: Read, F: FnMut(u64)> ProgressRead<R, F> {
    pub fn new(inner: R, on_bytes: F) -> ProgressRead<R, F> {
        ProgressRead {
            inner,
            total: 0,
            on_bytes,
        }
    }

    /// Bytes read so far.
    pub fn total(&self) -> u64 {
        self.total
    }
}

impl<R: Read, F: FnMut(u64)> Read for ProgressRead<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.total += n as u64;
            (self.on_bytes)(self.total);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_running_totals() {
        let mut seen = Vec::new();
        {
            let mut reader = ProgressRead::new(&b"hello world"[..], |n| seen.push(n));
            let mut buf = [0u8; 4];
            while reader.read(&mut buf).expect("in memory") > 0 {}
            assert_eq!(reader.total(), 11);
        }
        assert_eq!(seen, vec![4, 8, 11]);
    }
}
