//! SHA-256 whose running state can be saved and resumed: the NAR hash of a source tree is one
//! SHA-256 over the whole archive, so re-importing a tree whose first entries did not change
//! starts from the state saved after them instead of reading them again.
//!
//! The state is the eight chaining words, the bytes of the unfinished 64-byte block and the
//! count of bytes hashed; blocks go through `sha2`'s own compression function (with the CPU's
//! SHA instructions when it has them), so digests are the same as `sha2::Sha256`'s.

use sha2::digest::consts::U64;
use sha2::digest::generic_array::GenericArray;
use std::io::{self, Write};

/// The initial chaining words of SHA-256 (FIPS 180-4, 5.3.3).
const INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// A SHA-256 computation in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResumableSha256 {
    state: [u32; 8],
    block: [u8; 64],
    block_len: usize,
    total: u64,
}

/// The length of [`ResumableSha256::to_bytes`]'s output.
pub(crate) const SAVED_LEN: usize = 32 + 64 + 8 + 1;

impl Default for ResumableSha256 {
    fn default() -> Self {
        ResumableSha256 {
            state: INITIAL,
            block: [0; 64],
            block_len: 0,
            total: 0,
        }
    }
}

impl ResumableSha256 {
    /// How many bytes have been hashed.
    pub(crate) fn len(&self) -> u64 {
        self.total
    }

    pub(crate) fn update(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if self.block_len > 0 {
            let take = (64 - self.block_len).min(bytes.len());
            self.block[self.block_len..self.block_len + take].copy_from_slice(&bytes[..take]);
            self.block_len += take;
            bytes = &bytes[take..];
            if self.block_len < 64 {
                return;
            }
            let block = self.block;
            compress(&mut self.state, &block);
            self.block_len = 0;
        }
        let whole = bytes.len() - bytes.len() % 64;
        let (blocks, rest) = bytes.split_at(whole);
        compress_blocks(&mut self.state, blocks);
        self.block[..rest.len()].copy_from_slice(rest);
        self.block_len = rest.len();
    }

    /// The digest of everything hashed (the state itself is left as it was).
    pub(crate) fn finish(&self) -> [u8; 32] {
        let mut last = self.clone();
        let bits = self.total.wrapping_mul(8);
        let pad_len = if self.block_len < 56 {
            56 - self.block_len
        } else {
            120 - self.block_len
        };
        let mut padding = [0u8; 72];
        padding[0] = 0x80;
        last.update(&padding[..pad_len]);
        last.update(&bits.to_be_bytes());
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(last.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// The state as bytes, for [`Self::from_bytes`].
    pub(crate) fn to_bytes(&self) -> [u8; SAVED_LEN] {
        let mut out = [0u8; SAVED_LEN];
        for (chunk, word) in out[..32].chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out[32..96].copy_from_slice(&self.block);
        out[96..104].copy_from_slice(&self.total.to_le_bytes());
        // Below 64: fits.
        out[104] = self.block_len as u8;
        out
    }

    /// A state saved by [`Self::to_bytes`], or `None` for bytes that are not one.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != SAVED_LEN {
            return None;
        }
        let mut state = [0u32; 8];
        for (word, chunk) in state.iter_mut().zip(bytes[..32].chunks_exact(4)) {
            *word = u32::from_le_bytes(chunk.try_into().ok()?);
        }
        let mut block = [0u8; 64];
        block.copy_from_slice(&bytes[32..96]);
        let total = u64::from_le_bytes(bytes[96..104].try_into().ok()?);
        let block_len = usize::from(bytes[104]);
        (block_len < 64 && total % 64 == block_len as u64).then_some(ResumableSha256 {
            state,
            block,
            block_len,
            total,
        })
    }
}

fn compress(state: &mut [u32; 8], block: &[u8]) {
    let block: &GenericArray<u8, U64> = GenericArray::from_slice(block);
    sha2::compress256(state, std::slice::from_ref(block));
}

/// Compresses whole 64-byte blocks, many per call: `sha2` then stays in its loop over the
/// CPU's SHA instructions instead of checking the CPU's features and loading the state once per
/// block. The blocks are copied into an array of blocks first (`sha2` takes a slice of them, and
/// reinterpreting `bytes` in place would take `unsafe`); copying costs far less than hashing.
fn compress_blocks(state: &mut [u32; 8], bytes: &[u8]) {
    const BATCH: usize = 64;
    let mut blocks = [GenericArray::<u8, U64>::default(); BATCH];
    for batch in bytes.chunks(64 * BATCH) {
        let n = batch.len() / 64;
        for (block, chunk) in blocks.iter_mut().zip(batch.chunks_exact(64)) {
            block.copy_from_slice(chunk);
        }
        sha2::compress256(state, &blocks[..n]);
    }
}

impl Write for ResumableSha256 {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn digests_equal_sha2s_for_every_length_and_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
        for len in 0..data.len() {
            let expected: [u8; 32] = Sha256::digest(&data[..len]).into();
            let mut whole = ResumableSha256::default();
            whole.update(&data[..len]);
            assert_eq!(whole.finish(), expected, "length {len}");
            let split = len / 3;
            let mut parts = ResumableSha256::default();
            parts.update(&data[..split]);
            parts.update(&data[split..len]);
            assert_eq!(parts.finish(), expected, "length {len} split at {split}");
        }
    }

    #[test]
    fn updates_spanning_many_batches_of_blocks_equal_sha2s() {
        // Over three batches of 64 blocks, split inside blocks and across batch boundaries.
        let data: Vec<u8> = (0..(3 * 64 * 64 + 1000) as u32)
            .map(|i| (i * 13 % 251) as u8)
            .collect();
        let expected: [u8; 32] = Sha256::digest(&data).into();
        for splits in [
            &[][..],
            &[1],
            &[63, 4096],
            &[64 * 64, 64 * 64 + 1],
            &[5000, 9000, 12001],
        ] {
            let mut h = ResumableSha256::default();
            let mut at = 0;
            for &cut in splits {
                h.update(&data[at..cut]);
                at = cut;
            }
            h.update(&data[at..]);
            assert_eq!(h.finish(), expected, "splits {splits:?}");
        }
    }

    #[test]
    fn a_saved_state_resumes_to_the_same_digest() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for cut in [0usize, 1, 63, 64, 65, 4097, 9_999] {
            let mut first = ResumableSha256::default();
            first.update(&data[..cut]);
            let saved = first.to_bytes();
            let mut resumed = ResumableSha256::from_bytes(&saved).expect("saved state");
            assert_eq!(resumed.len(), cut as u64);
            resumed.update(&data[cut..]);
            assert_eq!(resumed.finish(), <[u8; 32]>::from(Sha256::digest(&data)));
        }
        assert!(ResumableSha256::from_bytes(&[0u8; 3]).is_none());
        let mut bad = ResumableSha256::default().to_bytes();
        bad[104] = 70;
        assert!(ResumableSha256::from_bytes(&bad).is_none());
    }
}
