//! The recipes of the outputs an evaluation names (Nix's `.drv` files, in memory) and
//! `realise`, which builds a job's output and everything it needs, in dependency order:
//! derivations in the sandbox, images through the image builder, pulls and fetches through
//! the network clients the caller gives.

use crate::build_log::BuildLines;
use crate::builder::run_derivation_showing;
use crate::error::StoreError;
use crate::hash::{parse_sha256, FlatHash, FlatHashAlgo};
use crate::local::LocalStore;
use crate::path::{make_store_path, PathInfo, StorePath};
use crate::plugin_error::PluginError;
use crate::schedule::{realise_scheduled, RealiseOptions};
use makes_spec::{
    sanitize_derivation_name, Created, DerivationSpec, FetchSpec, ImageSpec, PullSpec,
};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

/// How an output path is made.
// An image spec is the largest recipe; recipes are held once per output of an evaluation,
// so boxing it would save little.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Recipe {
    Derivation(DerivationSpec),
    Image(ImageSpec),
    /// `dockerTools.pullImage`: an OCI image layout directory fetched by digest.
    Pull(PullSpec),
    /// `fetchUrl`: one file, checked against its SHA-256.
    Fetch(FetchSpec),
}

impl Recipe {
    /// The store paths that must be valid before building.
    pub fn inputs(&self) -> Vec<StorePath> {
        match self {
            Recipe::Derivation(spec) => spec.input_paths.clone(),
            // Paths the image's scripts use must be built too, though they stay out of it.
            Recipe::Image(spec) => spec
                .contents
                .iter()
                .chain(&spec.config_references)
                .chain(&spec.script_inputs)
                .chain(&spec.from_image)
                .cloned()
                .collect(),
            Recipe::Pull(_) | Recipe::Fetch(_) => Vec::new(),
        }
    }
}

/// The recipes of the outputs named during one evaluation (Nix's `.drv` files, in memory).
#[derive(Debug, Default, Clone)]
pub struct Recipes(Rc<RefCell<BTreeMap<StorePath, Recipe>>>);

impl Recipes {
    pub fn get(&self, path: &StorePath) -> Option<Recipe> {
        self.0.borrow().get(path).cloned()
    }

    pub fn insert(&self, path: StorePath, recipe: Recipe) {
        self.0.borrow_mut().insert(path, recipe);
    }
}

/// The version tag of the serialisation hashed by `image_output_path`.
/// Bump it whenever the image builder would write other bytes for the same spec (v2: gzip at
/// libdeflate level 5), so that a store never keeps an image an older makes wrote.
const IMAGE_TAG: &[u8] = b"makes-image-v2\0";

/// An image's output path: input-addressed by its whole spec (and the build time when the
/// user asked for `created = "now"`), named `<base name of the image>.tar` (a stream:
/// `stream-<base name>`).
///
/// The spec is hashed as its JSON (serde_json of plain data with sorted maps is
/// deterministic). That serialisation cannot fail for the types a spec holds (string keys,
/// finite numbers), but serde's signature says it may: such a failure is an error naming the
/// image, never an empty serialisation that every such spec would share.
pub fn image_output_path(spec: &ImageSpec, now: &str) -> Result<StorePath, StoreError> {
    let mut hasher = Sha256::new();
    hasher.update(IMAGE_TAG);
    serde_json::to_writer(&mut hasher, spec).map_err(|source| StoreError::SpecJson {
        name: spec.name.clone(),
        source,
    })?;
    if spec.created == Created::Now {
        hasher.update(now.as_bytes());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let base = sanitize_derivation_name(spec.name.rsplit('/').next().unwrap_or(&spec.name));
    // A stream is a script, named as nixpkgs names `streamLayeredImage`'s.
    let name = if spec.stream {
        format!("stream-{base}")
    } else {
        format!("{base}.tar")
    };
    Ok(make_store_path("output:out", &digest, &name))
}

/// Fetches pulled images into the store; implemented with the registry client.
pub trait ImagePuller: Sync {
    /// Writes the image `spec` names, as an OCI image layout, into the new directory `out_dir`.
    fn pull_image(&self, spec: &PullSpec, out_dir: &Path) -> Result<(), PluginError>;
}

/// Downloads files (`fetchUrl`); implemented with an HTTP client.
pub trait UrlFetcher: Sync {
    /// Writes what `url` answers to the new file `out_file`.
    fn fetch(&self, url: &str, out_file: &Path) -> Result<(), PluginError>;
    /// Unpacks the archive at `url` into the new directory `out_dir` (its one top-level
    /// directory's contents with `strip_root`).
    fn fetch_archive(&self, url: &str, out_dir: &Path, strip_root: bool)
        -> Result<(), PluginError>;
}

/// What `realise` builds images, pulls and downloads with.
pub struct Builders<'a> {
    pub images: &'a dyn ImageBuilder,
    pub puller: &'a dyn ImagePuller,
    pub fetcher: &'a dyn UrlFetcher,
}

