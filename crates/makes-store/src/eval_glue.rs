//! Where the evaluator meets the store: an `EvalIo` that imports path literals into the
//! `LocalStore`, the native `makeDerivation` and `makeContainerImage` (which reduce their
//! arguments to specs, name their outputs and remember how to build them), and `realise`,
//! which builds a job's output and everything it needs, in dependency order.

use crate::builder::run_derivation;
use crate::error::StoreError;
use crate::hash::parse_sha256;
use crate::local::LocalStore;
use crate::packages::{package_set_value, Overlay, PackageSetSource, Packages, SetOrigin};
use crate::path::{
    derivation_output_path, fixed_output_path, make_store_path, PathInfo, StorePath,
};
use crate::project_files::ProjectFiles;
use makes_eval::{
    make_primop, Attrs, Context, DiskIo, EvalIo, FileKind, NixString, PrimOpFn, Thunk, Value,
};
use makes_spec::{
    reduce_derivation_spec, reduce_fetch_spec, reduce_image_spec, sanitize_derivation_name,
    Created, DerivationSpec, FetchSpec, ImageSpec, PullSpec,
};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::rc::Rc;

/// How an output path is made.
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
    pub fn inputs(&self) -> Vec<String> {
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

    pub(crate) fn insert(&self, path: StorePath, recipe: Recipe) {
        self.0.borrow_mut().insert(path, recipe);
    }
}

/// `EvalIo` on the real file system, importing paths into `store`.
pub struct StoreIo {
    store: LocalStore,
    disk: DiskIo,
    /// What of the project evaluation may see.
    project_files: ProjectFiles,
}

impl StoreIo {
    pub fn new(store: LocalStore, project_files: ProjectFiles) -> Self {
        StoreIo {
            store,
            disk: DiskIo,
            project_files,
        }
    }

    /// Fails for a path the project leaves out, as if it did not exist.
    fn visible(&self, path: &Path) -> io::Result<()> {
        if self.project_files.hides(path) {
            return Err(ProjectFiles::hidden_error());
        }
        Ok(())
    }
}

impl EvalIo for StoreIo {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.visible(path)?;
        // Reading follows symlinks: a tracked one must not lead to a file the project leaves
        // out (in makes' copy of the project it would dangle).
        if let Ok(target) = std::fs::canonicalize(path) {
            self.visible(&target)?;
        }
        self.disk.read_file(&self.host_path(path))
    }

    fn file_kind(&self, path: &Path) -> io::Result<Option<FileKind>> {
        if self.project_files.hides(path) {
            return Ok(None);
        }
        self.disk.file_kind(&self.host_path(path))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileKind)>> {
        self.visible(path)?;
        let mut entries = self.disk.read_dir(&self.host_path(path))?;
        entries.retain(|(name, _)| !self.project_files.hides(&path.join(name)));
        Ok(entries)
    }

    fn add_to_store(&self, path: &Path, name: &str) -> io::Result<String> {
        self.visible(path)?;
        let host = self.host_path(path);
        // A path already in the store is used as it is, as Nix does.
        if let Some(sp) = self.store_path_of(path) {
            return Ok(sp.to_absolute());
        }
        let keep = |p: &Path| !self.project_files.hides(p);
        self.store
            .add_filtered_path(&host, name, &keep)
            .map(|p| p.to_absolute())
            .map_err(|e| io::Error::other(e.to_string()))
    }

    fn is_dir(&self, path: &Path) -> bool {
        !self.project_files.hides(path) && self.disk.is_dir(&self.host_path(path))
    }
}

impl StoreIo {
    /// A `/nix/store/...` path read during evaluation refers to our store on disk.
    /// Where a path read during evaluation is on disk: under `/nix/store`, in makes' store
    /// when it has the entry, otherwise in the host's Nix store (read only).
    fn host_path(&self, path: &Path) -> std::path::PathBuf {
        match path.strip_prefix(crate::STORE_DIR) {
            Ok(rest) if !rest.as_os_str().is_empty() => {
                let ours = self.store.store_dir().join(rest);
                let top = rest
                    .components()
                    .next()
                    .map(|c| self.store.store_dir().join(c));
                if top.is_some_and(|t| std::fs::symlink_metadata(t).is_ok()) {
                    ours
                } else {
                    path.to_path_buf()
                }
            }
            _ => path.to_path_buf(),
        }
    }

