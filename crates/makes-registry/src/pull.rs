//! Pulling an image into an OCI image layout directory (dockerTools.pullImage's job).
//!
//! The manifest is fetched by digest when one is given and must hash to it; an index or
//! manifest list is resolved to the manifest of the wanted platform (which must hash to its
//! index entry's digest); then the config and each layer are streamed into the layout,
//! verified. Media types are kept as the registry serves them (Docker schema 2 included), so
//! the blobs are reused byte for byte.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::client::RegistryClient;
use crate::error::RegistryError;
use crate::layout::{BlobId, LayoutDir};
use crate::manifest::{
    config_diff_ids, parse_manifest, select_platform, Parsed, ACCEPT_MANIFESTS, MAX_MANIFEST_BYTES,
};
use crate::reference::Reference;
use crate::session::{Body, Failure, Session, Target};
use makes_oci_model::Digest;
use makes_oci_model::Platform;

/// A pulled image: where it is and what it is made of.
#[derive(Debug, Clone)]
pub struct PulledImage {
    /// The reference pinned to the image manifest's digest.
    pub reference: Reference,
    /// The digest of the platform's image manifest (the one `index.json` names).
    pub manifest_digest: Digest,
    pub manifest_media_type: String,
    /// The digest of the index or manifest list the manifest was selected from, if any.
    pub index_digest: Option<Digest>,
    pub config_digest: Digest,
    /// The image config, as served.
    pub config: Vec<u8>,
    /// The layers, bottom first.
    pub layers: Vec<PulledLayer>,
    /// The OCI image layout directory.
    pub layout_dir: PathBuf,
    /// How many blobs were downloaded (the others were already in the layout, verified).
    pub downloaded_blobs: usize,
}

/// A layer as the manifest describes it, with its diff_id from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledLayer {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    /// The sha256 of the uncompressed layer (`rootfs.diff_ids`).
    pub diff_id: Digest,
}

