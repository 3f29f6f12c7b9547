//! `fsck` for image archives (as ocidir-rs has one for its layouts): reads an archive back and
//! checks that it is what [`crate::build_image`] promises — every blob hashes to its name,
//! `index.json`, the manifest, the config and Docker's `manifest.json` agree on digests and
//! sizes, and each `rootfs.diff_ids` entry is the sha256 of the uncompressed layer.
//!
//! One streaming pass over the archive: blobs are hashed as they are read (gzip layers are also
//! decompressed and hashed), and only small JSON documents are kept in memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use serde_json::Value;

use crate::blob::{Digest, HashingWriter};
use crate::config::OCI_LAYOUT_JSON;
use crate::error::OciError;

/// Blobs up to this size are kept in memory, so manifests and configs can be parsed.
const SMALL_BLOB: u64 = 4 << 20;

/// What a checked archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveCheck {
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    /// `(blob digest, diff_id)` of each layer, bottom first.
    pub layers: Vec<(Digest, Digest)>,
    /// Docker's `RepoTags`.
    pub repo_tags: Vec<String>,
    /// The `org.opencontainers.image.ref.name` annotation of the manifest in `index.json`.
    pub ref_name: Option<String>,
}

struct BlobFacts {
    digest: Digest,
    size: u64,
    /// The digest of the decompressed content, when it is gzip or zstd.
    gunzipped: Option<Digest>,
    bytes: Option<Vec<u8>>,
}

/// Checks the archive at `path`.
pub fn fsck_archive(path: &Path) -> Result<ArchiveCheck, OciError> {
    let bad = |reason: String| OciError::InvalidArchive {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(OciError::io(path))?;
    let mut archive = tar::Archive::new(file);
    let mut blobs: BTreeMap<String, BlobFacts> = BTreeMap::new();
    let mut docs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in archive.entries().map_err(OciError::io(path))? {
        let mut entry = entry.map_err(OciError::io(path))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            let facts = read_blob(&mut entry).map_err(OciError::io(path))?;
            if facts.digest.hex() != hex {
                return Err(OciError::DigestMismatch {
                    path: path.join(&name),
                    expected: format!("sha256:{hex}"),
                    found: facts.digest.to_string(),
                });
            }
            blobs.insert(hex.to_string(), facts);
        } else {
            let mut bytes = Vec::new();
            entry
                .by_ref()
                .take(SMALL_BLOB)
                .read_to_end(&mut bytes)
                .map_err(OciError::io(path))?;
            docs.insert(name, bytes);
        }
    }

    if docs.get("oci-layout").map(Vec::as_slice) != Some(OCI_LAYOUT_JSON) {
        return Err(bad("missing or unexpected oci-layout".into()));
    }
    let doc = |name: &str| -> Result<Value, OciError> {
        let bytes = docs.get(name).ok_or_else(|| bad(format!("no {name}")))?;
        serde_json::from_slice(bytes).map_err(|e| bad(format!("{name}: {e}")))
    };
    let blob = |digest: &Value, size: &Value, what: &str| -> Result<&BlobFacts, OciError> {
        let digest = digest.as_str().unwrap_or_default();
        let hex = digest
            .strip_prefix("sha256:")
            .ok_or_else(|| bad(format!("{what}: bad digest {digest:?}")))?;
        let facts = blobs
            .get(hex)
            .ok_or_else(|| bad(format!("{what}: blob {digest} missing")))?;
        if size.as_u64() != Some(facts.size) {
            return Err(bad(format!(
                "{what}: size {size} but blob {digest} has {} bytes",
                facts.size
            )));
        }
        Ok(facts)
    };
    let json_of = |facts: &BlobFacts, what: &str| -> Result<Value, OciError> {
        let bytes = facts
            .bytes
            .as_deref()
            .ok_or_else(|| bad(format!("{what} is too large")))?;
        serde_json::from_slice(bytes).map_err(|e| bad(format!("{what}: {e}")))
    };

    let index = doc("index.json")?;
    let m = &index["manifests"][0];
    let manifest_facts = blob(&m["digest"], &m["size"], "index.json manifest")?;
    let manifest = json_of(manifest_facts, "manifest")?;
    let config_facts = blob(
        &manifest["config"]["digest"],
        &manifest["config"]["size"],
        "manifest config",
    )?;
    let config = json_of(config_facts, "config")?;
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if layers.len() != diff_ids.len() {
        return Err(bad(format!(
            "{} layers but {} diff_ids",
            layers.len(),
            diff_ids.len()
        )));
    }
    let mut checked = Vec::new();
    for (i, (layer, diff_id)) in layers.iter().zip(&diff_ids).enumerate() {
        let facts = blob(&layer["digest"], &layer["size"], &format!("layer {i}"))?;
        let media_type = layer["mediaType"].as_str().unwrap_or_default();
        let uncompressed = if media_type.ends_with("+gzip") || media_type.ends_with("+zstd") {
            facts
                .gunzipped
                .ok_or_else(|| bad(format!("layer {i} is not {media_type}")))?
        } else if media_type.ends_with(".tar") {
            facts.digest
        } else {
            return Err(bad(format!("layer {i}: media type {media_type:?}")));
        };
        if diff_id.as_str() != Some(uncompressed.to_string().as_str()) {
            return Err(OciError::DigestMismatch {
                path: path.join(format!("diff_id of layer {i}")),
                expected: diff_id.to_string(),
                found: uncompressed.to_string(),
            });
        }
        checked.push((facts.digest, uncompressed));
    }

    let docker = doc("manifest.json")?;
    let entry = &docker[0];
    let want_config = format!("blobs/sha256/{}", config_facts.digest.hex());
    if entry["Config"].as_str() != Some(want_config.as_str()) {
        return Err(bad(format!("manifest.json Config is {}", entry["Config"])));
    }
    let docker_layers: Vec<&str> = entry["Layers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let want_layers: Vec<String> = checked
        .iter()
        .map(|(d, _)| format!("blobs/sha256/{}", d.hex()))
        .collect();
    if docker_layers != want_layers {
        return Err(bad("manifest.json Layers differ from the manifest".into()));
    }
    let repo_tags = entry["RepoTags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(ArchiveCheck {
        manifest_digest: manifest_facts.digest,
        config_digest: config_facts.digest,
        layers: checked,
        repo_tags,
        ref_name: m["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .map(String::from),
    })
}

/// A streaming decompressor feeding a hash.
enum Unpack {
    Gzip(flate2::write::MultiGzDecoder<HashingWriter<io::Sink>>),
    Zstd(zstd::stream::write::Decoder<'static, HashingWriter<io::Sink>>),
}

impl Unpack {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Unpack::Gzip(d) => d.write_all(data),
            Unpack::Zstd(d) => d.write_all(data),
        }
    }

    fn finish(self) -> Option<Digest> {
        match self {
            Unpack::Gzip(d) => d.finish().ok().map(|h| h.finish().1),
            Unpack::Zstd(mut d) => {
                d.flush().ok()?;
                Some(d.into_inner().finish().1)
            }
        }
    }
}

