//! Pushing an image (an OCI layout directory or makes' archive) to a registry.
//!
//! Every blob the manifest names is checked with `HEAD` first and skipped when the registry
//! has it; the others are uploaded monolithically (`POST /blobs/uploads/`, then `PUT` to the
//! `Location` with `?digest=`), hashed as they stream so that a corrupt local blob is named as
//! such. Then the manifest is put under the tag (or its digest). An index is pushed as its
//! manifests first, by digest, then the index itself.

use url::Url;

use crate::client::RegistryClient;
use crate::error::RegistryError;
use crate::manifest::{parse_manifest, Parsed, MAX_MANIFEST_BYTES};
use crate::reference::Reference;
use crate::session::{Body, Failure, Session, Target};
use crate::source::{ImageSource, OpenSource};
use makes_http::LimitedRead;
use makes_oci_model::media_types::{ANNOTATION_REF_NAME, OCI_INDEX};
use makes_oci_model::{Digest, HashingReader};

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSummary {
    /// The digest of the manifest (or index) put under the reference.
    pub manifest_digest: Digest,
    /// Blobs uploaded, in order.
    pub uploaded: Vec<Digest>,
    /// Blobs the registry already had.
    pub skipped: Vec<Digest>,
    /// Bytes of the uploaded blobs.
    pub bytes_uploaded: u64,
}

impl RegistryClient {
    /// Pushes the image that `source`'s `index.json` names to `reference`: its only manifest,
    /// or the one whose `org.opencontainers.image.ref.name` is the reference's tag.
    pub fn push(
        &self,
        source: &ImageSource,
        reference: &Reference,
    ) -> Result<PushSummary, RegistryError> {
        let open = OpenSource::open(source)?;
        let index = open.read_small("index.json", MAX_MANIFEST_BYTES)?;
        let shown = source.path().display().to_string();
        let entries = match parse_manifest(&index, Some(OCI_INDEX), &shown)? {
            Parsed::Index { manifests, .. } => manifests,
            Parsed::Image { .. } => {
                return Err(invalid(&open, "index.json is a manifest, not an index"));
            }
        };
        let names: Vec<Option<&str>> = entries
            .iter()
            .map(|e| e.annotations.get(ANNOTATION_REF_NAME).map(String::as_str))
            .collect();
        let chosen = if entries.len() == 1 {
            &entries[0]
        } else {
            let tag = reference.tag().unwrap_or("latest");
            let pos = names.iter().position(|n| {
                n.is_some_and(|n| n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
            });
            match pos {
                Some(i) => &entries[i],
                None => {
                    return Err(invalid(
                        &open,
                        &format!(
                            "index.json has {} manifests and none is named {tag:?}",
                            entries.len()
                        ),
                    ))
                }
            }
        };
        let manifest = open.read_small(&chosen.digest.layout_path(), MAX_MANIFEST_BYTES)?;
        if Digest::of(&manifest) != chosen.digest {
            return Err(RegistryError::DigestMismatch {
                what: "local manifest".into(),
                repository: shown,
                expected: chosen.digest.to_string(),
                found: Digest::of(&manifest).to_string(),
            });
        }
        push_from(self, &open, &manifest, Some(&chosen.media_type), reference)
    }

    /// Pushes `manifest` (an image manifest or an index), taking every blob and child manifest
    /// it names from `source`, and puts it under `reference`'s tag (or its digest).
    pub fn push_manifest(
        &self,
        source: &ImageSource,
        manifest: &[u8],
        reference: &Reference,
    ) -> Result<PushSummary, RegistryError> {
        let open = OpenSource::open(source)?;
        push_from(self, &open, manifest, None, reference)
    }
}

fn invalid(open: &OpenSource, reason: &str) -> RegistryError {
    RegistryError::InvalidSource {
        path: open.path().to_path_buf(),
        reason: reason.to_string(),
    }
}

fn push_from(
    client: &RegistryClient,
    open: &OpenSource,
    manifest: &[u8],
    media_type_hint: Option<&str>,
    reference: &Reference,
) -> Result<PushSummary, RegistryError> {
    let digest = Digest::of(manifest);
    if let Some(d) = reference.digest() {
        if *d != digest {
            return Err(RegistryError::InvalidReference {
                input: reference.to_string(),
                reason: format!("the manifest to push has digest {digest}"),
            });
        }
    }
    let session = Session::new(
        client,
        reference.registry(),
        reference.api_host(),
        reference.repository(),
        "pull,push",
    );
    let mut summary = PushSummary {
        manifest_digest: digest,
        uploaded: Vec::new(),
        skipped: Vec::new(),
        bytes_uploaded: 0,
    };
    let target = match reference.tag() {
        Some(tag) => tag.to_string(),
        None => digest.to_string(),
    };
    push_one(
        &session,
        open,
        manifest,
        media_type_hint,
        &target,
        &mut summary,
    )?;
    Ok(summary)
}

/// Pushes the blobs (or child manifests) of `manifest`, then `manifest` under `target`.
fn push_one(
    session: &Session<'_>,
    open: &OpenSource,
    manifest: &[u8],
    media_type_hint: Option<&str>,
    target: &str,
    summary: &mut PushSummary,
) -> Result<(), RegistryError> {
    let shown = format!("{}/{}:{target}", session.registry, session.repository);
    let media_type = match parse_manifest(manifest, media_type_hint, &shown)? {
        Parsed::Image {
            media_type,
            config,
            layers,
        } => {
            for blob in std::iter::once(&config).chain(&layers) {
                if summary.uploaded.contains(&blob.digest) || summary.skipped.contains(&blob.digest)
                {
                    continue;
                }
                if blob_exists(session, &blob.digest)? {
                    summary.skipped.push(blob.digest);
                } else {
                    upload_blob(session, open, &blob.digest, blob.size)?;
                    summary.uploaded.push(blob.digest);
                    summary.bytes_uploaded += blob.size;
                }
            }
            media_type
        }
        Parsed::Index {
            media_type,
            manifests,
        } => {
            for child in &manifests {
                let bytes = open.read_small(&child.digest.layout_path(), MAX_MANIFEST_BYTES)?;
                if Digest::of(&bytes) != child.digest {
                    return Err(RegistryError::DigestMismatch {
                        what: "local manifest".into(),
                        repository: open.path().display().to_string(),
                        expected: child.digest.to_string(),
                        found: Digest::of(&bytes).to_string(),
                    });
                }
                let hint = Some(child.media_type.as_str()).filter(|m| !m.is_empty());
                push_one(
                    session,
                    open,
                    &bytes,
                    hint,
                    &child.digest.to_string(),
                    summary,
                )?;
            }
            media_type
        }
    };
    put_manifest(session, manifest, &media_type, target)
}

pub(crate) fn blob_exists(session: &Session<'_>, digest: &Digest) -> Result<bool, RegistryError> {
    let path = format!("/v2/{}/blobs/{digest}", session.repository);
    let reference = digest.to_string();
    session.retry(|| {
        let response = session.send("HEAD", Target::Path(&path), &[], Body::Empty, &reference)?;
        match response.status() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(Failure::fatal(session.status_error(
                response,
                "HEAD blob",
                "blob",
                &reference,
            ))),
        }
    })
}