impl RegistryClient {
    /// Pulls `reference` for `platform` into the OCI image layout `dest_dir` (created if
    /// needed; blobs already there are reused when they verify).
    ///
    /// With `expected_digest` (or a digest in the reference) the manifest is fetched by digest
    /// and must hash to it; it may be an index or manifest list, from which `platform`'s
    /// manifest is taken. On error, `dest_dir` holds no `index.json` written by this call, no
    /// temporary file, and only blobs that were verified.
    pub fn pull(
        &self,
        reference: &Reference,
        expected_digest: Option<&Digest>,
        platform: &Platform,
        dest_dir: &Path,
    ) -> Result<PulledImage, RegistryError> {
        let pinned = match (expected_digest, reference.digest()) {
            (Some(e), Some(d)) if e != d => {
                return Err(RegistryError::InvalidReference {
                    input: reference.to_string(),
                    reason: format!("its digest differs from the expected digest {e}"),
                })
            }
            (Some(e), _) | (None, Some(e)) => Some(*e),
            (None, None) => None,
        };
        let session = Session::new(
            self,
            reference.registry(),
            reference.api_host(),
            reference.repository(),
            "pull",
        );
        let shown = reference.to_string();
        let wanted = match &pinned {
            Some(d) => d.to_string(),
            None => reference.manifest_reference(),
        };
        let fetched = fetch_manifest(&session, &wanted, pinned.as_ref())?;
        let (manifest, index_digest) =
            match parse_manifest(&fetched.bytes, fetched.content_type.as_deref(), &shown)? {
                Parsed::Image { .. } => (fetched, None),
                Parsed::Index { manifests, .. } => {
                    let entry = select_platform(&manifests, platform, &shown)?;
                    let child =
                        fetch_manifest(&session, &entry.digest.to_string(), Some(&entry.digest))?;
                    if child.bytes.len() as u64 != entry.size {
                        return Err(RegistryError::SizeMismatch {
                            what: "manifest".into(),
                            repository: session.repository.clone(),
                            digest: entry.digest.to_string(),
                            expected: entry.size,
                            found: child.bytes.len() as u64,
                        });
                    }
                    (child, Some(fetched.digest))
                }
            };
        let (media_type, config, layers) =
            match parse_manifest(&manifest.bytes, manifest.content_type.as_deref(), &shown)? {
                Parsed::Image {
                    media_type,
                    config,
                    layers,
                } => (media_type, config, layers),
                Parsed::Index { .. } => {
                    return Err(RegistryError::InvalidManifest {
                        reference: shown,
                        what: "index".into(),
                        reason: "the platform's entry is itself an index".into(),
                    })
                }
            };

        let layout = LayoutDir::create(dest_dir)?;
        let mut downloaded = 0;
        let mut fetch = |what: &str, digest: &Digest, size: u64| -> Result<(), RegistryError> {
            if layout.has_blob(digest, size)? {
                return Ok(());
            }
            let id = BlobId {
                what,
                repository: &session.repository,
                digest,
                size,
            };
            fetch_blob(&session, &layout, &id)?;
            downloaded += 1;
            Ok(())
        };
        fetch("config", &config.digest, config.size)?;
        let config_path = layout.blob_path(&config.digest);
        let config_bytes = std::fs::read(&config_path).map_err(RegistryError::io(&config_path))?;
        let diff_ids = config_diff_ids(&config_bytes, &shown)?;
        if diff_ids.len() != layers.len() {
            return Err(RegistryError::InvalidManifest {
                reference: shown,
                what: "image config".into(),
                reason: format!("{} diff_ids for {} layers", diff_ids.len(), layers.len()),
            });
        }
        for layer in &layers {
            fetch("layer", &layer.digest, layer.size)?;
        }
        layout.write_verified_bytes(&manifest.digest, &manifest.bytes)?;

        let mut entry = json!({
            "mediaType": media_type,
            "digest": manifest.digest.to_string(),
            "size": manifest.bytes.len(),
        });
        if let Some(tag) = reference.tag() {
            entry["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
        }
        let index = json!({
            "schemaVersion": 2,
            "mediaType": makes_oci_model::media_types::OCI_INDEX,
            "manifests": [entry],
        });
        let index_json =
            serde_json::to_vec(&index).map_err(|e| RegistryError::InvalidManifest {
                reference: shown.clone(),
                what: "index.json".into(),
                reason: e.to_string(),
            })?;
        layout.write_index(&index_json)?;

        Ok(PulledImage {
            reference: reference.with_digest(manifest.digest),
            manifest_digest: manifest.digest,
            manifest_media_type: media_type,
            index_digest,
            config_digest: config.digest,
            config: config_bytes,
            layers: layers
                .into_iter()
                .zip(diff_ids)
                .map(|(l, diff_id)| PulledLayer {
                    media_type: l.media_type,
                    digest: l.digest,
                    size: l.size,
                    diff_id,
                })
                .collect(),
            layout_dir: dest_dir.to_path_buf(),
            downloaded_blobs: downloaded,
        })
    }
}

pub(crate) struct FetchedManifest {
    pub(crate) bytes: Vec<u8>,
    pub(crate) content_type: Option<String>,
    pub(crate) digest: Digest,
}

/// `GET /v2/<name>/manifests/<reference>`; by digest, the bytes must hash to it; by tag, to the
/// `Docker-Content-Digest` the registry announces, if it announces one.
pub(crate) fn fetch_manifest(
    session: &Session<'_>,
    reference: &str,
    pinned: Option<&Digest>,
) -> Result<FetchedManifest, RegistryError> {
    let path = format!("/v2/{}/manifests/{reference}", session.repository);
    let (bytes, content_type, announced) = session.retry(|| {
        let response = session.send(
            "GET",
            Target::Path(&path),
            &[("Accept", ACCEPT_MANIFESTS)],
            Body::Empty,
            reference,
        )?;
        if response.status() != 200 {
            return Err(Failure::fatal(session.status_error(
                response,
                "GET manifest",
                "manifest",
                reference,
            )));
        }
        let content_type = response.header("content-type").map(str::to_string);
        let announced = response.header("docker-content-digest").map(str::to_string);
        let mut bytes = Vec::new();
        session
            .body(response)
            .take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| session.broken_transfer("GET manifest", "manifest", reference, &e))?;
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(Failure::fatal(RegistryError::InvalidManifest {
                reference: reference.to_string(),
                what: "manifest".into(),
                reason: format!("larger than {MAX_MANIFEST_BYTES} bytes"),
            }));
        }
        Ok((bytes, content_type, announced))
    })?;
    let digest = Digest::of(&bytes);
    let expected = match pinned {
        Some(d) => Some(d.to_string()),
        None => announced.filter(|a| a.starts_with("sha256:")),
    };
    if let Some(expected) = expected {
        if expected != digest.to_string() {
            return Err(RegistryError::DigestMismatch {
                what: "manifest".into(),
                repository: session.repository.clone(),
                expected,
                found: digest.to_string(),
            });
        }
    }
    Ok(FetchedManifest {
        bytes,
        content_type,
        digest,
    })
}

/// `GET /v2/<name>/blobs/<digest>` streamed into the layout, verified; retried when the
/// transfer breaks.
fn fetch_blob(
    session: &Session<'_>,
    layout: &LayoutDir,
    id: &BlobId<'_>,
) -> Result<(), RegistryError> {
    let path = format!("/v2/{}/blobs/{}", session.repository, id.digest);
    let reference = id.digest.to_string();
    let operation = format!("GET {}", id.what);
    session.retry(|| {
        let response = session.send("GET", Target::Path(&path), &[], Body::Empty, &reference)?;
        if response.status() != 200 {
            return Err(Failure::fatal(
                session.status_error(response, &operation, id.what, &reference),
            ));
        }
        let mut reader = session.body(response);
        layout.write_blob(&mut reader, id, &|e| {
            session.broken_transfer(&operation, id.what, &reference, e)
        })
    })
}
