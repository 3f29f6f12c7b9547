//! The buffers a layer passes through: uncompressed chunks ([`Chunk`]), which files are read
//! into directly, and the compressed output of each chunk. Both are reused from one build's
//! layer to the next, so that each chunk does not fault in fresh pages.

use std::sync::Mutex;

/// Bytes of uncompressed input per independently compressed chunk. Fixed: it is part of the
/// output format (changing it changes every digest).
pub const CHUNK_SIZE: usize = 4 << 20;

/// Spare buffers of each kind kept for the next chunks: about the chunks in flight.
const MAX_SPARE: usize = 6;

/// Buffers of `CHUNK_SIZE` bytes' capacity, for [`Chunk`]s.
static RAW_SPARE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
/// Emptied buffers of compressed output.
static OUT_SPARE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// One chunk of a layer's uncompressed tar: the first `filled` bytes of a buffer of
/// [`CHUNK_SIZE`] bytes' capacity, so that a file is read straight into it (no copy through
/// another buffer, and no unsafe code for uninitialised memory). The buffer's initialised
/// length grows (zero-filled) only as far as the chunk is filled: a small layer's chunk
/// then touches only the pages it uses, where zeroing the whole 4 MiB faulted in every page
/// (the allocator clears reused memory). Shared (in an `Arc`) by the worker that compresses
/// it and the sink that hashes it; the buffer goes back to the spare ones when the last of
/// them drops it.
pub(crate) struct Chunk {
    /// Never longer than `CHUNK_SIZE`; its capacity is at least that.
    buf: Vec<u8>,
    filled: usize,
}

impl Chunk {
    /// An empty chunk, in a spare buffer if there is one.
    pub(crate) fn new() -> Chunk {
        let spare = RAW_SPARE.lock().ok().and_then(|mut s| s.pop());
        Chunk {
            buf: spare.unwrap_or_else(|| Vec::with_capacity(CHUNK_SIZE)),
            filled: 0,
        }
    }

    /// The chunk's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.filled == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.filled == CHUNK_SIZE
    }

    /// At most `want` bytes of the free space after the bytes (fewer only when the chunk has
    /// less room), to be filled and then [`Chunk::advance`]d over.
    pub(crate) fn room(&mut self, want: usize) -> &mut [u8] {
        let end = self.filled + want.min(CHUNK_SIZE - self.filled);
        if self.buf.len() < end {
            // Within the capacity: no reallocation, and zeroes only where bytes will go.
            self.buf.resize(end, 0);
        }
        &mut self.buf[self.filled..end]
    }

    /// Counts `n` more bytes of [`Chunk::room`] as the chunk's.
    pub(crate) fn advance(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.buf.len());
    }

    /// Appends as much of `data` as fits; returns how much.
    pub(crate) fn push(&mut self, data: &[u8]) -> usize {
        let room = self.room(data.len());
        let n = room.len();
        room.copy_from_slice(&data[..n]);
        self.filled += n;
        n
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        // Only whole buffers are reused (one taken from the spare ones keeps its initialised
        // length, so it is not zeroed again).
        if buf.capacity() < CHUNK_SIZE {
            return;
        }
        if let Ok(mut spare) = RAW_SPARE.lock() {
            if spare.len() < MAX_SPARE {
                spare.push(buf);
            }
        }
    }
}

/// A buffer for compressed output from the spare ones, or a new empty one.
pub(crate) fn out_buffer() -> Vec<u8> {
    OUT_SPARE
        .lock()
        .ok()
        .and_then(|mut s| s.pop())
        .unwrap_or_default()
}

/// Gives a compressed output buffer back for reuse (dropped when the spare ones are enough or
/// it is too large).
pub(crate) fn return_out_buffer(mut b: Vec<u8>) {
    b.clear();
    if b.capacity() == 0 || b.capacity() > 2 * CHUNK_SIZE {
        return;
    }
    if let Ok(mut spare) = OUT_SPARE.lock() {
        if spare.len() < MAX_SPARE {
            spare.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_fills_to_its_size_and_its_reused_buffer_starts_empty() {
        let mut c = Chunk::new();
        assert!(c.is_empty());
        assert_eq!(c.push(b"abc"), 3);
        c.room(2).copy_from_slice(b"de");
        c.advance(2);
        assert_eq!(c.bytes(), b"abcde");
        let big = vec![7u8; CHUNK_SIZE];
        assert_eq!(c.push(&big), CHUNK_SIZE - 5);
        assert!(c.is_full());
        assert!(c.room(1).is_empty());
        assert_eq!(c.push(b"x"), 0);
        drop(c);
        // Whatever buffer the next chunk gets, it holds none of the last one's bytes.
        let c = Chunk::new();
        assert!(c.is_empty() && c.bytes().is_empty());
        assert!(c.buf.capacity() >= CHUNK_SIZE);
    }

    #[test]
    fn room_is_initialised_only_as_far_as_it_is_asked_for() {
        let mut c = Chunk {
            buf: Vec::with_capacity(CHUNK_SIZE),
            filled: 0,
        };
        assert_eq!(c.room(10).len(), 10);
        assert_eq!(c.buf.len(), 10);
        // Not advanced over: the same room again, and nothing counted as the chunk's.
        c.room(4).copy_from_slice(b"abcd");
        c.advance(4);
        assert_eq!(c.bytes(), b"abcd");
        assert_eq!(c.buf.len(), 10);
        // More than fits gives the rest of the chunk, never more.
        assert_eq!(c.room(2 * CHUNK_SIZE).len(), CHUNK_SIZE - 4);
        assert_eq!(c.buf.len(), CHUNK_SIZE);
        assert_eq!(c.buf.capacity(), CHUNK_SIZE);
        // Advancing over more than the room given stops at what was given.
        c.advance(2 * CHUNK_SIZE);
        assert!(c.is_full());
        assert_eq!(c.bytes().len(), CHUNK_SIZE);
    }

    #[test]
    fn a_reused_buffer_with_stale_bytes_gives_only_what_was_pushed() {
        let mut c = Chunk {
            buf: Vec::with_capacity(CHUNK_SIZE),
            filled: 0,
        };
        c.push(&[9u8; 100]);
        drop(c);
        let mut c = Chunk {
            buf: RAW_SPARE
                .lock()
                .expect("lock")
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(CHUNK_SIZE)),
            filled: 0,
        };
        assert_eq!(c.push(b"xy"), 2);
        assert_eq!(c.bytes(), b"xy");
    }
}
