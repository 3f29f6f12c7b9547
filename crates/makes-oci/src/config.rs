//! Image metadata as JSON: the image config, the OCI manifest, the OCI index and Docker's
//! `manifest.json` (the OCI image specification's documents, and `docker save`'s).
//!
//! Every document is a struct serialised by serde_json, so keys come in declaration order (the
//! order of the Go structs Docker and the OCI tools use), and the user's `config` object is
//! canonicalised with its keys sorted at every level: the bytes, and so the digests, are stable
//! across runs and across the order the evaluator produced the attributes in.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

pub use makes_oci_model::media_types::OCI_LAYOUT_JSON;
use makes_oci_model::media_types::{
    ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME, OCI_INDEX, OCI_MANIFEST,
};
use makes_oci_model::Descriptor;

use crate::blob::Digest;
use crate::error::OciError;

/// The layers of the config, as the config and history need them.
#[derive(Debug, Clone)]
pub struct ConfigLayer {
    pub diff_id: Digest,
    /// What the history entry says about the layer.
    pub comment: String,
}

#[derive(Serialize)]
struct ImageConfig<'a> {
    created: &'a str,
    architecture: &'a str,
    os: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<Value>,
    rootfs: RootFs,
    history: Vec<History<'a>>,
}

#[derive(Serialize)]
struct RootFs {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<String>,
}

#[derive(Serialize)]
struct History<'a> {
    created: &'a str,
    created_by: &'static str,
    comment: &'a str,
}

/// What the history names as the author of each layer.
const CREATED_BY: &str = "makes makeContainerImage";

/// The image config JSON. `config` is omitted when empty.
pub fn image_config_json(
    created: &str,
    architecture: &str,
    config: &BTreeMap<String, Value>,
    layers: &[ConfigLayer],
) -> Result<Vec<u8>, OciError> {
    let config = if config.is_empty() {
        None
    } else {
        Some(canonical(&Value::Object(
            config.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        )))
    };
    let doc = ImageConfig {
        created,
        architecture,
        os: "linux",
        config,
        rootfs: RootFs {
            kind: "layers",
            diff_ids: layers.iter().map(|l| l.diff_id.to_string()).collect(),
        },
        history: layers
            .iter()
            .map(|l| History {
                created,
                created_by: CREATED_BY,
                comment: &l.comment,
            })
            .collect(),
    };
    to_json("config", &doc)
}

#[derive(Serialize)]
struct Manifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    config: &'a Descriptor,
    layers: &'a [Descriptor],
}

/// The OCI image manifest.
pub fn manifest_json(config: &Descriptor, layers: &[Descriptor]) -> Result<Vec<u8>, OciError> {
    to_json(
        "manifest",
        &Manifest {
            schema_version: 2,
            media_type: OCI_MANIFEST,
            config,
            layers,
        },
    )
}

#[derive(Serialize)]
struct Index<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    manifests: [&'a Descriptor; 1],
}

/// The OCI `index.json` naming the one manifest by tag (and by `name:tag` for containerd).
pub fn index_json(manifest: &Descriptor, name: &str, tag: &str) -> Result<Vec<u8>, OciError> {
    let mut manifest = manifest.clone();
    manifest
        .annotations
        .insert(ANNOTATION_CONTAINERD_NAME.into(), format!("{name}:{tag}"));
    manifest
        .annotations
        .insert(ANNOTATION_REF_NAME.into(), tag.to_string());
    to_json(
        "index",
        &Index {
            schema_version: 2,
            media_type: OCI_INDEX,
            manifests: [&manifest],
        },
    )
}

#[derive(Serialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Vec<String>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Docker's `manifest.json`, with paths into `blobs/sha256/` as Docker 25+ writes them.
pub fn docker_manifest_json(
    config: &Digest,
    layers: &[Digest],
    name: &str,
    tag: &str,
) -> Result<Vec<u8>, OciError> {
    to_json(
        "docker manifest.json",
        &[DockerManifestEntry {
            config: blob_path(config),
            repo_tags: vec![format!("{name}:{tag}")],
            layers: layers.iter().map(blob_path).collect(),
        }],
    )
}

/// The path of a blob inside the layout.
pub fn blob_path(digest: &Digest) -> String {
    digest.layout_path()
}