    fn store_path_of(&self, path: &Path) -> Option<StorePath> {
        let sp = StorePath::parse(&path.to_string_lossy()).ok()?;
        // A path only Nix's store has is copied into ours first.
        let valid =
            self.store.is_valid(&sp) || matches!(self.store.import_from_nix(&sp), Ok(Some(_)));
        valid.then_some(sp)
    }
}

/// The makes arguments implemented with the store: `makeDerivation` and `makeContainerImage`.
/// `now` is the build time, used for the output name of `created = "now"` images only.
pub fn store_arguments(packages: &Rc<Packages>, now: &str) -> Vec<(&'static str, Thunk)> {
    let recipes = &packages.recipes;
    let r = recipes.clone();
    let make_derivation: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let spec = reduce_derivation_spec(ev, &arg, None)?;
        let out = derivation_output_path(&spec);
        let name = spec.name.clone();
        r.insert(out.clone(), Recipe::Derivation(spec));
        Ok(package_value(&name, &out))
    });
    let r = recipes.clone();
    let now = now.to_owned();
    let make_container_image: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let spec = reduce_image_spec(ev, &arg, None)?;
        let out = image_output_path(&spec, &now);
        r.insert(out.clone(), Recipe::Image(spec));
        Ok(package_value(&out.name, &out))
    });
    // makes' own pinned nixpkgs is, here, the one Nix finds as `<nixpkgs>`.
    let default_set = package_set_value(packages, PackageSetSource::default_nixpkgs());
    let p = packages.clone();
    let fetch_nixpkgs: PrimOpFn = Rc::new(move |ev, args| {
        let source = fetch_nixpkgs_source(ev, &args[0])?;
        Ok(package_set_value(&p, source))
    });
    let p = packages.clone();
    let package_set_at: PrimOpFn = Rc::new(move |ev, args| {
        let Value::Path(dir) = args[0].force(ev)? else {
            return Err(makes_eval::EvalError::other(
                "a package set is given by a path to a nixpkgs checkout",
                None,
            ));
        };
        Ok(package_set_value(
            &p,
            PackageSetSource {
                origin: SetOrigin::Checkout(dir.as_ref().into()),
                allow_unfree: true,
                overlays: Vec::new(),
            },
        ))
    });
    let r = recipes.clone();
    let fetch_url: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let spec = reduce_fetch_spec(ev, &arg, None)?;
        let hash = parse_sha256(&spec.sha256).ok_or_else(|| {
            makes_eval::EvalError::other(
                format!(
                    "fetchUrl: '{}' is not a SHA-256 (nix-base32, hex or sha256-<base64>)",
                    spec.sha256
                ),
                None,
            )
        })?;
        let out = fixed_output_path(&hash, false, &spec.name);
        r.insert(out.clone(), Recipe::Fetch(spec));
        Ok(package_value(&out.name, &out))
    });
    let archive_fetchers: Vec<(&'static str, Value)> = ["fetchArchive", "fetchGithub"]
        .into_iter()
        .map(|function| {
            let r = recipes.clone();
            let func: PrimOpFn = Rc::new(move |ev, args| {
                let arg = args[0].force(ev)?;
                let spec = makes_spec::reduce_fetch_archive_spec(ev, &arg, function, None)?;
                let hash = parse_sha256(&spec.sha256).ok_or_else(|| {
                    makes_eval::EvalError::other(
                        format!("{function}: '{}' is not a SHA-256", spec.sha256),
                        None,
                    )
                })?;
                // The NAR hash of the unpacked tree: a recursive fixed-output path.
                let out = fixed_output_path(&hash, true, &spec.name);
                r.insert(out.clone(), Recipe::Fetch(spec));
                Ok(package_value(&out.name, &out))
            });
            (function, make_primop(function, 1, func))
        })
        .collect();
    let make_script = crate::native_script::make_script_function(recipes, default_set.clone());
    let (make_template, make_search_paths) = crate::native_templates::template_functions(recipes);
    // makes' `lib` is nixpkgs' lib of its own package set.
    let lib = match &default_set {
        Value::Attrs(set) => set.get("lib").map(|a| a.value.clone()),
        _ => None,
    };
    let values = vec![
        ("makeScript", make_script),
        ("fetchUrl", make_primop("fetchUrl", 1, fetch_url)),
        ("makeTemplate", make_template),
        ("makeSearchPaths", make_search_paths),
        (
            "toFileJson",
            crate::native_templates::to_file_json_function(recipes),
        ),
        ("__nixpkgs__", default_set),
        (
            "__packageSetAt",
            make_primop("__packageSetAt", 1, package_set_at),
        ),
        (
            "fetchNixpkgs",
            make_primop("fetchNixpkgs", 1, fetch_nixpkgs),
        ),
        (
            "makeDerivation",
            make_primop("makeDerivation", 1, make_derivation),
        ),
        (
            "makeContainerImage",
            make_primop("makeContainerImage", 1, make_container_image),
        ),
    ];
    values
        .into_iter()
        .chain(archive_fetchers)
        .map(|(name, value)| (name, Thunk::value(value)))
        .chain(lib.map(|lib| ("lib", lib)))
        .collect()
}

