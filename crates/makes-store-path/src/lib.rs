//! Nix store paths as a type: `/nix/store/<32 nix-base32 chars>-<name>`.
//!
//! This crate sits low in the crate graph (it depends on no other makes crate) so that every
//! crate handing store paths to another (job specs, the store, the image builder, the CLI)
//! can name them with [`StorePath`] instead of a string parsed again on the other side. A
//! string becomes a `StorePath` once, where it enters (an evaluated value reduced to a spec, a
//! line read from a file or a server); from there on the type travels.
//!
//! In JSON (and any serde format) a store path is its absolute path string, as Nix writes
//! store paths in its own JSON (`nix path-info --json`).

mod error;
pub mod nixbase32;

pub use error::StorePathError;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The logical store directory every store path is named under, wherever the store lives on
/// disk (builders and images see paths under this name).
pub const STORE_DIR: &str = "/nix/store";

/// Length of the hash part of a store path.
pub const HASH_LEN: usize = 32;

/// Longest name Nix accepts (`src/libstore/path.cc`).
pub const MAX_NAME_LEN: usize = 211;

/// A store path: the 32-character hash part and the name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StorePath {
    /// The 32-character nix-base32 hash part.
    pub hash: String,
    /// The name after the dash.
    pub name: String,
}

impl StorePath {
    /// Parses an absolute `/nix/store/<hash>-<name>` path (nothing after the name).
    pub fn parse(path: &str) -> Result<Self, StorePathError> {
        let base = path
            .strip_prefix(STORE_DIR)
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(|| StorePathError::InvalidStorePath {
                path: path.to_owned(),
                reason: "not under /nix/store",
            })?;
        Self::from_base_name(base).map_err(|err| match err {
            StorePathError::InvalidStorePath { reason, .. }
            | StorePathError::InvalidName { reason, .. } => StorePathError::InvalidStorePath {
                path: path.to_owned(),
                reason,
            },
            other => other,
        })
    }

    /// Parses a base name `<hash>-<name>` as found in the store directory.
    pub fn from_base_name(base: &str) -> Result<Self, StorePathError> {
        let invalid = |reason| StorePathError::InvalidStorePath {
            path: base.to_owned(),
            reason,
        };
        if base.len() < HASH_LEN + 2 || !base.is_char_boundary(HASH_LEN) {
            return Err(invalid("too short"));
        }
        let (hash, rest) = base.split_at(HASH_LEN);
        if !hash.bytes().all(nixbase32::is_digit) {
            return Err(invalid("hash part is not nix-base32"));
        }
        let name = rest
            .strip_prefix('-')
            .ok_or_else(|| invalid("no dash after the hash part"))?;
        validate_name(name)?;
        Ok(StorePath {
            hash: hash.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The base name `<hash>-<name>`, as found in the store directory.
    pub fn base_name(&self) -> String {
        let mut out = String::with_capacity(self.hash.len() + 1 + self.name.len());
        self.push_base_name(&mut out);
        out
    }

    /// Appends `<hash>-<name>` to `out` (pushes, not `format!`: every path literal of an
    /// evaluation asks for its store path).
    fn push_base_name(&self, out: &mut String) {
        out.push_str(&self.hash);
        out.push('-');
        out.push_str(&self.name);
    }

    /// The absolute logical path `/nix/store/<hash>-<name>`.
    pub fn to_absolute(&self) -> String {
        let mut out =
            String::with_capacity(STORE_DIR.len() + 1 + self.hash.len() + 1 + self.name.len());
        out.push_str(STORE_DIR);
        out.push('/');
        self.push_base_name(&mut out);
        out
    }
}

impl std::fmt::Display for StorePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_absolute())
    }
}

impl std::str::FromStr for StorePath {
    type Err = StorePathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StorePath::parse(s)
    }
}

impl Serialize for StorePath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StorePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        StorePath::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Checks a store path name against Nix's rules: 1 to 211 characters from
/// `[A-Za-z0-9+-._?=]`, not starting with a dot.
pub fn validate_name(name: &str) -> Result<(), StorePathError> {
    let invalid = |reason| StorePathError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid("longer than 211 characters"));
    }
    if name.starts_with('.') {
        return Err(invalid("starts with a dot"));
    }
    let allowed = |c: u8| c.is_ascii_alphanumeric() || b"+-._?=".contains(&c);
    if !name.bytes().all(allowed) {
        return Err(invalid("characters other than A-Za-z0-9+-._?="));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let s = "/nix/store/s1g4g3n6lg8iv0422i2kkcafp6xpbii9-hello-1.0";
        let p = StorePath::parse(s).expect("valid");
        assert_eq!(p.hash, "s1g4g3n6lg8iv0422i2kkcafp6xpbii9");
        assert_eq!(p.name, "hello-1.0");
        assert_eq!(p.to_string(), s);
        assert_eq!(s.parse::<StorePath>(), Ok(p));
    }

    #[test]
    fn rejects_bad_paths() {
        let good_hash = "s1g4g3n6lg8iv0422i2kkcafp6xpbii9";
        for bad in [
            "/nix/store".to_owned(),
            format!("/nix/stor/{good_hash}-x"),
            format!("/nix/store/{good_hash}"),
            format!("/nix/store/{good_hash}-"),
            format!("/nix/store/{good_hash}_x"),
            format!("/nix/store/{good_hash}-.hidden"),
            format!("/nix/store/{good_hash}-a/b"),
            format!("/nix/store/{good_hash}-a b"),
            format!("/nix/store/{}-x", "e".repeat(32)),
            format!("/nix/store/{good_hash}-{}", "a".repeat(212)),
        ] {
            assert!(StorePath::parse(&bad).is_err(), "{bad} should be rejected");
        }
        let longest = format!("/nix/store/{good_hash}-{}", "a".repeat(211));
        assert!(StorePath::parse(&longest).is_ok());
        assert!(StorePath::parse(&format!("/nix/store/{good_hash}-a+b-_?=.c")).is_ok());
    }

    #[test]
    fn serde_is_the_absolute_path() {
        let s = "/nix/store/s1g4g3n6lg8iv0422i2kkcafp6xpbii9-hello-1.0";
        let p = StorePath::parse(s).expect("valid");
        // The same JSON as the string: specs hashed as JSON keep their bytes.
        assert_eq!(
            serde_json::to_string(&p).expect("json"),
            serde_json::to_string(s).expect("json")
        );
        let back: StorePath = serde_json::from_str(&format!("{s:?}")).expect("reads back");
        assert_eq!(back, p);
        let err = serde_json::from_str::<StorePath>("\"/tmp/x\"").expect_err("not a store path");
        assert!(err.to_string().contains("not under /nix/store"), "{err}");
    }
}