/// Builds images, given their closure; implemented by the image builder crate.
pub trait ImageBuilder: Sync {
    fn build_image(
        &self,
        spec: &ImageSpec,
        closure: &[PathInfo],
        out_file: &Path,
    ) -> Result<Option<crate::FileNar>, PluginError>;
}

/// Errors of `realise`.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RealiseError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    #[error("building the image {path} failed")]
    #[diagnostic(code(makes::store::image_build))]
    Image {
        path: StorePath,
        #[source]
        #[diagnostic_source]
        source: PluginError,
    },
    #[error("pulling the image {path} failed")]
    #[diagnostic(code(makes::store::pull))]
    Pull {
        path: StorePath,
        #[source]
        #[diagnostic_source]
        source: PluginError,
    },
    #[error("fetching {url} into {path} failed")]
    #[diagnostic(code(makes::store::fetch))]
    Fetch {
        path: StorePath,
        url: String,
        #[source]
        #[diagnostic_source]
        source: PluginError,
    },
    #[error("interrupted: the builds that were running were stopped")]
    #[diagnostic(code(makes::store::interrupted))]
    Interrupted,
    #[error("{path} is not a store path this evaluation knows how to build")]
    #[diagnostic(code(makes::store::unknown_output))]
    UnknownOutput { path: String },
}

/// Why a download was refused once fetched (the cause of `RealiseError::Fetch`).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FetchCheckError {
    #[error("'{sha256}' is not a SHA-256")]
    #[diagnostic(code(makes::store::fetch_hash))]
    NotSha256 { sha256: String },
    #[error("hash mismatch: expected {expected}, got {found}")]
    #[diagnostic(code(makes::store::fetch_hash_mismatch))]
    HashMismatch { expected: String, found: String },
}

/// Makes `path` valid: builds what it needs, up to `options.max_jobs` at once, then itself.
pub fn realise(
    store: &LocalStore,
    recipes: &Recipes,
    builders: &Builders,
    path: &StorePath,
    options: &RealiseOptions,
) -> Result<PathInfo, RealiseError> {
    if store.is_valid(path) {
        return Ok(store.path_info(path)?);
    }
    realise_scheduled(store, recipes, builders, path, options)
}

