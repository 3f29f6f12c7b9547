//! Pushing a manifest list (a multi-platform image) made of images already in the registry, as
//! makes' `deployContainerManifest` does with manifest-tool's `push from-spec`: each named
//! image's manifest is looked up (it must be an image manifest, not an index), copied into the
//! list's repository when it lives in another one of the same registry (its blobs mounted, or
//! copied when the registry will not mount them), and listed with the platform the spec gives.
//! The list is a Docker manifest list when every entry is a Docker manifest, else an OCI index
//! (manifest-tool's choice), and is put under the list's tag and each extra tag.

use std::io::Read as _;

use serde::Serialize;

use crate::client::RegistryClient;
use crate::error::RegistryError;
use crate::manifest::{parse_manifest, Parsed};
use crate::pull::fetch_manifest;
use crate::push::{blob_exists, put_manifest, upload_location};
use crate::reference::Reference;
use crate::session::{Body, Failure, Session, Target};
use makes_http::LimitedRead;
use makes_oci_model::media_types::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX};
use makes_oci_model::{Descriptor, Digest, HashingReader, Platform};

/// One image of a manifest list and the platform it is listed for.
#[derive(Debug, Clone)]
pub struct ListEntry {
    pub image: Reference,
    pub platform: Platform,
}

/// What pushing a manifest list did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSummary {
    /// The digest of the list.
    pub digest: Digest,
    /// Its media type (Docker manifest list or OCI index).
    pub media_type: String,
    /// The references it was put under, the list's own first.
    pub references: Vec<String>,
}

#[derive(Serialize)]
struct ManifestList<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    manifests: &'a [Descriptor],
}

impl RegistryClient {
    /// Puts a manifest list of `entries` under `target` and under each of `extra_tags` in
    /// `target`'s repository. Every entry must be in `target`'s registry.
    pub fn push_manifest_list(
        &self,
        target: &Reference,
        extra_tags: &[String],
        entries: &[ListEntry],
    ) -> Result<ListSummary, RegistryError> {
        let session = Session::new(
            self,
            target.registry(),
            target.api_host(),
            target.repository(),
            "pull,push",
        );
        let mut descriptors = Vec::with_capacity(entries.len());
        for entry in entries {
            if entry.image.registry() != target.registry() {
                return Err(RegistryError::InvalidReference {
                    input: entry.image.to_string(),
                    reason: format!(
                        "the images of a manifest list must be in its registry, {}",
                        target.registry()
                    ),
                });
            }
            let mut descriptor = listed_manifest(self, &session, &entry.image)?;
            descriptor.platform = Some(entry.platform.clone());
            descriptors.push(descriptor);
        }
        let media_type = list_media_type(&descriptors);
        let list = serde_json::to_vec_pretty(&ManifestList {
            schema_version: 2,
            media_type,
            manifests: &descriptors,
        })
        .map_err(|e| RegistryError::InvalidManifest {
            reference: target.to_string(),
            what: "manifest list".into(),
            reason: e.to_string(),
        })?;
        let mut references = Vec::new();
        let own_tag = target
            .tag()
            .map(str::to_owned)
            .unwrap_or_else(|| Digest::of(&list).to_string());
        for tag in std::iter::once(&own_tag).chain(extra_tags) {
            put_manifest(&session, &list, media_type, tag)?;
            references.push(format!(
                "{}/{}:{tag}",
                target.registry(),
                target.repository()
            ));
        }
        Ok(ListSummary {
            digest: Digest::of(&list),
            media_type: media_type.to_owned(),
            references,
        })
    }
}

/// A Docker manifest list of Docker manifests; an OCI index otherwise.
fn list_media_type(entries: &[Descriptor]) -> &'static str {
    if !entries.is_empty() && entries.iter().all(|d| d.media_type == DOCKER_MANIFEST) {
        DOCKER_MANIFEST_LIST
    } else {
        OCI_INDEX
    }
}

