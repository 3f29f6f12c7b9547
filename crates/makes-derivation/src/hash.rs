//! Nix's hashes as derivations name them (`outputHash`, `outputHashAlgo`): md5, sha1, sha256
//! and sha512, parsed from base16, nix-base32, base64 or SRI exactly as Nix 2.8's
//! `Hash::parseAny` and `newHashAllowEmpty` (`src/libutil/hash.cc`) parse them.

use crate::error::DerivationError;
use base64::Engine as _;
use makes_store::nixbase32;
use sha2::Digest as _;

/// A hash algorithm Nix knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgo {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl HashAlgo {
    /// `parseHashTypeOpt`: the algorithm of that name, if any.
    pub fn parse(name: &str) -> Option<HashAlgo> {
        match name {
            "md5" => Some(HashAlgo::Md5),
            "sha1" => Some(HashAlgo::Sha1),
            "sha256" => Some(HashAlgo::Sha256),
            "sha512" => Some(HashAlgo::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "md5",
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha512 => "sha512",
        }
    }

    /// The digest size in bytes.
    pub fn size(self) -> usize {
        match self {
            HashAlgo::Md5 => 16,
            HashAlgo::Sha1 => 20,
            HashAlgo::Sha256 => 32,
            HashAlgo::Sha512 => 64,
        }
    }

    /// A streaming hasher of this algorithm.
    pub fn hasher(self) -> Box<dyn sha2::digest::DynDigest> {
        match self {
            HashAlgo::Md5 => Box::new(md5::Md5::default()),
            HashAlgo::Sha1 => Box::new(sha1::Sha1::default()),
            HashAlgo::Sha256 => Box::new(sha2::Sha256::default()),
            HashAlgo::Sha512 => Box::new(sha2::Sha512::default()),
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> NixHash {
        let bytes = match self {
            HashAlgo::Md5 => md5::Md5::digest(data).to_vec(),
            HashAlgo::Sha1 => sha1::Sha1::digest(data).to_vec(),
            HashAlgo::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlgo::Sha512 => sha2::Sha512::digest(data).to_vec(),
        };
        NixHash { algo: self, bytes }
    }
}

/// A digest with its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NixHash {
    pub algo: HashAlgo,
    pub bytes: Vec<u8>,
}

impl NixHash {
    /// Lower-case hexadecimal, without the algorithm.
    pub fn to_base16(&self) -> String {
        hex(&self.bytes)
    }

    pub fn to_nix_base32(&self) -> String {
        nixbase32::encode(&self.bytes)
    }

    /// `algo-base64`, as Nix's SRI form.
    pub fn to_sri(&self) -> String {
        format!(
            "{}-{}",
            self.algo.name(),
            base64::engine::general_purpose::STANDARD.encode(&self.bytes)
        )
    }

    /// Nix's `newHashAllowEmpty(text, algo)`: an empty text is the all-zero hash of `algo`
    /// (Nix warns, then goes on), anything else [`NixHash::parse_any`].
    pub fn parse_allow_empty(
        text: &str,
        algo: Option<HashAlgo>,
    ) -> Result<NixHash, DerivationError> {
        if text.is_empty() {
            let algo = algo.ok_or_else(|| DerivationError::BadHash {
                message: "empty hash requires explicit hash type".into(),
            })?;
            return Ok(NixHash {
                algo,
                bytes: vec![0; algo.size()],
            });
        }
        NixHash::parse_any(text, algo)
    }

    /// Nix's `Hash::parseAny`: `algo:rest`, `algo-base64` (SRI) or a bare hash of the known
    /// algorithm, in base16, nix-base32 or base64 told apart by length.
    pub fn parse_any(original: &str, algo: Option<HashAlgo>) -> Result<NixHash, DerivationError> {
        let bad = |message: String| DerivationError::BadHash { message };
        let (prefix, rest, is_sri) = match original.split_once(':') {
            Some((prefix, rest)) => (Some(prefix), rest, false),
            None => match original.split_once('-') {
                Some((prefix, rest)) => (Some(prefix), rest, true),
                None => (None, original, false),
            },
        };
        let parsed = match prefix {
            Some(name) => Some(
                HashAlgo::parse(name)
                    .ok_or_else(|| bad(format!("unknown hash algorithm '{name}'")))?,
            ),
            None => None,
        };
        let algo = match (parsed, algo) {
            (None, None) => {
                return Err(bad(format!(
                    "hash '{rest}' does not include a type, nor is the type otherwise known from context"
                )))
            }
            (Some(p), Some(a)) if p != a => {
                return Err(bad(format!(
                    "hash '{original}' should have type '{}'",
                    a.name()
                )))
            }
            (Some(a), _) | (None, Some(a)) => a,
        };
        let size = algo.size();
        let bytes = if !is_sri && rest.len() == 2 * size {
            decode_hex(rest).ok_or_else(|| bad(format!("invalid base-16 hash '{rest}'")))?
        } else if !is_sri && rest.len() == nixbase32::encoded_len(size) {
            decode_nix_base32(rest, size)
                .ok_or_else(|| bad(format!("invalid base-32 hash '{rest}'")))?
        } else if is_sri || rest.len() == size.div_ceil(3) * 4 {
            let kind = if is_sri { "SRI" } else { "base-64" };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .map_err(|_| bad(format!("invalid {kind} hash '{rest}'")))?;
            if decoded.len() != size {
                return Err(bad(format!("invalid {kind} hash '{rest}'")));
            }
            decoded
        } else {
            return Err(bad(format!(
                "hash '{rest}' has wrong length for hash type '{}'",
                algo.name()
            )));
        };
        Ok(NixHash { algo, bytes })
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16);
    s.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

/// Nix-base32 of exactly `size` bytes (bits beyond the last byte must be zero, as Nix checks).
fn decode_nix_base32(s: &str, size: usize) -> Option<Vec<u8>> {
    let decoded = nixbase32::decode(s).ok()?;
    (decoded.len() == size).then_some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256_HEX: &str =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn every_encoding_of_one_hash_parses_to_it() {
        let h = HashAlgo::Sha256.digest(b"");
        assert_eq!(h.to_base16(), EMPTY_SHA256_HEX);
        for text in [
            h.to_base16(),
            format!("sha256:{}", h.to_base16()),
            h.to_nix_base32(),
            format!("sha256:{}", h.to_nix_base32()),
            h.to_sri(),
        ] {
            let parsed = NixHash::parse_any(&text, Some(HashAlgo::Sha256)).expect(&text);
            assert_eq!(parsed, h, "{text}");
        }
        assert_eq!(
            NixHash::parse_any(&h.to_sri(), None).expect("SRI carries its type"),
            h
        );
    }

    #[test]
    fn mistakes_are_named() {
        let err = NixHash::parse_any("abc", Some(HashAlgo::Sha256)).expect_err("short");
        assert!(err.to_string().contains("wrong length"), "{err}");
        let err = NixHash::parse_any(EMPTY_SHA256_HEX, None).expect_err("no type");
        assert!(err.to_string().contains("does not include a type"), "{err}");
        let err = NixHash::parse_any(&format!("sha1:{EMPTY_SHA256_HEX}"), Some(HashAlgo::Sha256))
            .expect_err("type mismatch");
        assert!(
            err.to_string().contains("should have type 'sha256'"),
            "{err}"
        );
        let zero = NixHash::parse_allow_empty("", Some(HashAlgo::Sha1)).expect("empty");
        assert_eq!(zero.bytes, vec![0; 20]);
    }
}
