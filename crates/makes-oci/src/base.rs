//! Base images (`fromImage`): an OCI image layout directory (what `pullImage` leaves in the
//! store), or an image archive, OCI (ours, `skopeo copy oci-archive:`) or docker (`docker
//! save`). Its layers are reused byte for byte, under the same digests; only its config's
//! `Env` is inherited, as dockerTools does.
//!
//! Archives are read in place (`base_archive`), never unpacked; a layout directory is read
//! without following symlinks. Every blob is checked against its digest and size, and every
//! layer's decompressed bytes against the config's diff_id (`base_verify`), unless the caller
//! knows a former build checked that same store path.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use makes_oci_model::media_types::{oci_layer, OCI_INDEX, OCI_LAYER_TAR, OCI_MANIFEST};
use makes_oci_model::{ArchiveIndex, ImageFiles};

use crate::base_source::{blob_name, invalid, mismatch, read_json, read_json_blob};
use crate::base_verify::{read_layer, LayerFacts};
use crate::blob::Digest;
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

/// How much of a base image to check as it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseCheck {
    /// Every blob against its digest and size, every layer's decompressed bytes against its
    /// diff_id: for an image makes has not checked before.
    Full,
    /// Only what reading costs nothing more: for a store path a former build checked (store
    /// paths never change once valid).
    CheckedBefore,
}

impl BaseImage {
    /// Reads the base image at `path`, checking it fully; archives have their layers copied
    /// into `scratch`, which must live as long as the returned value is used.
    pub fn open(path: &Path, scratch: &Path) -> Result<BaseImage, OciError> {
        Self::open_with(path, scratch, BaseCheck::Full)
    }

    /// [`BaseImage::open`] with the checks `check` asks for.
    pub fn open_with(path: &Path, scratch: &Path, check: BaseCheck) -> Result<BaseImage, OciError> {
        // Not followed: a symlink in the store (a path literal of one) may point anywhere.
        let meta = fs::symlink_metadata(path).map_err(OciError::io(path))?;
        if meta.file_type().is_symlink() {
            return Err(invalid(path, "a symlink, not an image archive or layout"));
        }
        if meta.is_dir() {
            let source = ImageFiles::Layout(path.to_owned());
            return open_layout(&source, path, check, scratch);
        }
        let layers_dir = scratch.join("base-image");
        fs::create_dir_all(&layers_dir).map_err(OciError::io(&layers_dir))?;
        let source = match gunzipped(path, &layers_dir)? {
            Some(tar) => ImageFiles::Archive(ArchiveIndex::read(&tar)?),
            None => ImageFiles::Archive(ArchiveIndex::read(path)?),
        };
        if source.has("index.json") {
            open_layout(&source, path, check, &layers_dir)
        } else if source.has("manifest.json") {
            open_docker_archive(&source, path, check, &layers_dir)
        } else {
            Err(invalid(
                path,
                "neither an OCI layout (index.json) nor a docker archive (manifest.json)",
            ))
        }
    }
}

/// A gzipped archive (`fromImage = ./base.tar.gz`, as nixpkgs' dockerTools takes it)
/// decompressed into `dir`, where its entries can be read in any order; `None` for an
/// archive that is not gzipped. The decompressed size is bounded by gzip's own ratio.
fn gunzipped(path: &Path, dir: &Path) -> Result<Option<PathBuf>, OciError> {
    let mut file = fs::File::open(path).map_err(OciError::io(path))?;
    let mut magic = [0u8; 2];
    let read = io::Read::read(&mut file, &mut magic).map_err(OciError::io(path))?;
    if read < 2 || magic != [0x1f, 0x8b] {
        return Ok(None);
    }
    let tar = dir.join("archive.tar");
    let file = fs::File::open(path).map_err(OciError::io(path))?;
    let mut decoder = flate2::read::MultiGzDecoder::new(io::BufReader::new(file));
    let mut out = io::BufWriter::new(fs::File::create(&tar).map_err(OciError::io(&tar))?);
    io::copy(&mut decoder, &mut out).map_err(|e| {
        invalid(
            path,
            format!("a gzipped archive that cannot be decompressed: {e}"),
        )
    })?;
    io::Write::flush(&mut out).map_err(OciError::io(&tar))?;
    Ok(Some(tar))
}

fn layer_media_type(media_type: &str, source: &Path) -> Result<&'static str, OciError> {
    oci_layer(media_type).ok_or_else(|| {
        invalid(
            source,
            format!("unsupported layer media type '{media_type}'"),
        )
    })
}