/// The descriptor of `image`'s manifest, which is made present in `session`'s repository.
fn listed_manifest(
    client: &RegistryClient,
    session: &Session<'_>,
    image: &Reference,
) -> Result<Descriptor, RegistryError> {
    let source = Session::new(
        client,
        image.registry(),
        image.api_host(),
        image.repository(),
        "pull",
    );
    let fetched = fetch_manifest(&source, &image.manifest_reference(), image.digest())?;
    let shown = image.to_string();
    let parsed = parse_manifest(&fetched.bytes, fetched.content_type.as_deref(), &shown)?;
    let Parsed::Image {
        media_type,
        config,
        layers,
    } = parsed
    else {
        return Err(RegistryError::InvalidManifest {
            reference: shown,
            what: "manifest list entry".into(),
            reason: "it is itself an index or manifest list; a manifest list names the \
                     manifest of one image per platform"
                .into(),
        });
    };
    if image.repository() != session.repository {
        for blob in std::iter::once(&config).chain(&layers) {
            if !blob_exists(session, &blob.digest)? {
                copy_blob(&source, session, blob)?;
            }
        }
        put_manifest(
            session,
            &fetched.bytes,
            &media_type,
            &fetched.digest.to_string(),
        )?;
    }
    Ok(Descriptor::new(
        &media_type,
        &fetched.digest,
        fetched.bytes.len() as u64,
    ))
}

/// Makes `blob` of `from`'s repository present in `to`'s: mounted when the registry allows it
/// (`201 Created`), else streamed from one to the other and checked against its digest.
fn copy_blob(from: &Session<'_>, to: &Session<'_>, blob: &Descriptor) -> Result<(), RegistryError> {
    let reference = blob.digest.to_string();
    let mount = format!(
        "/v2/{}/blobs/uploads/?mount={reference}&from={}",
        to.repository, from.repository
    );
    to.retry(|| {
        let response = to.send(
            "POST",
            Target::Path(&mount),
            &[],
            Body::Bytes(&[]),
            &reference,
        )?;
        match response.status() {
            201 => Ok(()),
            202 => {
                let mut location = upload_location(&response, &reference, to)?;
                location.query_pairs_mut().append_pair("digest", &reference);
                stream_blob(from, to, blob, &location)
            }
            _ => Err(Failure::fatal(to.status_error(
                response,
                "POST blob mount",
                "repository",
                &reference,
            ))),
        }
    })
}

/// `GET` of `blob` from `from`, sent as the `PUT` of the upload at `location` of `to`.
fn stream_blob(
    from: &Session<'_>,
    to: &Session<'_>,
    blob: &Descriptor,
    location: &url::Url,
) -> Result<(), Failure> {
    let reference = blob.digest.to_string();
    let path = format!("/v2/{}/blobs/{reference}", from.repository);
    let response = from.send("GET", Target::Path(&path), &[], Body::Empty, &reference)?;
    if response.status() != 200 {
        return Err(Failure::fatal(
            from.status_error(response, "GET blob", "blob", &reference),
        ));
    }
    let mut hashing = HashingReader::new(from.body(response).take(blob.size));
    let mut limited = LimitedRead::new(&mut hashing, to.limits());
    let response = to.send(
        "PUT",
        Target::Url(location),
        &[("Content-Type", "application/octet-stream")],
        Body::Stream(&mut limited, blob.size),
        &reference,
    );
    let (found, read) = hashing.finish();
    if read == blob.size && found != blob.digest {
        return Err(Failure::fatal(RegistryError::DigestMismatch {
            what: "blob".into(),
            repository: from.repository.clone(),
            expected: reference,
            found: found.to_string(),
        }));
    }
    let response = response?;
    match response.status() {
        201 | 204 => Ok(()),
        _ => Err(Failure::fatal(
            to.status_error(response, "PUT blob", "upload", &reference),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use makes_oci_model::media_types::OCI_MANIFEST;

    #[test]
    fn the_list_is_docker_for_docker_manifests_only() {
        let docker = Descriptor::new(DOCKER_MANIFEST, &Digest::of(b"a"), 1);
        let oci = Descriptor::new(OCI_MANIFEST, &Digest::of(b"b"), 1);
        assert_eq!(
            list_media_type(std::slice::from_ref(&docker)),
            DOCKER_MANIFEST_LIST
        );
        assert_eq!(list_media_type(&[docker, oci.clone()]), OCI_INDEX);
        assert_eq!(list_media_type(&[oci]), OCI_INDEX);
    }

    #[test]
    fn the_list_is_written_with_platforms_in_the_specifications_key_order() {
        let mut entry = Descriptor::new(OCI_MANIFEST, &Digest::of(b"a"), 7);
        entry.platform = Some(Platform::new("linux", "arm64", None));
        let json = serde_json::to_string(&ManifestList {
            schema_version: 2,
            media_type: OCI_INDEX,
            manifests: &[entry],
        })
        .expect("json");
        assert!(json.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType""#), "{json}");
        assert!(
            json.ends_with(r#""size":7,"platform":{"os":"linux","architecture":"arm64"}}]}"#),
            "{json}"
        );
    }
}
