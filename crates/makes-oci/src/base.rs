//! Base images (`fromImage`): an OCI image layout directory (what `pullImage` leaves in the
//! store), or an image archive, OCI (ours, `skopeo copy oci-archive:`) or docker (`docker
//! save`). Its layers are reused byte for byte, under the same digests; only its config's
//! `Env` is inherited, as dockerTools does.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::blob::Digest;
use crate::config::{MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use crate::error::OciError;

/// A base image's layers and config, read from disk.
#[derive(Debug, Clone)]
pub struct BaseImage {
    /// What the image was read from (for messages and history).
    pub source: PathBuf,
    pub layers: Vec<BaseLayer>,
    /// The `Env` of its config, in order.
    pub env: Vec<String>,
}

/// One layer of a base image: a blob on disk under its digest.
#[derive(Debug, Clone)]
pub struct BaseLayer {
    /// An OCI layer media type (Docker's equivalents are mapped: the bytes are the same).
    pub media_type: &'static str,
    pub digest: Digest,
    pub diff_id: Digest,
    pub size: u64,
    pub blob: PathBuf,
}

const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// Manifests bigger than this are not images (a guard against reading huge files).
const MAX_JSON: u64 = 4 << 20;

impl BaseImage {
    /// Reads the base image at `path`; archives are unpacked into `scratch`, which must live as
    /// long as the returned value is used.
    pub fn open(path: &Path, scratch: &Path) -> Result<BaseImage, OciError> {
        let meta = fs::metadata(path).map_err(OciError::io(path))?;
        if meta.is_dir() {
            return open_layout(path, path);
        }
        let unpacked = scratch.join("base-image");
        fs::create_dir_all(&unpacked).map_err(OciError::io(&unpacked))?;
        unpack(path, &unpacked)?;
        if unpacked.join("index.json").is_file() {
            open_layout(&unpacked, path)
        } else if unpacked.join("manifest.json").is_file() {
            open_docker_archive(&unpacked, path)
        } else {
            Err(invalid(
                path,
                "neither an OCI layout (index.json) nor a docker archive (manifest.json)",
            ))
        }
    }
}

fn invalid(path: &Path, reason: impl Into<String>) -> OciError {
    OciError::InvalidBaseImage {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn read_json(file: &Path, source: &Path) -> Result<Value, OciError> {
    let meta = fs::metadata(file).map_err(OciError::io(file))?;
    if meta.len() > MAX_JSON {
        return Err(invalid(
            source,
            format!("{} is too large for image metadata", file.display()),
        ));
    }
    let bytes = fs::read(file).map_err(OciError::io(file))?;
    serde_json::from_slice(&bytes).map_err(|e| invalid(source, format!("{}: {e}", file.display())))
}

fn blob_path(layout: &Path, digest: &str, source: &Path) -> Result<PathBuf, OciError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| invalid(source, format!("unsupported digest '{digest}'")))?;
    Ok(layout.join("blobs").join("sha256").join(hex))
}

fn layer_media_type(media_type: &str, source: &Path) -> Result<&'static str, OciError> {
    match media_type {
        LAYER_TAR | "application/vnd.docker.image.rootfs.diff.tar" => Ok(LAYER_TAR),
        LAYER_GZIP | "application/vnd.docker.image.rootfs.diff.tar.gzip" => Ok(LAYER_GZIP),
        LAYER_ZSTD | "application/vnd.docker.image.rootfs.diff.tar.zstd" => Ok(LAYER_ZSTD),
        other => Err(invalid(
            source,
            format!("unsupported layer media type '{other}'"),
        )),
    }
}

/// An OCI layout: `index.json` names one image manifest (or an index holding one).
fn open_layout(layout: &Path, source: &Path) -> Result<BaseImage, OciError> {
    let index = read_json(&layout.join("index.json"), source)?;
    let mut manifest = first_manifest(&index, source)?;
    // Follow nested indexes (a pulled layout has none; skopeo's may).
    for _ in 0..4 {
        let media_type = manifest["mediaType"]
            .as_str()
            .unwrap_or(MEDIA_TYPE_MANIFEST)
            .to_owned();
        let digest = manifest["digest"].as_str().unwrap_or_default().to_owned();
        let doc = read_json(&blob_path(layout, &digest, source)?, source)?;
        if media_type == MEDIA_TYPE_INDEX || media_type.ends_with("manifest.list.v2+json") {
            manifest = first_manifest(&doc, source)?;
            continue;
        }
        let config_digest = doc["config"]["digest"].as_str().unwrap_or_default();
        let config = read_json(&blob_path(layout, config_digest, source)?, source)?;
        let diff_ids = diff_ids(&config, source)?;
        let descs = doc["layers"]
            .as_array()
            .ok_or_else(|| invalid(source, "the manifest has no layers"))?;
        if descs.len() != diff_ids.len() {
            return Err(invalid(
                source,
                "the manifest and the config disagree on the number of layers",
            ));
        }
        let mut layers = Vec::with_capacity(descs.len());
        for (desc, diff_id) in descs.iter().zip(diff_ids) {
            let digest_str = desc["digest"].as_str().unwrap_or_default();
            let digest = Digest::parse(digest_str)
                .ok_or_else(|| invalid(source, format!("bad layer digest '{digest_str}'")))?;
            let blob = blob_path(layout, digest_str, source)?;
            let size = fs::metadata(&blob).map_err(OciError::io(&blob))?.len();
            layers.push(BaseLayer {
                media_type: layer_media_type(
                    desc["mediaType"].as_str().unwrap_or_default(),
                    source,
                )?,
                digest,
                diff_id,
                size,
                blob,
            });
        }
        return Ok(BaseImage {
            source: source.to_owned(),
            layers,
            env: env_of(&config),
        });
    }
    Err(invalid(source, "indexes nested too deeply"))
}