/// Reads a layer blob from `from` and checks what it is against what its manifest
/// (`digest`, `size`, when it names them) and config (`diff_id`) say. A layer of an archive
/// is copied to `copy_to` on the way; one of a layout directory stays where it is.
struct LayerCheck<'a> {
    source: &'a Path,
    name: String,
    media_type: Option<&'static str>,
    digest: Option<Digest>,
    size: Option<u64>,
    diff_id: Digest,
}

impl LayerCheck<'_> {
    fn read(
        &self,
        from: &ImageFiles,
        check: BaseCheck,
        copy_to: Option<&Path>,
    ) -> Result<LayerFacts, OciError> {
        let (reader, _) = from.open_file(&self.name)?;
        let copy: Option<Box<dyn io::Write>> = match copy_to {
            Some(path) => Some(Box::new(io::BufWriter::new(
                fs::File::create(path).map_err(OciError::io(path))?,
            ))),
            None => None,
        };
        let facts = read_layer(reader, self.media_type, copy, check == BaseCheck::Full)
            .map_err(|e| invalid(self.source, format!("layer {}: {e}", self.name)))?;
        let fail = |field, expected: String, found: String| {
            mismatch(self.source, "layer", &self.name, field, &expected, &found)
        };
        if let Some(size) = self.size.filter(|s| *s != facts.size) {
            return Err(fail("size", size.to_string(), facts.size.to_string()));
        }
        if let Some(digest) = self.digest.filter(|d| *d != facts.digest) {
            return Err(fail("digest", digest.to_string(), facts.digest.to_string()));
        }
        if let Some(e) = &facts.decode_error {
            return Err(invalid(
                self.source,
                format!("layer {}: cannot be decompressed: {e}", self.name),
            ));
        }
        if let Some(found) = facts.diff_id.filter(|d| *d != self.diff_id) {
            return Err(fail("diff_id", self.diff_id.to_string(), found.to_string()));
        }
        Ok(facts)
    }
}