/// Hashes a blob as it is read; also decompresses and hashes it when it starts like gzip (all
/// members) or zstd (all frames), and keeps it when small.
fn read_blob(reader: &mut impl Read) -> io::Result<BlobFacts> {
    let mut raw = HashingWriter::new(io::sink());
    let mut head: Vec<u8> = Vec::new();
    let mut gunzip: Option<(Unpack, bool)> = None;
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if total == 0 && chunk.starts_with(&[0x1f, 0x8b]) {
            gunzip = Some((
                Unpack::Gzip(flate2::write::MultiGzDecoder::new(HashingWriter::new(
                    io::sink(),
                ))),
                true,
            ));
        } else if total == 0 && chunk.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            gunzip = zstd::stream::write::Decoder::new(HashingWriter::new(io::sink()))
                .ok()
                .map(|d| (Unpack::Zstd(d), true));
        }
        if let Some((dec, ok)) = gunzip.as_mut() {
            if *ok && dec.write_all(chunk).is_err() {
                *ok = false;
            }
        }
        raw.write_all(chunk)?;
        total += n as u64;
        if total <= SMALL_BLOB {
            head.extend_from_slice(chunk);
        }
    }
    let (_, digest, size) = raw.finish();
    let gunzipped = match gunzip {
        Some((dec, true)) => dec.finish(),
        _ => None,
    };
    Ok(BlobFacts {
        digest,
        size,
        gunzipped,
        bytes: (size <= SMALL_BLOB).then_some(head),
    })
}
