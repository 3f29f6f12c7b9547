//! The media types and annotation keys makes reads and writes: the OCI image specification's,
//! and Docker's schema 2 equivalents, which registries still serve and whose bytes are the
//! same.

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";

/// The `Accept` header for manifest requests: every kind of manifest and index makes reads.
pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// The tag of a manifest in an `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The full name containerd gives an image it imports from an archive.
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

/// The content of `oci-layout`, the file that marks a directory as an OCI image layout.
pub const OCI_LAYOUT_JSON: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// Whether `media_type` is an index (OCI) or a manifest list (Docker).
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// The OCI layer media type of the same bytes as `media_type` (OCI or Docker), if it is a
/// layer makes reads.
pub fn oci_layer(media_type: &str) -> Option<&'static str> {
    match media_type {
        OCI_LAYER_TAR | DOCKER_LAYER_TAR => Some(OCI_LAYER_TAR),
        OCI_LAYER_GZIP | DOCKER_LAYER_GZIP => Some(OCI_LAYER_GZIP),
        OCI_LAYER_ZSTD | DOCKER_LAYER_ZSTD => Some(OCI_LAYER_ZSTD),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_layers_map_to_oci_ones() {
        assert_eq!(oci_layer(DOCKER_LAYER_GZIP), Some(OCI_LAYER_GZIP));
        assert_eq!(oci_layer(OCI_LAYER_ZSTD), Some(OCI_LAYER_ZSTD));
        assert_eq!(oci_layer(OCI_CONFIG), None);
        assert!(is_index(DOCKER_MANIFEST_LIST) && !is_index(OCI_MANIFEST));
        for kind in [
            OCI_INDEX,
            OCI_MANIFEST,
            DOCKER_MANIFEST_LIST,
            DOCKER_MANIFEST,
        ] {
            assert!(ACCEPT_MANIFESTS.contains(kind), "{kind}");
        }
    }
}
