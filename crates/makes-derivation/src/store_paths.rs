//! The store paths of derivations and their outputs, as Nix 2.8's `Store::makeOutputPath`,
//! `makeFixedOutputPath` and `computeStorePathForText` (`src/libstore/store-api.cc`) compute
//! them, on top of the store's `makeStorePath`.

use crate::hash::{HashAlgo, NixHash};
use makes_store::{make_store_path, StorePath};
use sha2::Digest as _;

/// How a fixed output is hashed: its bytes (`flat`) or its NAR (`recursive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestionMethod {
    Flat,
    Recursive,
}

impl IngestionMethod {
    /// `makeFileIngestionPrefix`: `r:` for recursive, nothing for flat.
    pub fn prefix(self) -> &'static str {
        match self {
            IngestionMethod::Flat => "",
            IngestionMethod::Recursive => "r:",
        }
    }
}

/// `outputPathName`: the derivation's name, with `-OUTPUT` for outputs other than `out`.
pub fn output_path_name(drv_name: &str, output: &str) -> String {
    if output == "out" {
        drv_name.to_owned()
    } else {
        format!("{drv_name}-{output}")
    }
}

/// The path of an input-addressed output, from the derivation's hash modulo.
pub fn output_path(drv_name: &str, output: &str, hash_modulo: &[u8; 32]) -> StorePath {
    make_store_path(
        &format!("output:{output}"),
        hash_modulo,
        &output_path_name(drv_name, output),
    )
}

/// The path of a fixed output of `hash`, ingested by `method`, named `name`.
pub fn fixed_output_path(method: IngestionMethod, hash: &NixHash, name: &str) -> StorePath {
    if method == IngestionMethod::Recursive && hash.algo == HashAlgo::Sha256 {
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&hash.bytes);
        return make_store_path("source", &digest, name);
    }
    let inner = format!(
        "fixed:out:{}{}:{}:",
        method.prefix(),
        hash.algo.name(),
        hash.to_base16()
    );
    let digest: [u8; 32] = sha2::Sha256::digest(inner.as_bytes()).into();
    make_store_path("output:out", &digest, name)
}

/// The path of a text file (a `.drv`, a `toFile`) with these contents and references.
pub fn text_path<'a>(
    name: &str,
    contents: &[u8],
    references: impl IntoIterator<Item = &'a String>,
) -> StorePath {
    let mut kind = String::from("text");
    for r in references {
        kind.push(':');
        kind.push_str(r);
    }
    let digest: [u8; 32] = sha2::Sha256::digest(contents).into();
    make_store_path(&kind, &digest, name)
}

/// `hashPlaceholder`: what `builtins.placeholder OUTPUT` returns, replaced by the output's
/// path when the builder runs.
pub fn hash_placeholder(output: &str) -> String {
    let digest = sha2::Sha256::digest(format!("nix-output:{output}").as_bytes());
    format!("/{}", makes_store::nixbase32::encode(&digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_of_out_is_nix_s() {
        // `builtins.placeholder "out"` under Nix 2.8.
        assert_eq!(
            hash_placeholder("out"),
            "/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9"
        );
    }

    #[test]
    fn output_names_get_their_suffix() {
        assert_eq!(output_path_name("hello", "out"), "hello");
        assert_eq!(output_path_name("hello", "dev"), "hello-dev");
    }
}
