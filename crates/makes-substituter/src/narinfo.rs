//! `.narinfo` files, as Nix writes and reads them (`src/libstore/nar-info.cc`), and the
//! fingerprint their signatures sign (`ValidPathInfo::fingerprint`, `path-info.cc`).
//!
//! A narinfo is `Key: value` lines. Nix requires `StorePath`, `URL`, `NarHash` and `NarSize`;
//! `Compression` defaults to `bzip2` when absent; `References` holds space-separated base
//! names; `Sig` may repeat. Unknown keys are ignored, as Nix ignores them.

use crate::error::NarInfoError;
use base64::Engine as _;
use makes_store::{nixbase32, StorePath};

/// What a narinfo says about one store path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarInfo {
    pub store_path: StorePath,
    /// Where the (compressed) NAR is, relative to the cache's base URL.
    pub url: String,
    /// `xz`, `zstd`, `bzip2`, `none`, ... (`bzip2` when the file does not say).
    pub compression: String,
    /// `FileHash` as written (`sha256:<nix-base32>`), when present.
    pub file_hash: Option<String>,
    pub file_size: Option<u64>,
    /// The SHA-256 of the NAR.
    pub nar_hash: [u8; 32],
    pub nar_size: u64,
    /// Sorted, without duplicates.
    pub references: Vec<StorePath>,
    pub deriver: Option<String>,
    /// `keyname:base64signature`, in file order.
    pub sigs: Vec<String>,
    pub ca: Option<String>,
}

