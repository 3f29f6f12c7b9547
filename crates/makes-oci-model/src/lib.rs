//! The OCI image model makes reads and writes, in one place for the image builder
//! (`makes-oci`) and the registry client (`makes-registry`):
//!
//! - [`Digest`]: a sha256 content digest, with [`HashingReader`] and [`HashingWriter`] that
//!   make one from what passes through them;
//! - [`Descriptor`] and [`Platform`]: what manifests and indexes say about each blob, written
//!   byte for byte the same on every run;
//! - [`media_types`]: the OCI and Docker media types and annotation keys;
//! - [`ImageFiles`]: the one reader of image layouts and archives, which never follows
//!   anything out of the image.
//!
//! The crate knows nothing of building, compressing or the network.

mod archive_index;
mod descriptor;
mod digest;
mod error;
mod image_files;
pub mod media_types;
mod platform;

pub use archive_index::ArchiveIndex;
pub use descriptor::Descriptor;
pub use digest::{Digest, HashingReader, HashingWriter};
pub use error::OciModelError;
pub use image_files::ImageFiles;
pub use platform::Platform;