/// An OCI layout: `index.json` names one image manifest (or an index holding one).
fn open_layout(
    from: &ImageFiles,
    source: &Path,
    check: BaseCheck,
    layers_dir: &Path,
) -> Result<BaseImage, OciError> {
    let (_, index) = read_json(from, "index.json", source)?;
    let mut manifest = first_manifest(&index, source)?;
    // Follow nested indexes (a pulled layout has none; skopeo's may).
    for _ in 0..4 {
        let media_type = manifest["mediaType"]
            .as_str()
            .unwrap_or(OCI_MANIFEST)
            .to_owned();
        let digest = manifest["digest"].as_str().unwrap_or_default().to_owned();
        let doc = read_json_blob(from, "manifest", &digest, source)?;
        if media_type == OCI_INDEX || media_type.ends_with("manifest.list.v2+json") {
            manifest = first_manifest(&doc, source)?;
            continue;
        }
        let config_digest = doc["config"]["digest"].as_str().unwrap_or_default();
        let config = read_json_blob(from, "config", config_digest, source)?;
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
                .map_err(|_| invalid(source, format!("bad layer digest '{digest_str}'")))?;
            let media_type =
                layer_media_type(desc["mediaType"].as_str().unwrap_or_default(), source)?;
            let name = blob_name(digest_str, source)?;
            let layer =
                LayerCheck {
                    source,
                    name: name.clone(),
                    media_type: Some(media_type),
                    digest: Some(digest),
                    size: Some(desc["size"].as_u64().ok_or_else(|| {
                        invalid(source, format!("layer {digest_str} has no size"))
                    })?),
                    diff_id,
                };
            let (blob, size) = match from {
                ImageFiles::Layout(dir) => {
                    let size = if check == BaseCheck::Full {
                        layer.read(from, check, None)?.size
                    } else {
                        from.open_file(&name)?.1
                    };
                    (dir.join(&name), size)
                }
                ImageFiles::Archive(_) => {
                    let copy = layers_dir.join(digest.hex());
                    let facts = layer.read(from, check, Some(&copy))?;
                    (copy, facts.size)
                }
            };
            layers.push(BaseLayer {
                media_type,
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
            Digest::parse(s).map_err(|_| invalid(source, format!("bad diff_id '{s}'")))
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
/// each layer file is hashed for its digest and, decompressed, checked against its diff_id.
fn open_docker_archive(
    from: &ImageFiles,
    source: &Path,
    check: BaseCheck,
    layers_dir: &Path,
) -> Result<BaseImage, OciError> {
    let (_, manifest) = read_json(from, "manifest.json", source)?;
    let entry = match manifest.as_array().map(Vec::as_slice) {
        Some([one]) => one,
        _ => {
            return Err(invalid(
                source,
                "manifest.json must describe exactly one image",
            ))
        }
    };
    let name_of = |key: &Value| -> Result<String, OciError> {
        match key.as_str() {
            Some(name) if !name.is_empty() => Ok(name.to_owned()),
            _ => Err(invalid(source, "manifest.json names a file with no name")),
        }
    };
    let (_, config) = read_json(from, &name_of(&entry["Config"])?, source)?;
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
    for (i, (file, diff_id)) in files.iter().zip(diff_ids).enumerate() {
        let layer = LayerCheck {
            source,
            name: name_of(file)?,
            media_type: None,
            digest: None,
            size: None,
            diff_id,
        };
        let copy = layers_dir.join(format!("layer-{i}"));
        // The diff_id of an uncompressed layer is its digest: always checked, it costs nothing.
        let facts = layer.read(from, check, Some(&copy))?;
        if facts.media_type == OCI_LAYER_TAR && facts.digest != diff_id {
            return Err(mismatch(
                source,
                "layer",
                &layer.name,
                "diff_id",
                &diff_id.to_string(),
                &facts.digest.to_string(),
            ));
        }
        layers.push(BaseLayer {
            media_type: facts.media_type,
            digest: facts.digest,
            diff_id,
            size: facts.size,
            blob: copy,
        });
    }
    Ok(BaseImage {
        source: source.to_owned(),
        layers,
        env: env_of(&config),
    })
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
    use makes_oci_model::media_types::OCI_LAYER_GZIP;

    #[test]
    fn env_merges_with_later_names_winning() {
        let base = vec!["PATH=/bin".to_owned(), "LANG=C".to_owned()];
        let own = vec!["APP=1".to_owned(), "PATH=/app/bin:/bin".to_owned()];
        assert_eq!(
            merge_env(&base, &own),
            vec!["PATH=/app/bin:/bin", "LANG=C", "APP=1"]
        );
    }

    /// One gzip layer holding `file`, as (blob, diff_id).
    fn gzip_layer() -> (Vec<u8>, Digest) {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "file", &b"hi"[..])
            .unwrap();
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar).unwrap();
        (gz.finish().unwrap(), Digest::of(&tar))
    }

    /// What to spoil in a test archive.
    #[derive(Clone, Copy, PartialEq)]
    enum Spoil {
        Nothing,
        BlobBytes,
        DiffId,
        Size,
    }

    fn tar_of(files: &[(String, Vec<u8>)]) -> tempfile::NamedTempFile {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, bytes.as_slice())
                .unwrap();
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), builder.into_inner().unwrap()).unwrap();
        file
    }

    fn oci_archive(spoil: Spoil) -> tempfile::NamedTempFile {
        let (mut blob, mut diff_id) = gzip_layer();
        let digest = Digest::of(&blob);
        let mut size = blob.len();
        match spoil {
            Spoil::BlobBytes => {
                let at = blob.len() - 5;
                blob[at] ^= 1;
            }
            Spoil::DiffId => diff_id = Digest::of(b"other"),
            Spoil::Size => size += 1,
            Spoil::Nothing => {}
        }
        let config = serde_json::to_vec(&serde_json::json!({
            "rootfs": { "type": "layers", "diff_ids": [diff_id.to_string()] },
            "config": { "Env": ["A=1"] },
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "config": { "digest": Digest::of(&config).to_string(), "size": config.len() },
            "layers": [{ "mediaType": OCI_LAYER_GZIP, "digest": digest.to_string(), "size": size }],
        }))
        .unwrap();
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{ "mediaType": OCI_MANIFEST,
                            "digest": Digest::of(&manifest).to_string(), "size": manifest.len() }],
        }))
        .unwrap();
        let blob_file = |b: &[u8]| format!("blobs/sha256/{}", Digest::of(b).hex());
        tar_of(&[
            ("index.json".into(), index),
            (blob_file(&manifest), manifest.clone()),
            (blob_file(&config), config.clone()),
            (format!("blobs/sha256/{}", digest.hex()), blob),
        ])
    }

    fn docker_archive(spoil: Spoil) -> tempfile::NamedTempFile {
        let (blob, mut diff_id) = gzip_layer();
        if spoil == Spoil::DiffId {
            diff_id = Digest::of(b"other");
        }
        let config = serde_json::to_vec(&serde_json::json!({
            "rootfs": { "type": "layers", "diff_ids": [diff_id.to_string()] },
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&serde_json::json!([
            { "Config": "config.json", "Layers": ["abc/layer.tar"] }
        ]))
        .unwrap();
        tar_of(&[
            ("manifest.json".into(), manifest),
            ("config.json".into(), config),
            ("abc/layer.tar".into(), blob),
        ])
    }

    #[test]
    fn honest_archives_open_and_their_layers_are_copied_out() {
        for archive in [oci_archive(Spoil::Nothing), docker_archive(Spoil::Nothing)] {
            let scratch = tempfile::tempdir().unwrap();
            let image = BaseImage::open(archive.path(), scratch.path()).unwrap();
            let layer = &image.layers[0];
            assert_eq!(layer.media_type, OCI_LAYER_GZIP);
            assert_eq!(layer.diff_id, gzip_layer().1);
            assert_eq!(Digest::of(&fs::read(&layer.blob).unwrap()), layer.digest);
            assert!(layer.blob.starts_with(scratch.path()));
        }
    }

    #[test]
    fn a_gzipped_docker_archive_opens_as_the_archive_does() {
        let archive = docker_archive(Spoil::Nothing);
        let mut gz = tempfile::NamedTempFile::new().unwrap();
        let mut encoder = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::fast());
        io::Write::write_all(&mut encoder, &fs::read(archive.path()).unwrap()).unwrap();
        encoder.finish().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let image = BaseImage::open(gz.path(), scratch.path()).unwrap();
        assert_eq!(image.layers.len(), 1);
        assert_eq!(image.layers[0].diff_id, gzip_layer().1);
        // Gzip that is not a gzipped archive is refused, naming the file.
        let mut broken = tempfile::NamedTempFile::new().unwrap();
        io::Write::write_all(&mut broken, &[0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
        let err = match BaseImage::open(broken.path(), scratch.path()) {
            Ok(_) => panic!("a broken gzip stream is refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("cannot be decompressed"), "{err}");
    }

    #[test]
    fn tampered_archives_are_refused_naming_the_layer_and_both_digests() {
        let cases = [
            (oci_archive(Spoil::BlobBytes), "has digest"),
            (oci_archive(Spoil::DiffId), "has diff_id"),
            (oci_archive(Spoil::Size), "has size"),
            (docker_archive(Spoil::DiffId), "has diff_id"),
        ];
        for (archive, what) in cases {
            let scratch = tempfile::tempdir().unwrap();
            let err = BaseImage::open(archive.path(), scratch.path())
                .unwrap_err()
                .to_string();
            assert!(err.contains(what), "{err}");
            assert!(err.contains("layer"), "{err}");
            assert!(err.contains(&archive.path().display().to_string()), "{err}");
            assert!(
                err.matches("sha256:").count() >= 2 || what == "has size",
                "{err}"
            );
        }
    }

    #[test]
    fn a_checked_before_base_skips_the_diff_id_but_not_the_digest() {
        let scratch = tempfile::tempdir().unwrap();
        let archive = oci_archive(Spoil::DiffId);
        BaseImage::open_with(archive.path(), scratch.path(), BaseCheck::CheckedBefore).unwrap();
        let archive = oci_archive(Spoil::BlobBytes);
        assert!(
            BaseImage::open_with(archive.path(), scratch.path(), BaseCheck::CheckedBefore).is_err()
        );
    }

    #[test]
    fn a_symlink_to_an_archive_is_refused() {
        let archive = oci_archive(Spoil::Nothing);
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(archive.path(), &link).unwrap();
        let err = BaseImage::open(&link, dir.path()).unwrap_err().to_string();
        assert!(err.contains("a symlink"), "{err}");
    }

    #[test]
    fn a_layout_directory_with_a_symlinked_blob_is_refused() {
        let archive = oci_archive(Spoil::Nothing);
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("tar")
            .arg("-xf")
            .arg(archive.path())
            .arg("-C")
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        BaseImage::open(dir.path(), dir.path()).unwrap();
        let blobs = dir.path().join("blobs");
        fs::rename(&blobs, dir.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink("elsewhere", &blobs).unwrap();
        let err = BaseImage::open(dir.path(), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("blobs"), "{err}");
    }
}
