//! The image builder as the store's `ImageBuilder`: what `realise` calls for an image recipe.
//! Layers are cached under `<store root>/cache/layers` (see the `cache` module), so an image
//! rebuilt with unchanged layers neither re-tars nor re-compresses them.

use crate::{
    build_image_with, BaseCheck, BaseImage, ImageInputs, ImageOptions, LayerProgress, OciError,
};
use makes_spec::ImageSpec;
use makes_store::{FileNar, ImageBuilder, LocalStore, PathInfo, PluginError, StorePath};
use std::path::{Path, PathBuf};

/// Builds images from paths of `store`; `now` is the build time for `created = "now"`.
pub struct NativeImageBuilder {
    pub store: LocalStore,
    pub now: String,
    /// Told about each layer (the CLI's progress bars), if any.
    pub progress: Option<Box<dyn LayerProgress + Send + Sync>>,
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
    ) -> Result<Option<FileNar>, PluginError> {
        self.build(spec, closure, out_file)
            .map_err(PluginError::new)
    }
}

impl NativeImageBuilder {
    fn build(
        &self,
        spec: &ImageSpec,
        closure: &[PathInfo],
        out_file: &Path,
    ) -> Result<Option<FileNar>, OciError> {
        let tmp = self.store.root().join("tmp");
        let scratch = tempfile::Builder::new()
            .prefix("image-")
            .tempdir_in(&tmp)
            .map_err(OciError::io(&tmp))?;
        for input in &spec.script_inputs {
            if !self.store.is_valid(input) {
                return Err(OciError::ScriptInputNotBuilt {
                    path: input.clone(),
                });
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
            Some(sp) => {
                let check = if checked_before(&self.store, sp) {
                    BaseCheck::CheckedBefore
                } else {
                    BaseCheck::Full
                };
                let image = BaseImage::open_with(&self.store.real_path(sp), scratch.path(), check)?;
                remember_checked(&self.store, sp);
                Some(image)
            }
            None => None,
        };
        let options = ImageOptions {
            layer_cache: Some(&cache),
            store_dir: Some(&store_dir),
            progress: self.progress.as_deref().map(|p| p as &dyn LayerProgress),
            base: base.as_ref(),
        };
        let result = if spec.stream {
            let archive = scratch.path().join("archive.tar");
            build_image_with(&inputs, &options, &archive)
                .and_then(|_| crate::stream_script::write_stream_script(spec, &archive, out_file))
                .map(|()| None)
        } else {
            build_image_with(&inputs, &options, out_file).map(|summary| summary.archive_nar)
        };
        // Root scripts may leave files owned by other users or read-only directories.
        crate::customisation::make_removable(scratch.path());
        result
    }
}

/// Where the marks of base images checked in full live: `<store root>/cache/checked-bases/`,
/// one file per store path holding its NAR hash. A store path's contents never change while it
/// is valid, so one full check is enough; the NAR hash guards against a path removed and made
/// again with other contents. Every base is checked once, pulled ones too (a pull checks blob
/// digests, not diff_ids).
fn checked_mark(store: &LocalStore, path: &StorePath) -> PathBuf {
    store
        .root()
        .join("cache")
        .join("checked-bases")
        .join(path.base_name())
}

fn checked_before(store: &LocalStore, path: &StorePath) -> bool {
    let Ok(info) = store.path_info(path) else {
        return false;
    };
    std::fs::read(checked_mark(store, path)).is_ok_and(|mark| mark == info.nar_hash.as_bytes())
}

/// Marks `path` as checked; a mark that cannot be written only costs a check next time.
fn remember_checked(store: &LocalStore, path: &StorePath) {
    let Ok(info) = store.path_info(path) else {
        return;
    };
    let mark = checked_mark(store, path);
    if let Some(dir) = mark.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(mark, info.nar_hash.as_bytes());
}
