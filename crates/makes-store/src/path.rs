//! Store paths as Nix names them: `/nix/store/<32 nix-base32 chars>-<name>`, and how their
//! hash parts are computed (Nix's `makeStorePath`, `src/libstore/store-api.cc`).

use makes_syntax::byte_text::text_to_bytes;

use makes_spec::DerivationSpec;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::nixbase32;

pub use makes_store_path::{validate_name, StorePath, HASH_LEN, STORE_DIR};

/// What the store knows of a valid path: the closure graph the image builder lays out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathInfo {
    #[serde(with = "record_form")]
    pub path: StorePath,
    /// Store paths this path's contents refer to (possibly itself), sorted.
    #[serde(with = "record_form::list")]
    pub references: Vec<StorePath>,
    /// Size of the NAR serialisation in bytes.
    pub nar_size: u64,
    /// `sha256:<nix-base32>` of the NAR serialisation.
    pub nar_hash: String,
}

/// The form store paths take in the store's own records (`db/<hash>.json`): `{ "hash",
/// "name" }` objects, as records have always been written, so that a store written by an
/// earlier makes stays readable (elsewhere a store path is its absolute path string).
mod record_form {
    use super::StorePath;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Record<'a> {
        #[serde(borrow)]
        hash: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        name: std::borrow::Cow<'a, str>,
    }

    fn record(path: &StorePath) -> Record<'_> {
        Record {
            hash: path.hash.as_str().into(),
            name: path.name.as_str().into(),
        }
    }

    fn store_path(record: Record<'_>) -> StorePath {
        StorePath {
            hash: record.hash.into_owned(),
            name: record.name.into_owned(),
        }
    }

    pub fn serialize<S: Serializer>(path: &StorePath, serializer: S) -> Result<S::Ok, S::Error> {
        record(path).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<StorePath, D::Error> {
        Record::deserialize(deserializer).map(store_path)
    }

    pub mod list {
        use super::{record, store_path, Record, StorePath};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            paths: &[StorePath],
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(paths.iter().map(record))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Vec<StorePath>, D::Error> {
            Vec::<Record>::deserialize(deserializer)
                .map(|records| records.into_iter().map(store_path).collect())
        }
    }
}

/// Nix's `makeStorePath`: the path of kind `kind` (`source`, `output:out`, `text:...`) whose
/// inner hash is `sha256_digest`. The fingerprint `"{kind}:sha256:{hex}:/nix/store:{name}"` is
/// hashed with SHA-256, folded to 20 bytes and written in nix-base32.
///
/// `name` is assumed valid (see [`validate_name`]).
pub fn make_store_path(kind: &str, sha256_digest: &[u8; 32], name: &str) -> StorePath {
    // Built by pushes, not `format!`: an image of thousands of path literals names a store
    // path for each of them on every evaluation.
    let mut fingerprint = String::with_capacity(kind.len() + STORE_DIR.len() + name.len() + 80);
    fingerprint.push_str(kind);
    fingerprint.push_str(":sha256:");
    push_hex(&mut fingerprint, sha256_digest);
    fingerprint.push(':');
    fingerprint.push_str(STORE_DIR);
    fingerprint.push(':');
    fingerprint.push_str(name);
    let digest = Sha256::digest(fingerprint.as_bytes());
    let compressed: [u8; 20] = nixbase32::compress_hash(&digest);
    StorePath {
        hash: nixbase32::encode(&compressed),
        name: name.to_owned(),
    }
}

/// The path Nix gives a path literal (`"${./dir}"`, `builtins.path`): recursive (NAR) SHA-256,
/// no references, kind `source`.
pub fn source_store_path(nar_sha256: &[u8; 32], name: &str) -> StorePath {
    make_store_path("source", nar_sha256, name)
}

/// The version tag that starts the serialisation hashed by [`derivation_output_path`]; change
/// it when the serialisation changes.
const DERIVATION_TAG: &[u8] = b"makes-derivation-v1\0";

