//! Parsing the SHA-256 hashes users write for fixed-output derivations, in every form Nix
//! accepts: 64 hex digits, 52 nix-base32 characters, 44 base64 characters, each optionally
//! prefixed by `sha256:`, or SRI `sha256-<base64>`.

use crate::nixbase32;

/// The digest `s` denotes, or `None` if it is not a SHA-256 in a known form.
pub fn parse_sha256(s: &str) -> Option<[u8; 32]> {
    let body = s
        .strip_prefix("sha256:")
        .or_else(|| s.strip_prefix("sha256-"))
        .unwrap_or(s);
    let bytes = match body.len() {
        64 => decode_hex(body)?,
        52 => nixbase32::decode(body).ok()?,
        44 => decode_base64(body)?,
        _ => return None,
    };
    bytes.try_into().ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Option<Vec<u8>> = s.chars().map(|c| c.to_digit(16).map(|d| d as u8)).collect();
    Some(digits?.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn all_forms_of_the_empty_string_hash() {
        let expected: [u8; 32] = Sha256::digest(b"").into();
        for s in [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
            "sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        ] {
            assert_eq!(parse_sha256(s), Some(expected), "{s}");
        }
        assert_eq!(parse_sha256("sha256-nope"), None);
        assert_eq!(parse_sha256(&"g".repeat(64)), None);
    }
}