fn to_json<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, OciError> {
    serde_json::to_vec(value).map_err(|source| OciError::Json { what, source })
}

/// `value` with the keys of every object sorted.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.clone(), v))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layers() -> Vec<ConfigLayer> {
        vec![
            ConfigLayer {
                diff_id: Digest::of(b"a"),
                comment: "store paths: /nix/store/aaa-a".into(),
            },
            ConfigLayer {
                diff_id: Digest::of(b"b"),
                comment: "makes customisation layer".into(),
            },
        ]
    }

    #[test]
    fn config_has_fixed_key_order_and_sorted_user_config() {
        let mut cfg = BTreeMap::new();
        let mut labels = Map::new();
        labels.insert("z".into(), json!("1"));
        labels.insert("a".into(), json!("2"));
        cfg.insert("Labels".to_string(), Value::Object(labels));
        cfg.insert("Cmd".to_string(), json!(["/bin/hello"]));
        let bytes =
            image_config_json("1970-01-01T00:00:01Z", "amd64", &cfg, &layers()).expect("json");
        let text = String::from_utf8(bytes).expect("utf8");
        assert_eq!(
            text,
            format!(
                concat!(
                    r#"{{"created":"1970-01-01T00:00:01Z","architecture":"amd64","os":"linux","#,
                    r#""config":{{"Cmd":["/bin/hello"],"Labels":{{"a":"2","z":"1"}}}},"#,
                    r#""rootfs":{{"type":"layers","diff_ids":["{}","{}"]}},"#,
                    r#""history":[{{"created":"1970-01-01T00:00:01Z","created_by":"makes makeContainerImage","comment":"store paths: /nix/store/aaa-a"}},"#,
                    r#"{{"created":"1970-01-01T00:00:01Z","created_by":"makes makeContainerImage","comment":"makes customisation layer"}}]}}"#
                ),
                Digest::of(b"a"),
                Digest::of(b"b")
            )
        );
    }

    #[test]
    fn empty_config_is_omitted() {
        let bytes = image_config_json("x", "arm64", &BTreeMap::new(), &layers()).expect("json");
        let v: Value = serde_json::from_slice(&bytes).expect("valid json");
        assert!(v.get("config").is_none());
        assert_eq!(v["rootfs"]["diff_ids"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn manifest_index_and_docker_manifest() {
        let cfg = Descriptor::new(
            makes_oci_model::media_types::OCI_CONFIG,
            &Digest::of(b"c"),
            1,
        );
        let layer = Descriptor::new(
            "application/vnd.oci.image.layer.v1.tar+gzip",
            &Digest::of(b"l"),
            2,
        );
        let m = manifest_json(&cfg, std::slice::from_ref(&layer)).expect("json");
        let v: Value = serde_json::from_slice(&m).expect("json");
        assert_eq!(v["schemaVersion"], 2);
        assert_eq!(v["mediaType"], OCI_MANIFEST);
        assert_eq!(v["config"]["digest"], Digest::of(b"c").to_string());
        assert!(v["config"].get("annotations").is_none());
        assert!(String::from_utf8_lossy(&m).starts_with(r#"{"schemaVersion":2,"mediaType""#));

        let md = Descriptor::new(OCI_MANIFEST, &Digest::of(&m), m.len() as u64);
        let idx: Value =
            serde_json::from_slice(&index_json(&md, "hello", "1.0").expect("json")).expect("json");
        let ann = &idx["manifests"][0]["annotations"];
        assert_eq!(ann[ANNOTATION_REF_NAME], "1.0");
        assert_eq!(ann[ANNOTATION_CONTAINERD_NAME], "hello:1.0");

        let d = docker_manifest_json(&Digest::of(b"c"), &[Digest::of(b"l")], "hello", "1.0")
            .expect("json");
        let d: Value = serde_json::from_slice(&d).expect("json");
        assert_eq!(d[0]["RepoTags"][0], "hello:1.0");
        assert_eq!(
            d[0]["Config"],
            format!("blobs/sha256/{}", Digest::of(b"c").hex())
        );
        assert_eq!(d[0]["Layers"].as_array().map(Vec::len), Some(1));
    }
}