/// Makes the output `sp` with `recipe`, its inputs being valid.
pub(crate) fn build_recipe(
    store: &LocalStore,
    builders: &Builders,
    sp: &StorePath,
    recipe: Recipe,
    lines: BuildLines<'_>,
) -> Result<PathInfo, RealiseError> {
    let sp = sp.clone();
    match recipe {
        Recipe::Derivation(spec) => Ok(run_derivation_showing(store, &spec, &sp, lines)?),
        Recipe::Image(spec) => {
            store.release_source_listings();
            let roots = recipe_roots(&spec);
            let closure = store.closure(&roots)?;
            // An image archive refers to no store path: its contents travel inside it (and
            // compressed layers could hide a hash anyway), as with dockerTools' tarballs.
            store.build_file_output(&sp, |real_out: &Path| {
                builders
                    .images
                    .build_image(&spec, &closure, real_out)
                    .map_err(|source| RealiseError::Image {
                        path: sp.clone(),
                        source,
                    })
            })
        }
        Recipe::Fetch(spec) => {
            let fail = |source: PluginError| RealiseError::Fetch {
                path: sp.clone(),
                url: spec.url.clone(),
                source,
            };
            // An archive is pinned by its NAR's SHA-256; a file by its own hash (SHA-256, or
            // the SHA-512/SHA-1 of an npm `integrity`).
            let expected = if spec.unpack {
                parse_sha256(&spec.sha256).map(|digest| FlatHash {
                    algo: FlatHashAlgo::Sha256,
                    digest: digest.to_vec(),
                })
            } else {
                FlatHash::parse(&spec.sha256)
            }
            .ok_or_else(|| {
                fail(PluginError::new(FetchCheckError::NotSha256 {
                    sha256: spec.sha256.clone(),
                }))
            })?;
            store.build_output(&sp, &[], |real_out: &Path| {
                let found = if spec.unpack {
                    builders
                        .fetcher
                        .fetch_archive(&spec.url, real_out, spec.strip_root)
                        .map_err(fail)?;
                    let (digest, _) = crate::nar::nar_hash_and_size(real_out)?;
                    FlatHash {
                        algo: FlatHashAlgo::Sha256,
                        digest: digest.to_vec(),
                    }
                } else {
                    builders.fetcher.fetch(&spec.url, real_out).map_err(fail)?;
                    let bytes = std::fs::read(real_out).map_err(crate::error::io_err(real_out))?;
                    FlatHash::of(expected.algo, &bytes)
                };
                if found != expected {
                    return Err(fail(PluginError::new(FetchCheckError::HashMismatch {
                        expected: expected.display(),
                        found: found.display(),
                    })));
                }
                Ok(())
            })
        }
        Recipe::Pull(spec) => store.build_output(&sp, &[], |real_out: &Path| {
            builders
                .puller
                .pull_image(&spec, real_out)
                .map_err(|source| RealiseError::Pull {
                    path: sp.clone(),
                    source,
                })
        }),
    }
}

/// The version tag of the serialisation hashed by `pull_output_path`.
const PULL_TAG: &[u8] = b"makes-pull-v1\0";

/// A pulled image's output path: addressed by what pins its content (name, digest, platform),
/// named as nixpkgs names it (`docker-image-<finalImageName>-<finalImageTag>`).
pub fn pull_output_path(spec: &PullSpec) -> StorePath {
    let mut hasher = Sha256::new();
    hasher.update(PULL_TAG);
    for part in [&spec.image_name, &spec.image_digest, &spec.os, &spec.arch] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let name = format!(
        "docker-image-{}-{}",
        spec.final_image_name, spec.final_image_tag
    );
    make_store_path("output:out", &digest, &sanitize_derivation_name(&name))
}

fn recipe_roots(spec: &ImageSpec) -> Vec<StorePath> {
    spec.contents
        .iter()
        .chain(&spec.config_references)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(hash_digit: char, name: &str) -> StorePath {
        StorePath {
            hash: hash_digit.to_string().repeat(32),
            name: name.to_owned(),
        }
    }

    fn spec() -> ImageSpec {
        ImageSpec {
            name: "registry.example/app".into(),
            architecture: "amd64".into(),
            contents: vec![sp('1', "hello")],
            config: [("Cmd".to_owned(), serde_json::json!([sp('2', "greeting")]))].into(),
            config_references: vec![sp('2', "greeting")],
            extra_commands: format!("echo {}", sp('3', "tool")),
            script_inputs: vec![sp('3', "tool")],
            from_image: Some(sp('4', "base.tar")),
            ..ImageSpec::default()
        }
    }

    #[test]
    fn image_output_paths_stay_as_they_were() {
        // The path makes gave this spec when its store paths were strings (`makes show` of
        // the same makeContainerImage call): typed paths serialise as the same JSON.
        let path = image_output_path(&spec(), "ignored").expect("serialisable");
        assert_eq!(
            path.to_absolute(),
            "/nix/store/3z771gblmkjkrqxz6j7sdlash0ywik1a-app.tar"
        );
        let mut now = spec();
        now.created = Created::Now;
        let (a, b) = (
            image_output_path(&now, "2026-01-01T00:00:00Z").expect("serialisable"),
            image_output_path(&now, "2026-01-02T00:00:00Z").expect("serialisable"),
        );
        assert_ne!(
            a, b,
            "created = \"now\" images are addressed by the build time too"
        );
        let mut stream = spec();
        stream.stream = true;
        let stream = image_output_path(&stream, "").expect("serialisable");
        assert_eq!(stream.name, "stream-app");
    }
}