/// The output path of a `makeDerivation`.
///
/// This is makes' own input-addressed scheme, not Nix's derivation hash: the path is
/// `make_store_path("output:out", sha256(tag ++ canonical(spec)), spec.name)`, where the
/// canonical serialisation covers every field of the spec (name, builder, env, env files,
/// search paths, sha256, local, input paths) with length prefixes, in a fixed order. The same
/// spec always gives the same path; any change to it gives another.
/// Nix's path of a fixed-output derivation's `out` with a SHA-256: flat (the file's own
/// hash, as `fetchurl` pins it) or recursive (the NAR's). The same path Nix computes, so a
/// file fetched by makes and by Nix lands at the same place.
pub fn fixed_output_path(hash: &[u8; 32], recursive: bool, name: &str) -> StorePath {
    if !recursive {
        return flat_fixed_output_path(
            &crate::hash::FlatHash {
                algo: crate::hash::FlatHashAlgo::Sha256,
                digest: hash.to_vec(),
            },
            name,
        );
    }
    // Nix's special case: a recursive SHA-256 is addressed as a source (as `builtins.path`).
    make_store_path("source", hash, name)
}

/// Nix's path of a flat fixed-output `out` pinned by `hash` (SHA-1, SHA-256 or SHA-512, as
/// `fetchurl { hash; }` takes them): `fixed:out:<algo>:<hex>:` hashed into an output path.
pub fn flat_fixed_output_path(hash: &crate::hash::FlatHash, name: &str) -> StorePath {
    let hex: String = hash.digest.iter().map(|b| format!("{b:02x}")).collect();
    let inner = format!("fixed:out:{}:{hex}:", hash.algo_name());
    let digest: [u8; 32] = Sha256::digest(inner.as_bytes()).into();
    make_store_path("output:out", &digest, name)
}

pub fn derivation_output_path(spec: &DerivationSpec) -> StorePath {
    let mut hasher = Sha256::new();
    hasher.update(DERIVATION_TAG);
    let mut put = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    // Destructured so that a new field cannot be forgotten here.
    let DerivationSpec {
        name,
        builder,
        env,
        env_files,
        search_paths,
        sha256,
        local,
        input_paths,
    } = spec;
    let count = |n: usize| (n as u64).to_le_bytes();
    put(b"name");
    put(name.as_bytes());
    put(b"builder");
    put(builder.as_bytes());
    for (field, map) in [("env", env), ("env_files", env_files)] {
        put(field.as_bytes());
        put(&count(map.len()));
        for (k, v) in map {
            put(k.as_bytes());
            // The bytes the value stands for: UTF-8 values are their own bytes, so their
            // paths are the same as before values could be any bytes.
            put(&text_to_bytes(v));
        }
    }
    for (field, list) in [
        ("search_paths.bin", &search_paths.bin),
        ("search_paths.source", &search_paths.source),
    ] {
        put(field.as_bytes());
        put(&count(list.len()));
        for item in list {
            put(item.as_bytes());
        }
    }
    // Hashed as the absolute paths they are, so paths stay those of when they were strings.
    put(b"input_paths");
    put(&count(input_paths.len()));
    for item in input_paths {
        put(item.to_absolute().as_bytes());
    }
    put(b"search_paths.export");
    put(&count(search_paths.export.len()));
    for (var, dir, suffix) in &search_paths.export {
        put(var.as_bytes());
        put(dir.as_bytes());
        put(suffix.as_bytes());
    }
    put(b"sha256");
    match sha256 {
        None => put(b"\0"),
        Some(h) => {
            put(b"\x01");
            put(h.as_bytes());
        }
    }
    put(b"local");
    put(&[u8::from(*local)]);
    let digest: [u8; 32] = hasher.finalize().into();
    make_store_path("output:out", &digest, name)
}

