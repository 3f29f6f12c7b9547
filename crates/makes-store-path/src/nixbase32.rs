//! Nix's base-32: the alphabet `0123456789abcdfghijklmnpqrsvwxyz` (no `e o u t`) and Nix's
//! bit order, which reads the digest from its last byte (`src/libutil/hash.cc`,
//! `printHash32`). Store path hash parts and `sha256:` NAR hashes are written this way.

use crate::error::StorePathError;

/// The 32 characters, in digit order.
pub const ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

/// Length of the encoding of `len` bytes.
pub const fn encoded_len(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (len * 8 - 1) / 5 + 1
    }
}

/// Encodes bytes as Nix does.
pub fn encode(bytes: &[u8]) -> String {
    let len = encoded_len(bytes.len());
    let mut out = String::with_capacity(len);
    for n in (0..len).rev() {
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        let low = u16::from(bytes[i]) >> j;
        let high = match bytes.get(i + 1) {
            Some(&next) => u16::from(next) << (8 - j),
            None => 0,
        };
        out.push(char::from(ALPHABET[usize::from((low | high) & 0x1f)]));
    }
    out
}

/// Decodes a nix-base32 string into `s.len() * 5 / 8` bytes, rejecting characters outside the
/// alphabet and bits that do not fit.
pub fn decode(s: &str) -> Result<Vec<u8>, StorePathError> {
    let invalid = || StorePathError::InvalidNixBase32 {
        input: s.to_owned(),
    };
    let size = s.len() * 5 / 8;
    let mut out = vec![0u8; size];
    for (n, c) in s.bytes().rev().enumerate() {
        let digit = digit_of(c).ok_or_else(invalid)?;
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        // The low bits go into byte i; the high bits spill into byte i + 1.
        let low = (u16::from(digit) << j) as u8;
        let high = (u16::from(digit) >> (8 - j)) as u8;
        match out.get_mut(i) {
            Some(byte) => *byte |= low,
            None if low != 0 => return Err(invalid()),
            None => {}
        }
        match out.get_mut(i + 1) {
            Some(byte) => *byte |= high,
            None if high != 0 => return Err(invalid()),
            None => {}
        }
    }
    Ok(out)
}

/// Whether `c` is a nix-base32 character.
pub fn is_digit(c: u8) -> bool {
    digit_of(c).is_some()
}

fn digit_of(c: u8) -> Option<u8> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u8)
}

/// Folds a digest into `N` bytes by XOR, as Nix's `compressHash` does: byte `i` of the input
/// goes into byte `i % N` of the output.
pub fn compress_hash<const N: usize>(digest: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in digest.iter().enumerate() {
        out[i % N] ^= b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn sha256_of_empty_string_matches_nix() {
        // `nix-hash --type sha256 --to-base32 e3b0c442...` (Nix 2.8).
        let digest = Sha256::digest(b"");
        assert_eq!(
            encode(&digest),
            "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"
        );
    }

    #[test]
    fn round_trips() {
        for len in [0usize, 1, 2, 5, 8, 20, 32, 64] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let s = encode(&bytes);
            assert_eq!(s.len(), encoded_len(len));
            assert_eq!(decode(&s).expect("own encoding decodes"), bytes);
        }
    }

    #[test]
    fn rejects_bad_characters_and_overflow() {
        assert!(decode("e000").is_err());
        // 2 chars = 10 bits -> 1 byte; a high digit in front overflows it.
        assert!(decode("z0").is_err());
        assert!(decode("70").is_ok());
    }

    #[test]
    fn compress_folds_by_xor() {
        let digest: Vec<u8> = (0..32).collect();
        let c: [u8; 20] = compress_hash(&digest);
        assert_eq!(c[0], 20);
        assert_eq!(c[11], 11 ^ 31);
        assert_eq!(c[12], 12);
    }
}