/// The version tag of the serialisation hashed by `image_output_path`.
/// Bump it whenever the image builder would write other bytes for the same spec (v2: gzip at
/// libdeflate level 5), so that a store never keeps an image an older makes wrote.
const IMAGE_TAG: &[u8] = b"makes-image-v2\0";

/// An image's output path: input-addressed by its whole spec (and the build time when the
/// user asked for `created = "now"`), named `<base name of the image>.tar`.
pub fn image_output_path(spec: &ImageSpec, now: &str) -> StorePath {
    let mut hasher = Sha256::new();
    hasher.update(IMAGE_TAG);
    // serde_json of plain data with sorted maps is deterministic.
    hasher.update(serde_json::to_vec(spec).unwrap_or_default());
    if spec.created == Created::Now {
        hasher.update(now.as_bytes());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let base = spec.name.rsplit('/').next().unwrap_or(&spec.name);
    make_store_path(
        "output:out",
        &digest,
        &format!("{}.tar", sanitize_derivation_name(base)),
    )
}

/// What `makeDerivation` and `makeContainerImage` return: a derivation-like set whose
/// `outPath` carries its own context.
pub(crate) fn package_value(name: &str, out: &StorePath) -> Value {
    let out_abs = out.to_absolute();
    let mut ctx = Context::default();
    ctx.paths.insert(out_abs.as_str().into());
    let mut attrs = Attrs::new();
    attrs.insert("type", Thunk::value(Value::string("derivation")), None);
    attrs.insert("name", Thunk::value(Value::string(name)), None);
    attrs.insert("outputName", Thunk::value(Value::string("out")), None);
    attrs.insert(
        "outPath",
        Thunk::value(Value::String(NixString::with_context(out_abs, ctx))),
        None,
    );
    Value::Attrs(Rc::new(attrs))
}

/// Fetches pulled images into the store; implemented with the registry client.
pub trait ImagePuller {
    /// Writes the image `spec` names, as an OCI image layout, into the new directory `out_dir`.
    fn pull_image(&self, spec: &PullSpec, out_dir: &Path) -> Result<(), String>;
}

/// Downloads files (`fetchUrl`); implemented with an HTTP client.
pub trait UrlFetcher {
    /// Writes what `url` answers to the new file `out_file`.
    fn fetch(&self, url: &str, out_file: &Path) -> Result<(), String>;
    /// Unpacks the archive at `url` into the new directory `out_dir` (its one top-level
    /// directory's contents with `strip_root`).
    fn fetch_archive(&self, url: &str, out_dir: &Path, strip_root: bool) -> Result<(), String>;
}

/// What `realise` builds images, pulls and downloads with.
pub struct Builders<'a> {
    pub images: &'a dyn ImageBuilder,
    pub puller: &'a dyn ImagePuller,
    pub fetcher: &'a dyn UrlFetcher,
}