/// Lower-case hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Appends the lower-case hex of `bytes` to `out` (a table look-up per digit: this runs for
/// every store path named).
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use makes_spec::SearchPaths;

    #[test]
    fn records_keep_their_form() {
        // A store record as makes has always written it: paths as `{ hash, name }` objects.
        let text = r#"{"path":{"hash":"s1g4g3n6lg8iv0422i2kkcafp6xpbii9","name":"hello"},"references":[{"hash":"s1g4g3n6lg8iv0422i2kkcafp6xpbii9","name":"hello"}],"nar_size":1,"nar_hash":"sha256:x"}"#;
        let info: PathInfo = serde_json::from_str(text).expect("an existing record reads");
        assert_eq!(
            info.path.to_absolute(),
            "/nix/store/s1g4g3n6lg8iv0422i2kkcafp6xpbii9-hello"
        );
        assert_eq!(info.references, std::slice::from_ref(&info.path));
        assert_eq!(serde_json::to_string(&info).expect("json"), text);
    }

    #[test]
    fn make_store_path_matches_nix() {
        // `NIX_REMOTE=dummy:// nix-instantiate --eval --expr 'builtins.toFile "foo" "bar"'`
        // (Nix 2.8) gives this path: kind "text", sha256("bar").
        let digest: [u8; 32] = Sha256::digest(b"bar").into();
        let p = make_store_path("text", &digest, "foo");
        assert_eq!(
            p.to_string(),
            "/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo"
        );
    }

    fn spec() -> DerivationSpec {
        DerivationSpec {
            name: "demo".into(),
            builder: "echo hi > $out".into(),
            env: [("envA".to_owned(), "1".to_owned())].into(),
            env_files: Default::default(),
            search_paths: SearchPaths::default(),
            sha256: None,
            local: false,
            input_paths: vec![],
        }
    }

    #[test]
    fn fixed_output_paths_are_nix_s() {
        // `nix-store --add-fixed sha256 hello-fetch.txt` of a file holding "hello fetch\n".
        let hash = crate::hash::parse_sha256(
            "4c735370fbf3a79b08ebb5ef3fc7d3a91e0206181d6ae94ee4fe5a88882a4f1d",
        )
        .expect("a hex SHA-256");
        assert_eq!(
            fixed_output_path(&hash, false, "hello-fetch.txt").to_absolute(),
            "/nix/store/dsdqjxybqg95ghwphs88dqqyrl5l5fn2-hello-fetch.txt"
        );
        // `nix-store --add-fixed --recursive sha256 source` of a two-file tree.
        let nar = crate::hash::parse_sha256("094bnp8cglkhjjrmh71klab5n8md0vzjfayj4a4xbjp4p8nrnwl0")
            .expect("a nix-base32 SHA-256");
        assert_eq!(
            fixed_output_path(&nar, true, "source").to_absolute(),
            "/nix/store/77xd7g3p8wx784ck4agqw4dj7794bzgn-source"
        );
    }

    #[test]
    fn derivation_paths_are_input_addressed() {
        let a = derivation_output_path(&spec());
        assert_eq!(a, derivation_output_path(&spec()));
        assert_eq!(a.name, "demo");
        let mut changed = spec();
        changed.builder.push(' ');
        assert_ne!(a, derivation_output_path(&changed));
        let mut changed = spec();
        changed.local = true;
        assert_ne!(a, derivation_output_path(&changed));
        let mut changed = spec();
        changed
            .search_paths
            .export
            .push(("A".into(), "b".into(), "c".into()));
        assert_ne!(a, derivation_output_path(&changed));
        // Moving a byte between adjacent strings changes the path (length prefixes).
        let mut x = spec();
        x.env = [("envAB".to_owned(), "".to_owned())].into();
        let mut y = spec();
        y.env = [("envA".to_owned(), "B".to_owned())].into();
        assert_ne!(derivation_output_path(&x), derivation_output_path(&y));
    }
}