fn upload_blob(
    session: &Session<'_>,
    open: &OpenSource,
    digest: &Digest,
    size: u64,
) -> Result<(), RegistryError> {
    let start_path = format!("/v2/{}/blobs/uploads/", session.repository);
    let reference = digest.to_string();
    session.retry(|| {
        let response = session.send(
            "POST",
            Target::Path(&start_path),
            &[],
            Body::Bytes(&[]),
            &reference,
        )?;
        if response.status() != 202 {
            return Err(Failure::fatal(session.status_error(
                response,
                "POST blob upload",
                "repository",
                &reference,
            )));
        }
        let mut location = upload_location(&response, &reference, session)?;
        location.query_pairs_mut().append_pair("digest", &reference);

        let (reader, local_size) = open.open_blob(digest)?;
        if local_size != size {
            return Err(Failure::fatal(RegistryError::SizeMismatch {
                what: "local blob".into(),
                repository: open.path().display().to_string(),
                digest: reference.clone(),
                expected: size,
                found: local_size,
            }));
        }
        let mut hashing = HashingReader::new(reader);
        let mut limited = LimitedRead::new(&mut hashing, session.limits());
        let response = session.send(
            "PUT",
            Target::Url(&location),
            &[("Content-Type", "application/octet-stream")],
            Body::Stream(&mut limited, size),
            &reference,
        );
        let (found, read) = hashing.finish();
        if read == size && found != *digest {
            // Whatever the registry said, the local blob is what is wrong.
            return Err(Failure::fatal(RegistryError::DigestMismatch {
                what: "local blob".into(),
                repository: open.path().display().to_string(),
                expected: reference.clone(),
                found: found.to_string(),
            }));
        }
        let response = response?;
        match response.status() {
            201 | 204 => Ok(()),
            _ => Err(Failure::fatal(
                session.status_error(response, "PUT blob", "upload", &reference),
            )),
        }
    })
}

/// The upload URL from `Location`, relative to the request's URL or absolute.
pub(crate) fn upload_location(
    response: &ureq::Response,
    reference: &str,
    session: &Session<'_>,
) -> Result<Url, Failure> {
    let missing = |why: String| {
        Failure::fatal(RegistryError::HttpStatus {
            registry: session.registry.clone(),
            repository: session.repository.clone(),
            reference: reference.to_string(),
            operation: "POST blob upload".into(),
            status: response.status(),
            tries: 1,
            detail: why,
        })
    };
    let location = response
        .header("location")
        .ok_or_else(|| missing("the answer has no Location header".into()))?;
    let base = Url::parse(response.get_url()).map_err(|e| missing(format!("request URL: {e}")))?;
    base.join(location)
        .map_err(|e| missing(format!("invalid Location {location:?}: {e}")))
}

pub(crate) fn put_manifest(
    session: &Session<'_>,
    manifest: &[u8],
    media_type: &str,
    target: &str,
) -> Result<(), RegistryError> {
    let path = format!("/v2/{}/manifests/{target}", session.repository);
    let expected = Digest::of(manifest);
    let announced = session.retry(|| {
        let response = session.send(
            "PUT",
            Target::Path(&path),
            &[("Content-Type", media_type)],
            Body::Bytes(manifest),
            target,
        )?;
        match response.status() {
            200..=299 => Ok(response.header("docker-content-digest").map(str::to_string)),
            _ => Err(Failure::fatal(session.status_error(
                response,
                "PUT manifest",
                "repository",
                target,
            ))),
        }
    })?;
    if let Some(announced) = announced.filter(|a| a.starts_with("sha256:")) {
        if announced != expected.to_string() {
            return Err(RegistryError::DigestMismatch {
                what: "pushed manifest".into(),
                repository: session.repository.clone(),
                expected: expected.to_string(),
                found: announced,
            });
        }
    }
    Ok(())
}