/// Builds images, given their closure; implemented by the image builder crate.
pub trait ImageBuilder {
    fn build_image(
        &self,
        spec: &ImageSpec,
        closure: &[PathInfo],
        out_file: &Path,
    ) -> Result<(), String>;
}

/// Errors of `realise`.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RealiseError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    #[error("building the image {path} failed: {message}")]
    #[diagnostic(code(makes::store::image_build))]
    Image { path: StorePath, message: String },
    #[error("pulling the image {path} failed: {message}")]
    #[diagnostic(code(makes::store::pull))]
    Pull { path: StorePath, message: String },
    #[error("fetching {url} into {path} failed: {message}")]
    #[diagnostic(code(makes::store::fetch))]
    Fetch {
        path: StorePath,
        url: String,
        message: String,
    },
    #[error("{path} is not a store path this evaluation knows how to build")]
    #[diagnostic(code(makes::store::unknown_output))]
    UnknownOutput { path: String },
}

/// Makes `path` valid: builds its inputs first (depth first), then itself.
pub fn realise(
    store: &LocalStore,
    recipes: &Recipes,
    builders: &Builders,
    path: &str,
    progress: &dyn Fn(&str),
) -> Result<PathInfo, RealiseError> {
    let sp = StorePath::parse(path).map_err(|_| RealiseError::UnknownOutput {
        path: path.to_owned(),
    })?;
    if store.is_valid(&sp) {
        return Ok(store.path_info(&sp)?);
    }
    let Some(recipe) = recipes.get(&sp) else {
        // Not made by this evaluation: a path of the host's Nix store, read from there.
        if let Some(info) = store.import_from_nix(&sp)? {
            return Ok(info);
        }
        return Err(RealiseError::UnknownOutput {
            path: path.to_owned(),
        });
    };
    for input in recipe.inputs() {
        realise(store, recipes, builders, &input, progress)?;
    }
    progress(&format!("building {sp}"));
    match recipe {
        Recipe::Derivation(spec) => Ok(run_derivation(store, &spec, &sp)?),
        Recipe::Image(spec) => {
            let roots: Vec<StorePath> = recipe_roots(&spec)?;
            let closure = store.closure(&roots)?;
            // An image archive refers to no store path: its contents travel inside it (and
            // compressed layers could hide a hash anyway), as with dockerTools' tarballs.
            store.build_output(&sp, &[], |real_out: &Path| {
                builders
                    .images
                    .build_image(&spec, &closure, real_out)
                    .map_err(|message| RealiseError::Image {
                        path: sp.clone(),
                        message,
                    })
            })
        }
        Recipe::Fetch(spec) => {
            progress(&format!("fetching {}", spec.url));
            let expected = parse_sha256(&spec.sha256).ok_or_else(|| RealiseError::Fetch {
                path: sp.clone(),
                url: spec.url.clone(),
                message: format!("'{}' is not a SHA-256", spec.sha256),
            })?;
            store.build_output(&sp, &[], |real_out: &Path| {
                let fail = |message: String| RealiseError::Fetch {
                    path: sp.clone(),
                    url: spec.url.clone(),
                    message,
                };
                let found: [u8; 32] = if spec.unpack {
                    builders
                        .fetcher
                        .fetch_archive(&spec.url, real_out, spec.strip_root)
                        .map_err(fail)?;
                    crate::nar::nar_hash_and_size(real_out)
                        .map_err(|e| fail(e.to_string()))?
                        .0
                } else {
                    builders.fetcher.fetch(&spec.url, real_out).map_err(fail)?;
                    let bytes = std::fs::read(real_out).map_err(|e| fail(e.to_string()))?;
                    Sha256::digest(&bytes).into()
                };
                if found != expected {
                    return Err(fail(format!(
                        "hash mismatch: expected sha256:{}, got sha256:{}",
                        crate::nixbase32::encode(&expected),
                        crate::nixbase32::encode(&found)
                    )));
                }
                Ok(())
            })
        }
        Recipe::Pull(spec) => {
            progress(&format!(
                "pulling {}@{}",
                spec.image_name, spec.image_digest
            ));
            store.build_output(&sp, &[], |real_out: &Path| {
                builders
                    .puller
                    .pull_image(&spec, real_out)
                    .map_err(|message| RealiseError::Pull {
                        path: sp.clone(),
                        message,
                    })
            })
        }
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

fn recipe_roots(spec: &ImageSpec) -> Result<Vec<StorePath>, StoreError> {
    spec.contents
        .iter()
        .chain(&spec.config_references)
        .map(|p| StorePath::parse(p))
        .collect()
}

/// The package set `fetchNixpkgs { rev; sha256; overlays ? [ ]; allowUnfree ? true; }` pins.
fn fetch_nixpkgs_source(
    ev: &makes_eval::Evaluator,
    arg: &Thunk,
) -> makes_eval::Result<PackageSetSource> {
    let err = |m: String| makes_eval::EvalError::other(format!("fetchNixpkgs: {m}"), None);
    let Value::Attrs(a) = arg.force(ev)? else {
        return Err(err(
            "expects a set { rev; sha256; overlays ? [ ]; allowUnfree ? true; }".into(),
        ));
    };
    let string = |name: &str| -> makes_eval::Result<String> {
        match a.get(name).map(|t| t.value.force(ev)).transpose()? {
            Some(Value::String(s)) => Ok(s.as_str().to_owned()),
            Some(other) => Err(err(format!(
                "'{name}' must be a string, not {}",
                other.describe()
            ))),
            None => Err(err(format!("'{name}' is required"))),
        }
    };
    for name in a.names() {
        if ![
            "rev",
            "sha256",
            "overlays",
            "allowUnfree",
            "acceptAndroidSdkLicense",
        ]
        .contains(&&**name)
        {
            return Err(err(format!("unknown argument '{name}' (known: rev, sha256, overlays, allowUnfree, acceptAndroidSdkLicense)")));
        }
    }
    let allow_unfree = match a
        .get("allowUnfree")
        .map(|t| t.value.force(ev))
        .transpose()?
    {
        None => true,
        Some(Value::Bool(b)) => b,
        Some(other) => {
            return Err(err(format!(
                "'allowUnfree' must be a Boolean, not {}",
                other.describe()
            )))
        }
    };
    let mut overlays = Vec::new();
    if let Some(list) = a.get("overlays").map(|t| t.value.force(ev)).transpose()? {
        let Value::List(items) = list else {
            return Err(err(format!(
                "'overlays' must be a list, not {}",
                list.describe()
            )));
        };
        for item in items.iter() {
            match item.force(ev)? {
                Value::Path(p) => overlays.push(Overlay::File(std::path::PathBuf::from(p.as_ref()))),
                // Nix evaluates the overlay: its source text goes to Nix as written.
                Value::Lambda(closure) => {
                    let span = closure.def.span;
                    let text = ev
                        .sources
                        .get(span.file)
                        .and_then(|f| {
                            f.text
                                .get(span.start as usize..span.end as usize)
                                .map(str::to_owned)
                        })
                        .ok_or_else(|| err("cannot read the source of an overlay".into()))?;
                    overlays.push(Overlay::Source(text));
                }
                other => {
                    return Err(err(format!(
                        "an overlay is a function (self: super: {{ ... }}) or the path of a file holding one, not {}",
                        other.describe()
                    )))
                }
            }
        }
    }
    Ok(PackageSetSource {
        origin: SetOrigin::Github {
            rev: string("rev")?,
            sha256: string("sha256")?,
        },
        allow_unfree,
        overlays,
    })
}