fn first_manifest(index: &Value, source: &Path) -> Result<Value, OciError> {
    match index["manifests"].as_array().map(Vec::as_slice) {
        Some([one]) => Ok(one.clone()),
        Some([]) | None => Err(invalid(source, "the index names no image")),
        Some(_) => Err(invalid(
            source,
            "the index names several images; give the one to use",
        )),
    }
}

fn diff_ids(config: &Value, source: &Path) -> Result<Vec<Digest>, OciError> {
    config["rootfs"]["diff_ids"]
        .as_array()
        .ok_or_else(|| invalid(source, "the config has no rootfs.diff_ids"))?
        .iter()
        .map(|d| {
            let s = d.as_str().unwrap_or_default();
            Digest::parse(s).ok_or_else(|| invalid(source, format!("bad diff_id '{s}'")))
        })
        .collect()
}

fn env_of(config: &Value) -> Vec<String> {
    config["config"]["Env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A docker archive: `manifest.json` with `Config` and `Layers` paths inside the archive;
/// each layer file is hashed for its digest (uncompressed layers are their own diff_id).
fn open_docker_archive(dir: &Path, source: &Path) -> Result<BaseImage, OciError> {
    let manifest = read_json(&dir.join("manifest.json"), source)?;
    let entry = match manifest.as_array().map(Vec::as_slice) {
        Some([one]) => one,
        _ => {
            return Err(invalid(
                source,
                "manifest.json must describe exactly one image",
            ))
        }
    };
    let inside = |key: &Value| -> Result<PathBuf, OciError> {
        let rel = key.as_str().unwrap_or_default();
        if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == "..") {
            return Err(invalid(
                source,
                format!("bad path '{rel}' in manifest.json"),
            ));
        }
        Ok(dir.join(rel))
    };
    let config = read_json(&inside(&entry["Config"])?, source)?;
    let diff_ids = diff_ids(&config, source)?;
    let files = entry["Layers"]
        .as_array()
        .ok_or_else(|| invalid(source, "manifest.json has no Layers"))?;
    if files.len() != diff_ids.len() {
        return Err(invalid(
            source,
            "manifest.json and the config disagree on the number of layers",
        ));
    }
    let mut layers = Vec::with_capacity(files.len());
    for (file, diff_id) in files.iter().zip(diff_ids) {
        let blob = inside(file)?;
        let (digest, size, magic) = hash_file(&blob)?;
        let media_type = match magic {
            [0x1f, 0x8b, ..] => LAYER_GZIP,
            [0x28, 0xb5, 0x2f, 0xfd] => LAYER_ZSTD,
            _ => LAYER_TAR,
        };
        if media_type == LAYER_TAR && digest != diff_id {
            return Err(invalid(
                source,
                format!(
                    "layer {} does not match its diff_id {diff_id}",
                    blob.display()
                ),
            ));
        }
        layers.push(BaseLayer {
            media_type,
            digest,
            diff_id,
            size,
            blob,
        });
    }
    Ok(BaseImage {
        source: source.to_owned(),
        layers,
        env: env_of(&config),
    })
}

/// The sha256, size and first four bytes of a file, streamed.
fn hash_file(path: &Path) -> Result<(Digest, u64, [u8; 4]), OciError> {
    let mut file = fs::File::open(path).map_err(OciError::io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    let mut magic = [0u8; 4];
    loop {
        let n = file.read(&mut buf).map_err(OciError::io(path))?;
        if n == 0 {
            break;
        }
        if size < 4 {
            let take = (4 - size as usize).min(n);
            magic[size as usize..size as usize + take].copy_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((Digest(hasher.finalize().into()), size, magic))
}

/// Unpacks the regular files of an archive (no links, no absolute or `..` paths).
fn unpack(archive: &Path, dest: &Path) -> Result<(), OciError> {
    let file = fs::File::open(archive).map_err(OciError::io(archive))?;
    let mut tar = tar::Archive::new(file);
    let entries = tar.entries().map_err(OciError::io(archive))?;
    for entry in entries {
        let mut entry = entry.map_err(OciError::io(archive))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let rel = entry.path().map_err(OciError::io(archive))?.into_owned();
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(invalid(
                archive,
                format!("unsafe path '{}' in the archive", rel.display()),
            ));
        }
        let target = dest.join(&rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(OciError::io(parent))?;
        }
        let mut out = fs::File::create(&target).map_err(OciError::io(&target))?;
        io::copy(&mut entry, &mut out).map_err(OciError::io(&target))?;
    }
    Ok(())
}

/// The new image's `Env`: the base's, then the image's own, a later `NAME=` replacing an
/// earlier one in place.
pub fn merge_env(base: &[String], own: &[String]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for entry in base.iter().chain(own) {
        let name = entry.split('=').next().unwrap_or_default().to_owned();
        if !values.contains_key(&name) {
            order.push(name.clone());
        }
        values.insert(name, entry.clone());
    }
    order
        .into_iter()
        .filter_map(|n| values.remove(&n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_merges_with_later_names_winning() {
        let base = vec!["PATH=/bin".to_owned(), "LANG=C".to_owned()];
        let own = vec!["APP=1".to_owned(), "PATH=/app/bin:/bin".to_owned()];
        assert_eq!(
            merge_env(&base, &own),
            vec!["PATH=/app/bin:/bin", "LANG=C", "APP=1"]
        );
    }
}
