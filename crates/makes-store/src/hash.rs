//! Parsing the SHA-256 hashes users write for fixed-output derivations, in every form Nix
//! accepts: 64 hex digits, 52 nix-base32 characters, 44 base64 characters, each optionally
//! prefixed by `sha256:`, or SRI `sha256-<base64>`; and the SRI `sha512-`/`sha1-` hashes of
//! npm's `integrity` fields, which pin flat fixed-output fetches too.

use crate::nixbase32;
use sha2::Digest;

/// A hash algorithm a flat fixed-output fetch may be pinned with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlatHashAlgo {
    Sha1,
    Sha256,
    Sha512,
}

/// The hash a flat fixed-output fetch is pinned with: its algorithm and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatHash {
    pub algo: FlatHashAlgo,
    pub digest: Vec<u8>,
}

impl FlatHash {
    /// The hash `s` denotes: a SHA-256 in any form [`parse_sha256`] reads, or an SRI
    /// `sha512-<base64>` or `sha1-<base64>`.
    pub fn parse(s: &str) -> Option<FlatHash> {
        if let Some(digest) = parse_sha256(s) {
            return Some(FlatHash {
                algo: FlatHashAlgo::Sha256,
                digest: digest.to_vec(),
            });
        }
        let (algo, len, body) = if let Some(body) = s.strip_prefix("sha512-") {
            (FlatHashAlgo::Sha512, 64, body)
        } else if let Some(body) = s.strip_prefix("sha1-") {
            (FlatHashAlgo::Sha1, 20, body)
        } else {
            return None;
        };
        let digest = decode_base64(body)?;
        (digest.len() == len).then_some(FlatHash { algo, digest })
    }

    /// The same algorithm's digest of `bytes`.
    pub fn of(algo: FlatHashAlgo, bytes: &[u8]) -> FlatHash {
        let digest = match algo {
            FlatHashAlgo::Sha1 => sha1::Sha1::digest(bytes).to_vec(),
            FlatHashAlgo::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
            FlatHashAlgo::Sha512 => sha2::Sha512::digest(bytes).to_vec(),
        };
        FlatHash { algo, digest }
    }

    /// The algorithm's name in Nix's store path computation (`fixed:out:<name>:<hex>:`).
    pub fn algo_name(&self) -> &'static str {
        match self.algo {
            FlatHashAlgo::Sha1 => "sha1",
            FlatHashAlgo::Sha256 => "sha256",
            FlatHashAlgo::Sha512 => "sha512",
        }
    }

    /// As users write it in errors: `sha256:<nix-base32>` (as Nix prints it) for SHA-256,
    /// SRI for the others (as npm's lock files hold them).
    pub fn display(&self) -> String {
        match self.algo {
            FlatHashAlgo::Sha256 => format!("sha256:{}", nixbase32::encode(&self.digest)),
            _ => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(&self.digest);
                format!("{}-{b64}", self.algo_name())
            }
        }
    }
}

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

    #[test]
    fn flat_hashes_of_npm_integrity_fields() {
        // `printf '' | openssl dgst -sha512 -binary | base64`, and the same for sha1.
        let sha512 = "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==";
        let parsed = FlatHash::parse(sha512).expect("sha512");
        assert_eq!(parsed, FlatHash::of(FlatHashAlgo::Sha512, b""));
        assert_eq!(parsed.display(), sha512);
        let sha1 = "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=";
        assert_eq!(
            FlatHash::parse(sha1),
            Some(FlatHash::of(FlatHashAlgo::Sha1, b""))
        );
        let sha256 = FlatHash::parse("sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(sha256, Some(FlatHash::of(FlatHashAlgo::Sha256, b"")));
        assert_eq!(FlatHash::parse("sha512-AAAA"), None);
        assert_eq!(FlatHash::parse("md5-1B2M2Y8AsgTpgAmY7PhCfg=="), None);
    }
}
