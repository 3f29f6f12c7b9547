//! Manifests and indexes as the registry serves them: the OCI media types and Docker's schema 2
//! ones, parsed just enough to find the config, the layers and the per-platform manifests.
//! The bytes themselves are never re-serialised: they are stored and pushed as they are, since
//! their digest is what names them.

use serde::Deserialize;

use makes_http::{printable, MAX_SERVER_TEXT};
pub(crate) use makes_oci_model::media_types::ACCEPT_MANIFESTS;
use makes_oci_model::media_types::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
use makes_oci_model::{Descriptor, Digest, Platform};

use crate::error::RegistryError;

/// The largest manifest read into memory (the distribution spec suggests registries accept
/// at least 4 MiB).
pub(crate) const MAX_MANIFEST_BYTES: u64 = 4 << 20;

#[derive(Deserialize)]
struct RawManifest {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<u32>,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
}

/// What a manifest document turned out to be.
#[derive(Debug)]
pub(crate) enum Parsed {
    Image {
        media_type: String,
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    Index {
        media_type: String,
        manifests: Vec<Descriptor>,
    },
}

/// Parses a manifest or index; `header_type` is the `Content-Type` it was served with, used
/// when the document has no `mediaType` (it is optional in OCI manifests).
pub(crate) fn parse_manifest(
    bytes: &[u8],
    header_type: Option<&str>,
    reference: &str,
) -> Result<Parsed, RegistryError> {
    let invalid = |reason: String| RegistryError::InvalidManifest {
        reference: reference.to_string(),
        what: "manifest".into(),
        reason,
    };
    let raw: RawManifest =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("not JSON: {e}")))?;
    if raw.schema_version == Some(1) {
        return Err(RegistryError::UnsupportedMediaType {
            reference: reference.to_string(),
            media_type: "application/vnd.docker.distribution.manifest.v1+json (schema 1)".into(),
        });
    }
    let header_type = header_type.map(|h| h.split(';').next().unwrap_or(h).trim());
    let media_type = match (&raw.media_type, header_type) {
        (Some(m), _) if !m.is_empty() => m.clone(),
        (_, Some(h)) if h == OCI_MANIFEST || h == OCI_INDEX => h.to_string(),
        _ if raw.manifests.is_some() => OCI_INDEX.to_string(),
        _ if raw.config.is_some() => OCI_MANIFEST.to_string(),
        _ => return Err(invalid("neither a manifest nor an index".into())),
    };
    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let config = raw
                .config
                .ok_or_else(|| invalid("the manifest has no config".into()))?;
            let layers = raw.layers.unwrap_or_default();
            Ok(Parsed::Image {
                media_type,
                config,
                layers,
            })
        }
        OCI_INDEX | DOCKER_MANIFEST_LIST => {
            let manifests = raw
                .manifests
                .ok_or_else(|| invalid("the index has no manifests".into()))?;
            Ok(Parsed::Index {
                media_type,
                manifests,
            })
        }
        other => Err(RegistryError::UnsupportedMediaType {
            reference: reference.to_string(),
            media_type: printable(other, MAX_SERVER_TEXT),
        }),
    }
}

/// The manifest of `wanted` in an index: the first entry whose platform matches. Entries
/// without a platform (attestations have `unknown/unknown`) never match.
pub(crate) fn select_platform<'a>(
    manifests: &'a [Descriptor],
    wanted: &Platform,
    reference: &str,
) -> Result<&'a Descriptor, RegistryError> {
    manifests
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(|p| wanted.matches(p)))
        .ok_or_else(|| {
            let available: Vec<String> = manifests
                .iter()
                .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
                .collect();
            RegistryError::NoMatchingPlatform {
                reference: reference.to_string(),
                wanted: wanted.to_string(),
                available: if available.is_empty() {
                    "no platforms".into()
                } else {
                    printable(&available.join(", "), MAX_SERVER_TEXT)
                },
            }
        })
}

/// The `rootfs.diff_ids` of an image config, one per layer.
pub(crate) fn config_diff_ids(
    config: &[u8],
    reference: &str,
) -> Result<Vec<Digest>, RegistryError> {
    #[derive(Deserialize)]
    struct Config {
        rootfs: RootFs,
    }
    #[derive(Deserialize)]
    struct RootFs {
        diff_ids: Vec<String>,
    }
    let config: Config =
        serde_json::from_slice(config).map_err(|e| RegistryError::InvalidManifest {
            reference: reference.to_string(),
            what: "image config".into(),
            reason: format!("no rootfs.diff_ids: {e}"),
        })?;
    config
        .rootfs
        .diff_ids
        .iter()
        .map(|d| Digest::parse(d).map_err(RegistryError::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn docker_schema2_manifest_keeps_media_types() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}",
            "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{D1}","size":3}},
            "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{D2}","size":9}}]}}"#
        );
        match parse_manifest(m.as_bytes(), None, "r").expect("parses") {
            Parsed::Image {
                media_type, layers, ..
            } => {
                assert_eq!(media_type, DOCKER_MANIFEST);
                assert_eq!(
                    layers[0].media_type,
                    "application/vnd.docker.image.rootfs.diff.tar.gzip"
                );
                assert_eq!(layers[0].size, 9);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn media_type_from_header_or_shape() {
        let idx = format!(r#"{{"schemaVersion":2,"manifests":[{{"digest":"{D1}","size":1}}]}}"#);
        assert!(matches!(
            parse_manifest(
                idx.as_bytes(),
                Some("application/vnd.oci.image.index.v1+json"),
                "r"
            ),
            Ok(Parsed::Index { .. })
        ));
        assert!(matches!(
            parse_manifest(idx.as_bytes(), None, "r"),
            Ok(Parsed::Index { .. })
        ));
        let schema1 = br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        assert!(matches!(
            parse_manifest(schema1, None, "r"),
            Err(RegistryError::UnsupportedMediaType { .. })
        ));
    }

    #[test]
    fn platform_selection() {
        let entry = |digest: &str, platform: Option<&str>| Descriptor {
            platform: platform.map(|p| Platform::parse(p).expect("platform")),
            ..Descriptor::new(OCI_MANIFEST, &Digest::parse(digest).expect("digest"), 1)
        };
        let list = vec![
            entry(D1, Some("linux/amd64")),
            entry(D2, Some("linux/arm64/v8")),
            entry(D1, None),
        ];
        let pick = |p: &str| select_platform(&list, &Platform::parse(p).expect("p"), "r");
        assert_eq!(pick("linux/arm64").expect("arm64").digest.to_string(), D2);
        assert_eq!(pick("linux/amd64").expect("amd64").digest.to_string(), D1);
        let err = pick("linux/s390x").expect_err("none");
        assert!(
            err.to_string().contains("linux/amd64, linux/arm64/v8"),
            "{err}"
        );
    }

    #[test]
    fn diff_ids_from_config() {
        let c = format!(r#"{{"rootfs":{{"type":"layers","diff_ids":["{D1}"]}}}}"#);
        assert_eq!(
            config_diff_ids(c.as_bytes(), "r").expect("ok")[0].to_string(),
            D1
        );
        assert!(config_diff_ids(b"{}", "r").is_err());
    }
}
