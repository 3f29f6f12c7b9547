//! The image builder as the store's `ImageBuilder`: what `realise` calls for an image recipe.

use crate::{build_image, ImageInputs};
use makes_spec::ImageSpec;
use makes_store::{ImageBuilder, LocalStore, PathInfo, StorePath};
use std::path::Path;

/// Builds images from paths of `store`; `now` is the build time for `created = "now"`.
pub struct NativeImageBuilder {
    pub store: LocalStore,
    pub now: String,
}

impl ImageBuilder for NativeImageBuilder {
    fn build_image(
        &self,
        spec: &ImageSpec,
        closure: &[PathInfo],
        out_file: &Path,
    ) -> Result<(), String> {
        let scratch = tempfile::Builder::new()
            .prefix("image-")
            .tempdir_in(self.store.root().join("tmp"))
            .map_err(|e| format!("cannot create a scratch directory: {e}"))?;
        let real_path = |p: &StorePath| self.store.real_path(p);
        let inputs = ImageInputs {
            spec,
            closure,
            real_path: &real_path,
            now: &self.now,
            scratch: scratch.path(),
        };
        build_image(&inputs, out_file)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