impl NarInfo {
    /// Parses the text of a narinfo file; the error says which line or field is wrong.
    pub fn parse(text: &str) -> Result<NarInfo, NarInfoError> {
        let mut store_path = None;
        let mut url = None;
        let mut compression = None;
        let mut file_hash = None;
        let mut file_size = None;
        let mut nar_hash = None;
        let mut nar_size = None;
        let mut references = None;
        let mut deriver = None;
        let mut sigs = Vec::new();
        let mut ca = None;
        for line in text.lines() {
            if line.is_empty() {
                continue;
            }
            let (key, value) = line
                .split_once(": ")
                .or_else(|| line.strip_suffix(':').map(|key| (key, "")))
                .ok_or_else(|| NarInfoError::NotKeyValue {
                    line: line.to_owned(),
                })?;
            let size = |v: &str| {
                v.parse::<u64>().map_err(|_| NarInfoError::NotANumber {
                    key: key.to_owned(),
                    value: v.to_owned(),
                })
            };
            match key {
                "StorePath" => {
                    store_path = Some(StorePath::parse(value).map_err(|source| {
                        NarInfoError::InvalidStorePath {
                            value: value.to_owned(),
                            source,
                        }
                    })?)
                }
                "URL" => url = Some(value.to_owned()),
                "Compression" => compression = Some(value.to_owned()),
                "FileHash" => file_hash = Some(value.to_owned()),
                "FileSize" => file_size = Some(size(value)?),
                "NarHash" => {
                    nar_hash =
                        Some(
                            parse_nar_hash(value).ok_or_else(|| NarInfoError::NotSha256 {
                                value: value.to_owned(),
                            })?,
                        )
                }
                "NarSize" => nar_size = Some(size(value)?),
                "References" => {
                    let mut refs = value
                        .split_ascii_whitespace()
                        .map(|base| {
                            StorePath::from_base_name(base).map_err(|source| {
                                NarInfoError::InvalidReference {
                                    base: base.to_owned(),
                                    source,
                                }
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    refs.sort();
                    refs.dedup();
                    references = Some(refs);
                }
                "Deriver" if value != "unknown-deriver" => deriver = Some(value.to_owned()),
                "Sig" => sigs.push(value.to_owned()),
                "CA" => ca = Some(value.to_owned()),
                _ => {}
            }
        }
        let missing = |key| NarInfoError::Missing { key };
        let url: String = url.ok_or_else(|| missing("URL"))?;
        if url.is_empty() {
            return Err(NarInfoError::EmptyUrl);
        }
        Ok(NarInfo {
            store_path: store_path.ok_or_else(|| missing("StorePath"))?,
            url,
            compression: compression
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "bzip2".to_owned()),
            file_hash,
            file_size,
            nar_hash: nar_hash.ok_or_else(|| missing("NarHash"))?,
            nar_size: nar_size.ok_or_else(|| missing("NarSize"))?,
            references: references.unwrap_or_default(),
            deriver,
            sigs,
            ca,
        })
    }

    /// What the signatures sign: `1;<store path>;sha256:<nix-base32>;<NAR size>;<references>`,
    /// the references as full store paths, sorted, separated by commas.
    pub fn fingerprint(&self) -> String {
        fingerprint(
            &self.store_path,
            &self.nar_hash,
            self.nar_size,
            &self.references,
        )
    }
}

/// Nix's `ValidPathInfo::fingerprint` for the given metadata.
pub fn fingerprint(
    path: &StorePath,
    nar_hash: &[u8; 32],
    nar_size: u64,
    references: &[StorePath],
) -> String {
    let mut refs: Vec<String> = references.iter().map(StorePath::to_absolute).collect();
    refs.sort();
    refs.dedup();
    format!(
        "1;{};{};{};{}",
        path.to_absolute(),
        format_nar_hash(nar_hash),
        nar_size,
        refs.join(",")
    )
}

/// `sha256:<nix-base32>`, as Nix writes NAR hashes in narinfo files.
pub fn format_nar_hash(hash: &[u8; 32]) -> String {
    format!("sha256:{}", nixbase32::encode(hash))
}

/// Parses a SHA-256 in any form Nix prints: `sha256:<nix-base32>`, `sha256:<hex>`, or SRI
/// `sha256-<base64>` (what `nix path-info --json` prints).
pub fn parse_nar_hash(text: &str) -> Option<[u8; 32]> {
    let bytes = if let Some(rest) = text.strip_prefix("sha256:") {
        match rest.len() {
            52 => nixbase32::decode(rest).ok()?,
            64 => decode_hex(rest)?,
            _ => return None,
        }
    } else {
        let rest = text.strip_prefix("sha256-")?;
        base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?
    };
    bytes.try_into().ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some((digit(*hi)? * 16 + digit(*lo)?) as u8),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A narinfo as Nix 2.8 wrote it (tests/fixtures/cache-xz).
    const MID: &str = "StorePath: /nix/store/qf3g80z2c5i7ygxsz4k66z4m8jj2gls0-subst-mid
URL: nar/1gydq33xg9q0pl97rgmvd5yirqm0zjpfmi7gzwy73ldd6bs1lbnm.nar.xz
Compression: xz
FileHash: sha256:1gydq33xg9q0pl97rgmvd5yirqm0zjpfmi7gzwy73ldd6bs1lbnm
FileSize: 364
NarHash: sha256:0i6ch87r1v9c27xnfckhnsfsf9pbqi8gxrz373kvzqwmn7746bmz
NarSize: 1720
References: z1wk736hlwrjllyahhaxlqqmwrq06g93-subst-leaf
Deriver: z1pafx7wj50206c5ilqlgxbzfl6pi5c8-subst-mid.drv
Sig: test-cache-1:sBAx3sDuapFz7nG/B+IqzCDkJkXNGsm1vRDP+h0Avz9xubBN5pb+f+0us/OEN6RqqnN+eGnhNL1i5T+sljpzBQ==
";

    #[test]
    fn parses_what_nix_writes() {
        let info = NarInfo::parse(MID).expect("parse");
        assert_eq!(
            info.store_path.to_absolute(),
            "/nix/store/qf3g80z2c5i7ygxsz4k66z4m8jj2gls0-subst-mid"
        );
        assert_eq!(
            info.url,
            "nar/1gydq33xg9q0pl97rgmvd5yirqm0zjpfmi7gzwy73ldd6bs1lbnm.nar.xz"
        );
        assert_eq!(info.compression, "xz");
        assert_eq!(info.file_size, Some(364));
        assert_eq!(info.nar_size, 1720);
        assert_eq!(
            format_nar_hash(&info.nar_hash),
            "sha256:0i6ch87r1v9c27xnfckhnsfsf9pbqi8gxrz373kvzqwmn7746bmz"
        );
        assert_eq!(info.references.len(), 1);
        assert_eq!(info.references[0].name, "subst-leaf");
        assert_eq!(
            info.deriver.as_deref(),
            Some("z1pafx7wj50206c5ilqlgxbzfl6pi5c8-subst-mid.drv")
        );
        assert_eq!(info.sigs.len(), 1);
        assert!(info.ca.is_none());
    }

    #[test]
    fn defaults_repeats_and_empty_references() {
        let text = "StorePath: /nix/store/z1wk736hlwrjllyahhaxlqqmwrq06g93-subst-leaf
URL: nar/x.nar.bz2
NarHash: sha256:17sqclxg0b4jdbmjwv3ysivay6izk0d1a6mcck4bjrr8vd4qd6bh
NarSize: 136
References: 
Sig: a:AAAA
Sig: b:BBBB
CA: fixed:r:sha256:17sqclxg0b4jdbmjwv3ysivay6izk0d1a6mcck4bjrr8vd4qd6bh
SomethingNew: ignored
";
        let info = NarInfo::parse(text).expect("parse");
        assert_eq!(info.compression, "bzip2", "Nix's default");
        assert!(info.references.is_empty());
        assert_eq!(info.sigs, vec!["a:AAAA", "b:BBBB"]);
        assert!(info.ca.is_some());
        assert!(info.file_hash.is_none());
    }

    #[test]
    fn malformed_narinfos_are_errors() {
        let without = |key: &str| {
            MID.lines()
                .filter(|l| !l.starts_with(key))
                .collect::<Vec<_>>()
                .join("\n")
        };
        for key in ["StorePath", "URL", "NarHash", "NarSize"] {
            let err = NarInfo::parse(&without(key)).expect_err(key);
            assert_eq!(err, NarInfoError::Missing { key }, "{key}");
        }
        for bad in [
            MID.replace("NarSize: 1720", "NarSize: many"),
            MID.replace("NarHash: sha256:0i6", "NarHash: md5:0i6"),
            MID.replace("References: z1wk", "References: ../z1wk"),
            MID.replace("StorePath: /nix/store/", "StorePath: /usr/"),
            format!("{MID}no colon here\n"),
        ] {
            assert!(NarInfo::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fingerprint_as_nix_computes_it() {
        let info = NarInfo::parse(MID).expect("parse");
        assert_eq!(
            info.fingerprint(),
            "1;/nix/store/qf3g80z2c5i7ygxsz4k66z4m8jj2gls0-subst-mid;\
             sha256:0i6ch87r1v9c27xnfckhnsfsf9pbqi8gxrz373kvzqwmn7746bmz;1720;\
             /nix/store/z1wk736hlwrjllyahhaxlqqmwrq06g93-subst-leaf"
        );
        // References sorted whatever their order, and none at all gives a trailing `;`.
        let a = StorePath::parse("/nix/store/00000000000000000000000000000000-b").expect("a");
        let b = StorePath::parse("/nix/store/11111111111111111111111111111111-a").expect("b");
        let fp = fingerprint(&b, &[0u8; 32], 8, &[b.clone(), a.clone()]);
        assert!(fp.ends_with(";8;/nix/store/00000000000000000000000000000000-b,/nix/store/11111111111111111111111111111111-a"), "{fp}");
        assert!(fingerprint(&a, &[0u8; 32], 8, &[]).ends_with(";8;"));
    }

    #[test]
    fn nar_hash_forms() {
        let nix32 = "sha256:0i6ch87r1v9c27xnfckhnsfsf9pbqi8gxrz373kvzqwmn7746bmz";
        let hash = parse_nar_hash(nix32).expect("nix32");
        assert_eq!(format_nar_hash(&hash), nix32);
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_nar_hash(&format!("sha256:{hex}")), Some(hash));
        let sri = format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(hash)
        );
        assert_eq!(parse_nar_hash(&sri), Some(hash));
        for bad in ["", "sha256:", "sha512:abc", "sha256-!!", "sha256:zz"] {
            assert_eq!(parse_nar_hash(bad), None, "{bad}");
        }
    }
}
