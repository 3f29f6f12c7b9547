//! The image builder as the store's `ImageBuilder`: what `realise` calls for an image recipe.
//! Layers are cached under `<store root>/cache/layers` (see the `cache` module), so an image
//! rebuilt with unchanged layers neither re-tars nor re-compresses them.

use crate::{build_image_with, BaseImage, ImageInputs, ImageOptions, LayerProgress};
use makes_spec::ImageSpec;
use makes_store::{ImageBuilder, LocalStore, PathInfo, StorePath};
use std::path::{Path, PathBuf};

/// Builds images from paths of `store`; `now` is the build time for `created = "now"`.
pub struct NativeImageBuilder {
    pub store: LocalStore,
    pub now: String,
    /// Told about each layer (the CLI's progress bars), if any.
    pub progress: Option<Box<dyn LayerProgress>>,
}

impl NativeImageBuilder {
    /// The layer cache of `store`.
    pub fn layer_cache_dir(store: &LocalStore) -> PathBuf {
        store.root().join("cache").join("layers")
    }
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
        for input in &spec.script_inputs {
            let valid = StorePath::parse(input).is_ok_and(|p| self.store.is_valid(&p));
            if !valid {
                return Err(format!(
                    "{input}, used by a script of the image, is not built: \
                     list it in contents (or config) so that it is built first"
                ));
            }
        }
        let real_path = |p: &StorePath| self.store.real_path(p);
        let inputs = ImageInputs {
            spec,
            closure,
            real_path: &real_path,
            now: &self.now,
            scratch: scratch.path(),
        };
        let cache = Self::layer_cache_dir(&self.store);
        let store_dir = self.store.store_dir();
        let base = match &spec.from_image {
            Some(from) => {
                let sp = StorePath::parse(from).map_err(|e| e.to_string())?;
                let image = BaseImage::open(&self.store.real_path(&sp), scratch.path())
                    .map_err(|e| e.to_string())?;
                Some(image)
            }
            None => None,
        };
        let options = ImageOptions {
            layer_cache: Some(&cache),
            store_dir: Some(&store_dir),
            progress: self.progress.as_deref(),
            base: base.as_ref(),
        };
        let result = build_image_with(&inputs, &options, out_file)
            .map(|_| ())
            .map_err(|e| e.to_string());
        // Root scripts may leave files owned by other users or read-only directories.
        crate::customisation::make_removable(scratch.path());
        result
    }
}
