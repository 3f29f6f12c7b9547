//! The makes image builder: `makeContainerImage` without Nix or dockerTools.
//!
//! Plan purely, then stream, so the layout can be tested as data and the writer stays one
//! deterministic loop: [`plan_layers`] decides which store
//! paths go into which layer; [`build_image`] then builds the customisation root (contents
//! joined into `/`, `extraCommands`), writes each layer as a deterministic tar into the layer
//! pipeline (compressed, hashed for its diff_id, stored as a blob named by its digest; see
//! [`layer_writer`]), writes the config and
//! manifest, and packs everything into one tar that is both an OCI image layout and a Docker
//! archive. The same inputs give the same bytes; the only clock is [`ImageInputs::now`], used
//! when the spec says `created = "now"`.
//!
//! The arguments are those of makes' `makeContainerImage` (`src/args/make-container-image`) and
//! nixpkgs' dockerTools; the formats are the OCI image specification's and `docker save`'s.

#[cfg(test)]
mod alloc_count;
mod archive;
mod base;
mod base_root;
mod base_source;
mod base_verify;
mod blob;
mod cache;
mod chunk;
mod compress;
mod config;
mod confined_root;
mod customisation;
mod dirlink;
mod error;
mod fsck;
mod joined_root;
mod layer_apply;
mod layer_writer;
mod nix_db;
mod plan;
mod plan_pipeline;
mod plan_popularity;
mod store_builder;
mod store_layer;
mod stream_script;
mod tar_writer;
mod timestamp;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use makes_spec::{Created, ImageSpec};
use makes_store::{PathInfo, StorePath, STORE_DIR};

pub use archive::write_oci_dir;
pub use base::{BaseCheck, BaseImage, BaseLayer};
pub use blob::Digest;
pub use error::OciError;
pub use fsck::{fsck_archive, ArchiveCheck};
pub use plan::{plan_layers, plan_layers_over_base, LayerPlan, PlannedLayer, RootMode};
pub use plan_pipeline::plan_pipeline_layers;
pub use store_builder::NativeImageBuilder;

use archive::{write_archive, ArchiveMetadata};
use blob::{write_blob, StoredBlob};
use cache::{CachedLayer, LayerCache, LayerKey};
use config::ConfigLayer;
use customisation::{
    build_customisation_root, ContentSource, CustomisationRoot, JoinRules, JoinedRoot, RootEntries,
    RootScripts,
};
use layer_writer::{LayerBlob, LayerWriter, PendingBlob};
use makes_oci_model::media_types::{OCI_CONFIG, OCI_MANIFEST};
use makes_oci_model::Descriptor;
use store_layer::StoreTree;
use tar_writer::{
    write_tar, write_tar_merged, HeaderPolicy, LayerEntries, ModePolicy, TarSink,
    SYNTHESIZED_DIR_MODE,
};

/// Everything [`build_image`] needs besides the output path.
pub struct ImageInputs<'a> {
    pub spec: &'a ImageSpec,
    /// The closure of contents + config_references: every store path that goes into the image,
    /// with its references.
    pub closure: &'a [PathInfo],
    /// Where a store path's contents are on disk (the store may live outside `/nix/store`).
    pub real_path: &'a dyn Fn(&StorePath) -> PathBuf,
    /// The build time (ISO-8601), used only when the spec says `created = "now"` or
    /// `mtime = "now"`. Library code never reads the clock.
    pub now: &'a str,
    /// A scratch directory for the customisation root and temporary blobs.
    pub scratch: &'a Path,
}

/// One written layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSummary {
    /// Digest of the (compressed) blob.
    pub digest: Digest,
    /// Digest of the uncompressed tar, as listed in the config's `rootfs.diff_ids`.
    pub diff_id: Digest,
    /// Size of the blob in bytes.
    pub size: u64,
    pub media_type: &'static str,
    /// The store paths under `nix/store/` in this layer.
    pub store_paths: Vec<StorePath>,
    /// Whether the layer holds the customisation root.
    pub customisation: bool,
    /// Whether the layer comes, as it is, from the base image (`fromImage`).
    pub from_base: bool,
}

/// What [`build_image`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub manifest_digest: Digest,
    pub manifest_size: u64,
    pub config_digest: Digest,
    /// Bottom first.
    pub layers: Vec<LayerSummary>,
    /// The NAR hash of the archive written, computed as it was written (see
    /// `makes_store::FileNarHasher`), when its length was known beforehand.
    pub archive_nar: Option<makes_store::FileNar>,
}

/// What [`build_image_with`] may use besides the inputs; all optional.
#[derive(Default, Clone, Copy)]
pub struct ImageOptions<'a> {
    /// A directory caching layers by the hash of their inputs ([`cache`] module docs).
    pub layer_cache: Option<&'a Path>,
    /// The host directory of the store, mounted at `/nix/store` for `runAsRoot` and
    /// `enableFakechroot`.
    pub store_dir: Option<&'a Path>,
    /// Told about each layer as it is written.
    pub progress: Option<&'a dyn LayerProgress>,
    /// The `fromImage` whose layers come first.
    pub base: Option<&'a BaseImage>,
}

/// Progress of the layers of one image (the CLI draws bars; the library never prints).
pub trait LayerProgress {
    /// Layer `index` of `count` starts; `total` is the expected uncompressed size in bytes.
    fn start(&self, index: usize, count: usize, label: &str, total: u64);
    /// `bytes` more of the current layer (the last one started) were written.
    fn advance(&self, bytes: u64);
    /// Layer `index` is done; `cached` when it came from the layer cache, `size` its blob's.
    /// Layers are compressed while the next ones are read, so a layer may finish after later
    /// ones started.
    fn finish(&self, index: usize, cached: bool, size: u64);
}

/// Builds the image described by `inputs` into `out_file`: one tar that is an OCI image layout
/// and a Docker archive. `out_file` is replaced atomically.
pub fn build_image(inputs: &ImageInputs, out_file: &Path) -> Result<ImageSummary, OciError> {
    build_image_with(inputs, &ImageOptions::default(), out_file)
}

/// [`build_image`] with a layer cache, a store to mount for root scripts, and progress.
///
/// The steps: check the inputs and fix the image's times; find the contents and config
/// references in the closure; plan the layers; take the base
/// image's layers as they are; build (or take from the cache) each planned layer; write the
/// config, manifest and indexes; pack the archive.
pub fn build_image_with(
    inputs: &ImageInputs,
    options: &ImageOptions,
    out_file: &Path,
) -> Result<ImageSummary, OciError> {
    let times = check_inputs(inputs)?;
    let contents = resolve_contents(inputs)?;
    for reference in &inputs.spec.config_references {
        find_in_closure(inputs.closure, reference, "config reference")?;
    }
    let base_layers = options.base.map_or(0, |b| b.layers.len());
    let plan = match &inputs.spec.layering_pipeline {
        Some(pipeline) if inputs.spec.layered => {
            plan_pipeline_layers(inputs.spec, inputs.closure, pipeline)?
        }
        _ => plan_layers_over_base(inputs.spec, inputs.closure, base_layers),
    };
    let work = Workspace::create(inputs.scratch, options.layer_cache)?;
    let builder = LayerBuilder::new(inputs, options, &contents, &work, times.mtime);
    let mut written = WrittenLayers::from_base(options.base, plan.layers.len());
    let count = plan.layers.len();
    // Every layer is read and handed to the compressors before any is waited for, so that the
    // compression of one overlaps the reading of the next.
    let layer_writer = LayerWriter::new(inputs.spec.compressor, &work.blob_dir)?;
    let mut built = Vec::with_capacity(count);
    for (index, planned) in plan.layers.iter().enumerate() {
        built.push(builder.layer(index, count, planned, &layer_writer)?);
    }
    for layer in built {
        let (layer, blob) = builder.complete(layer)?;
        written.layers.push(layer);
        written.blobs.push(blob);
    }
    drop(layer_writer);
    write_image(
        inputs.spec,
        options.base,
        &times,
        written,
        &work.meta_dir,
        out_file,
    )
}

/// When the image says it was made, and the mtime of its files.
struct ImageTimes<'a> {
    created: &'a str,
    mtime: u64,
}

/// Refuses what cannot be built (too few layers, a bad timestamp, a closure that is not
/// closed) before anything is written.
fn check_inputs<'a>(inputs: &'a ImageInputs) -> Result<ImageTimes<'a>, OciError> {
    let spec = inputs.spec;
    if spec.layered && spec.max_layers < 2 {
        return Err(OciError::TooFewLayers {
            max_layers: spec.max_layers,
        });
    }
    let created = match &spec.created {
        Created::At(s) => s.as_str(),
        Created::Now => inputs.now,
    };
    timestamp::parse_iso8601("created", created)?;
    let mtime = if spec.mtime == "now" {
        timestamp::parse_iso8601("now", inputs.now)?
    } else {
        timestamp::parse_iso8601("mtime", &spec.mtime)?
    };
    check_closure(inputs.closure)?;
    Ok(ImageTimes { created, mtime })
}

/// The scratch directories of one build: blobs go to the layer cache when there is one, else
/// to a temporary directory; the config and manifests always to a temporary one.
struct Workspace {
    /// Removed when the build ends.
    dir: tempfile::TempDir,
    cache: Option<LayerCache>,
    blob_dir: PathBuf,
    meta_dir: PathBuf,
}

impl Workspace {
    fn create(scratch: &Path, layer_cache: Option<&Path>) -> Result<Workspace, OciError> {
        let dir = tempfile::Builder::new()
            .prefix("makes-oci-")
            .tempdir_in(scratch)
            .map_err(OciError::io(scratch))?;
        let cache = match layer_cache {
            Some(cache_dir) => Some(LayerCache::open(cache_dir)?),
            None => None,
        };
        let blob_dir = match &cache {
            Some(c) => c.blob_dir(),
            None => {
                let d = dir.path().join("blobs");
                fs::create_dir(&d).map_err(OciError::io(&d))?;
                d
            }
        };
        let meta_dir = dir.path().join("meta");
        fs::create_dir(&meta_dir).map_err(OciError::io(&meta_dir))?;
        Ok(Workspace {
            dir,
            cache,
            blob_dir,
            meta_dir,
        })
    }
}

/// The layers of the image so far, bottom first, and the blobs that hold them.
struct WrittenLayers {
    layers: Vec<LayerSummary>,
    blobs: Vec<StoredBlob>,
}

impl WrittenLayers {
    /// The base image's layers, byte for byte under their own digests, with room for `more`.
    fn from_base(base: Option<&BaseImage>, more: usize) -> WrittenLayers {
        let base_layers = base.map(|b| b.layers.as_slice()).unwrap_or_default();
        let mut written = WrittenLayers {
            layers: Vec::with_capacity(base_layers.len() + more),
            blobs: Vec::with_capacity(base_layers.len() + more + 2),
        };
        for layer in base_layers {
            written.layers.push(LayerSummary {
                digest: layer.digest,
                diff_id: layer.diff_id,
                size: layer.size,
                media_type: layer.media_type,
                store_paths: Vec::new(),
                customisation: false,
                from_base: true,
            });
            written.blobs.push(StoredBlob {
                path: layer.blob.clone(),
                digest: layer.digest,
                size: layer.size,
            });
        }
        written
    }
}

/// A layer of the plan: taken from the cache, or written and waiting for its blob.
enum BuiltLayer {
    Cached(LayerSummary, StoredBlob),
    Writing {
        index: usize,
        key: Digest,
        blob: PendingBlob,
        summary: LayerSummary,
    },
}

/// What every planned layer is built with.
struct LayerBuilder<'a> {
    inputs: &'a ImageInputs<'a>,
    options: &'a ImageOptions<'a>,
    contents: &'a [ContentSource],
    work: &'a Workspace,
    policy: HeaderPolicy,
    media_type: &'static str,
    infos: BTreeMap<&'a StorePath, &'a PathInfo>,
    scripts: RootScripts<'a>,
}

impl<'a> LayerBuilder<'a> {
    fn new(
        inputs: &'a ImageInputs<'a>,
        options: &'a ImageOptions<'a>,
        contents: &'a [ContentSource],
        work: &'a Workspace,
        mtime: u64,
    ) -> LayerBuilder<'a> {
        let spec = inputs.spec;
        LayerBuilder {
            inputs,
            options,
            contents,
            work,
            policy: HeaderPolicy {
                mtime,
                uid: u64::from(spec.uid),
                gid: u64::from(spec.gid),
                uname: spec.uname.clone(),
                gname: spec.gname.clone(),
            },
            media_type: compress::media_type(spec.compressor),
            infos: inputs.closure.iter().map(|p| (&p.path, p)).collect(),
            scripts: RootScripts {
                run_as_root: &spec.run_as_root,
                extra_commands: &spec.extra_commands,
                fake_root_commands: &spec.fake_root_commands,
                fakechroot: spec.enable_fakechroot,
                store_dir: options.store_dir,
            },
        }
    }

    /// Layer `index` of `count`: from the cache when its key is there, else its tar written
    /// to `layers` (compressed and stored meanwhile: [`LayerBuilder::complete`] waits for it).
    fn layer(
        &self,
        index: usize,
        count: usize,
        planned: &PlannedLayer,
        layers: &LayerWriter,
    ) -> Result<BuiltLayer, OciError> {
        let mut key = self.store_key(planned);
        // Only layers with a customisation root need their entries to know their key.
        let prepared = match planned.root {
            Some(mode) => Some(self.customisation(planned, mode, &mut key)?),
            None => None,
        };
        let key = key.finish();
        let label = layer_label(planned);
        // The digests are filled in when the layer is known.
        let summary = LayerSummary {
            digest: key,
            diff_id: key,
            size: 0,
            media_type: self.media_type,
            store_paths: planned.store_paths.clone(),
            customisation: planned.root.is_some(),
            from_base: false,
        };
        let progress = self.options.progress;
        let cached = self.work.cache.as_ref().and_then(|c| c.get(&key));
        if let Some((record, digest, diff_id, path)) = cached {
            if let Some(p) = progress {
                p.start(index, count, &label, 0);
                p.finish(index, true, record.size);
            }
            let blob = StoredBlob {
                path,
                digest,
                size: record.size,
            };
            let summary = LayerSummary {
                digest,
                diff_id,
                size: record.size,
                ..summary
            };
            return Ok(BuiltLayer::Cached(summary, blob));
        }
        let blob = match prepared {
            // A layer of store paths only is written as its trees are walked.
            None if !planned.store_paths.is_empty() => {
                if let Some(p) = progress {
                    let nar_bytes = planned
                        .store_paths
                        .iter()
                        .filter_map(|path| self.infos.get(path))
                        .map(|info| info.nar_size)
                        .sum();
                    p.start(index, count, &label, nar_bytes);
                }
                self.write_store_layer(&planned.store_paths, layers)?
            }
            prepared => {
                let mut entries = LayerEntries::new();
                add_store_paths(&mut entries, &planned.store_paths, self.inputs.real_path)?;
                let start = |root_bytes: u64, entries: &LayerEntries| {
                    if let Some(p) = progress {
                        p.start(index, count, &label, entries.size_hint().1 + root_bytes);
                    }
                };
                // Store paths win over customisation content at the same path (single-layer
                // mode only; a store layer and the root never share a path otherwise).
                match prepared {
                    None => {
                        start(0, &entries);
                        self.write_layer(&entries, None, layers)?
                    }
                    Some((RootEntries::Joined(joined), _root, root_bytes)) => {
                        start(root_bytes, &entries);
                        self.write_layer(&entries, Some(&joined), layers)?
                    }
                    // The root is kept until the layer's tar is written: the files of a root
                    // on disk are read from it.
                    Some((RootEntries::Listed(root_entries), _root, _)) => {
                        entries.merge_missing(root_entries);
                        start(0, &entries);
                        self.write_layer(&entries, None, layers)?
                    }
                }
            }
        };
        Ok(BuiltLayer::Writing {
            index,
            key,
            blob,
            summary,
        })
    }

    /// A layer once its blob is stored: recorded in the cache, reported done.
    fn complete(&self, layer: BuiltLayer) -> Result<(LayerSummary, StoredBlob), OciError> {
        let (index, key, blob, summary) = match layer {
            BuiltLayer::Cached(summary, blob) => return Ok((summary, blob)),
            BuiltLayer::Writing {
                index,
                key,
                blob,
                summary,
            } => (index, key, blob, summary),
        };
        let LayerBlob {
            blob: stored,
            diff_id,
        } = blob.wait()?;
        if let Some(c) = &self.work.cache {
            c.put(
                &key,
                &CachedLayer {
                    digest: stored.digest.to_string(),
                    diff_id: diff_id.to_string(),
                    size: stored.size,
                },
            )?;
        }
        if let Some(p) = self.options.progress {
            p.finish(index, false, stored.size);
        }
        let summary = LayerSummary {
            digest: stored.digest,
            diff_id,
            size: stored.size,
            ..summary
        };
        Ok((summary, stored))
    }

    /// The start of a layer's cache key: format, compressor, owner policy, the store paths
    /// with their NAR hashes.
    fn store_key(&self, planned: &PlannedLayer) -> LayerKey {
        let mut key = LayerKey::new();
        key.field(self.media_type.as_bytes());
        key.field(&(compress::CHUNK_SIZE as u64).to_le_bytes());
        key.field(&compress::GZIP_LEVEL.to_le_bytes());
        key.field(&compress::ZSTD_LEVEL.to_le_bytes());
        key.field(format!("{:?}", self.policy).as_bytes());
        for p in &planned.store_paths {
            key.field(p.base_name().as_bytes());
            key.field(
                self.infos
                    .get(p)
                    .map_or("", |i| i.nar_hash.as_str())
                    .as_bytes(),
            );
        }
        key
    }

    /// `includeNixDB`: the directory of the workspace holding the Nix database of the
    /// contents' closure and its gcroots. It lives as long as the workspace, since the layer
    /// entries read its files when the tar is written.
    fn nix_db(&self) -> Result<PathBuf, OciError> {
        let dir = self.work.dir.path().join("nix-db");
        if dir.exists() {
            return Ok(dir);
        }
        let roots: Vec<String> = self
            .inputs
            .spec
            .contents
            .iter()
            .map(StorePath::to_absolute)
            .collect();
        let roots: Vec<&str> = roots.iter().map(String::as_str).collect();
        let paths = nix_db::closure_of(self.inputs.closure, &roots);
        nix_db::write_nix_db(&dir, &paths, &roots)?;
        Ok(dir)
    }

    /// Builds the customisation root of a layer and adds the fingerprint of its entries to
    /// `key`; also gives the bytes of the root's file contents.
    fn customisation(
        &self,
        planned: &PlannedLayer,
        mode: RootMode,
        key: &mut LayerKey,
    ) -> Result<(RootEntries, CustomisationRoot, u64), OciError> {
        let db_dir = match self.inputs.spec.include_nix_db {
            true => Some(self.nix_db()?),
            false => None,
        };
        let rules = JoinRules {
            mode,
            keep_dirlinks: self.inputs.spec.keep_contents_dirlinks,
            nix_db: db_dir.as_deref(),
        };
        let mut root = build_customisation_root(
            self.contents,
            rules,
            &self.scripts,
            self.options.base,
            self.work.dir.path(),
        )?;
        let owned = if root.owners_changed() {
            ModePolicy::AsIsOwned
        } else {
            ModePolicy::AsIs
        };
        let root_entries = root.take_layer_entries(owned)?;
        key.field(b"root");
        let store_prefixes: Vec<Vec<u8>> = planned
            .store_paths
            .iter()
            .map(|p| format!("{}/{}", store_rel(), p.base_name()).into_bytes())
            .collect();
        let root_bytes = root_entries.fingerprint(&store_prefixes, key)?;
        Ok((root_entries, root, root_bytes))
    }

    /// Writes the trees of `paths` as a tar into the next layer of `layers`, walking them as
    /// they are written (the bytes [`LayerBuilder::write_layer`]
    /// gives the same trees).
    fn write_store_layer(
        &self,
        paths: &[StorePath],
        layers: &LayerWriter,
    ) -> Result<PendingBlob, OciError> {
        let store = store_rel();
        let parents: Vec<&[u8]> = store
            .match_indices('/')
            .map(|(i, _)| &store.as_bytes()[..i])
            .chain([store.as_bytes()])
            .collect();
        let disks: Vec<PathBuf> = paths.iter().map(|p| (self.inputs.real_path)(p)).collect();
        let mut trees: Vec<StoreTree> = paths
            .iter()
            .zip(&disks)
            .map(|(p, disk)| StoreTree {
                disk,
                archive: format!("{store}/{}", p.base_name()).into_bytes(),
            })
            .collect();
        let counting = ProgressWriter {
            inner: layers.layer()?,
            progress: self.options.progress,
            pending: 0,
        };
        let out = store_layer::write_store_layer(&parents, &mut trees, &self.policy, counting)?;
        out.inner.finish()
    }

    /// Writes `entries`, with the entries of `joined` when given, as a tar into the next layer
    /// of `layers`.
    fn write_layer(
        &self,
        entries: &LayerEntries,
        joined: Option<&JoinedRoot>,
        layers: &LayerWriter,
    ) -> Result<PendingBlob, OciError> {
        let counting = ProgressWriter {
            inner: layers.layer()?,
            progress: self.options.progress,
            pending: 0,
        };
        let out = match joined {
            Some(root) => {
                write_tar_merged(entries, |visit| root.walk(visit), &self.policy, counting)?
            }
            None => write_tar(entries, &self.policy, counting)?,
        };
        out.inner.finish()
    }
}

/// The image config: the spec's, with the base image's `Env` merged in (only `Env` is
/// inherited from a base image, as dockerTools does).
fn image_config(spec: &ImageSpec, base: Option<&BaseImage>) -> BTreeMap<String, serde_json::Value> {
    match base {
        Some(base) if !base.env.is_empty() => {
            let own: Vec<String> = spec
                .config
                .get("Env")
                .and_then(|e| e.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let mut merged = spec.config.clone();
            merged.insert(
                "Env".to_owned(),
                serde_json::json!(base::merge_env(&base.env, &own)),
            );
            merged
        }
        _ => spec.config.clone(),
    }
}

/// Writes the config, the manifest, `index.json` and Docker's `manifest.json`, then packs
/// them with the layers' blobs into the archive `out_file`.
fn write_image(
    spec: &ImageSpec,
    base: Option<&BaseImage>,
    times: &ImageTimes,
    written: WrittenLayers,
    meta_dir: &Path,
    out_file: &Path,
) -> Result<ImageSummary, OciError> {
    let WrittenLayers { layers, mut blobs } = written;
    let config_layers: Vec<ConfigLayer> = layers.iter().map(history_comment).collect();
    let config_json = config::image_config_json(
        times.created,
        &spec.architecture,
        &image_config(spec, base),
        &config_layers,
    )?;
    let config_blob = write_blob(meta_dir, &config_json)?;
    let config_desc = Descriptor::new(OCI_CONFIG, &config_blob.digest, config_blob.size);
    let layer_descs: Vec<Descriptor> = layers
        .iter()
        .map(|l| Descriptor::new(l.media_type, &l.digest, l.size))
        .collect();
    let manifest_json = config::manifest_json(&config_desc, &layer_descs)?;
    let manifest_blob = write_blob(meta_dir, &manifest_json)?;
    let manifest_desc = Descriptor::new(OCI_MANIFEST, &manifest_blob.digest, manifest_blob.size);
    let index_json = config::index_json(&manifest_desc, &spec.name, &spec.tag)?;
    let layer_digests: Vec<Digest> = layers.iter().map(|l| l.digest).collect();
    let docker_json =
        config::docker_manifest_json(&config_blob.digest, &layer_digests, &spec.name, &spec.tag)?;
    let mut summary = ImageSummary {
        manifest_digest: manifest_blob.digest,
        manifest_size: manifest_blob.size,
        config_digest: config_blob.digest,
        layers,
        archive_nar: None,
    };
    blobs.push(config_blob);
    blobs.push(manifest_blob);
    summary.archive_nar = write_archive(
        out_file,
        &blobs,
        &ArchiveMetadata {
            index_json: &index_json,
            docker_manifest_json: &docker_json,
            mtime: times.mtime,
        },
    )?;
    Ok(summary)
}

/// The store directory relative to `/` (`nix/store`).
fn store_rel() -> &'static str {
    STORE_DIR.trim_start_matches('/')
}

fn layer_label(planned: &PlannedLayer) -> String {
    match (planned.root.is_some(), planned.store_paths.as_slice()) {
        (true, []) => "customisation".to_string(),
        (true, paths) => format!("root + {} store paths", paths.len()),
        (false, [one]) => one.name.clone(),
        (false, paths) => format!("{} store paths", paths.len()),
    }
}

/// Counts the uncompressed bytes for the progress report.
struct ProgressWriter<'p, W> {
    inner: W,
    progress: Option<&'p dyn LayerProgress>,
    pending: u64,
}

impl<W: std::io::Write> std::io::Write for ProgressWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W> ProgressWriter<'_, W> {
    fn count(&mut self, n: u64) {
        if let Some(p) = self.progress {
            self.pending += n;
            if self.pending >= 1 << 20 {
                p.advance(self.pending);
                self.pending = 0;
            }
        }
    }
}

impl<W: TarSink> TarSink for ProgressWriter<'_, W> {
    fn append_file(&mut self, file: &fs::File, size: u64) -> std::io::Result<u64> {
        let n = self.inner.append_file(file, size)?;
        self.count(n);
        Ok(n)
    }
}

/// Adds `nix/`, `nix/store/` (0755) and each store path's tree to `entries`.
fn add_store_paths(
    entries: &mut LayerEntries,
    paths: &[StorePath],
    real_path: &dyn Fn(&StorePath) -> PathBuf,
) -> Result<(), OciError> {
    if paths.is_empty() {
        return Ok(());
    }
    let store = store_rel();
    let mut prefix = String::new();
    for component in store.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(component);
        entries.insert_dir_with_mode(prefix.as_bytes(), SYNTHESIZED_DIR_MODE)?;
    }
    for p in paths {
        let archive = format!("{store}/{}", p.base_name());
        entries.add_tree(&real_path(p), archive.as_bytes(), ModePolicy::Store)?;
    }
    Ok(())
}

fn history_comment(layer: &LayerSummary) -> ConfigLayer {
    let paths: Vec<String> = layer.store_paths.iter().map(|p| p.to_absolute()).collect();
    let comment = match (layer.customisation, paths.is_empty()) {
        _ if layer.from_base => "base image layer".to_string(),
        (true, true) => "makes customisation layer".to_string(),
        (true, false) => format!(
            "makes customisation layer; store paths: {}",
            paths.join(" ")
        ),
        (false, _) => format!("store paths: {}", paths.join(" ")),
    };
    ConfigLayer {
        diff_id: layer.diff_id,
        comment,
    }
}

/// Every reference of the closure is in the closure.
fn check_closure(closure: &[PathInfo]) -> Result<(), OciError> {
    let known: BTreeSet<&StorePath> = closure.iter().map(|p| &p.path).collect();
    for info in closure {
        for r in &info.references {
            if !known.contains(r) {
                return Err(OciError::MissingFromClosure {
                    role: "reference",
                    path: format!("{r} (of {})", info.path),
                });
            }
        }
    }
    Ok(())
}

/// The closure entry of `path`.
fn find_in_closure<'c>(
    closure: &'c [PathInfo],
    path: &StorePath,
    role: &'static str,
) -> Result<&'c PathInfo, OciError> {
    closure
        .iter()
        .find(|info| &info.path == path)
        .ok_or_else(|| OciError::MissingFromClosure {
            role,
            path: path.to_string(),
        })
}

fn resolve_contents(inputs: &ImageInputs) -> Result<Vec<ContentSource>, OciError> {
    inputs
        .spec
        .contents
        .iter()
        .map(|c| {
            let info = find_in_closure(inputs.closure, c, "content")?;
            Ok(ContentSource {
                logical: info.path.to_absolute(),
                real: (inputs.real_path)(&info.path),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use makes_spec::Compressor;

    fn sp(base: &str) -> StorePath {
        let (hash, name) = base.split_once('-').expect("base name");
        StorePath {
            hash: hash.into(),
            name: name.into(),
        }
    }

    #[test]
    fn contents_resolve_to_closure_paths() {
        let h = "a".repeat(32);
        let closure = vec![PathInfo {
            path: sp(&format!("{h}-hello")),
            references: vec![],
            nar_size: 1,
            nar_hash: String::new(),
        }];
        let info = find_in_closure(&closure, &sp(&format!("{h}-hello")), "content").expect("found");
        assert_eq!(info.path.name, "hello");
        let other = sp(&format!("{}-hello", "b".repeat(32)));
        assert!(find_in_closure(&closure, &other, "content").is_err());
        let mut broken = closure.clone();
        broken[0]
            .references
            .push(sp(&format!("{}-gone", "b".repeat(32))));
        assert!(check_closure(&broken).is_err());
        assert!(check_closure(&closure).is_ok());
    }

    #[test]
    fn bad_inputs_fail_before_writing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spec = ImageSpec {
            name: "img".into(),
            max_layers: 1,
            architecture: "amd64".into(),
            ..ImageSpec::default()
        };
        let real = |p: &StorePath| dir.path().join(p.base_name());
        let out = dir.path().join("out.tar");
        let build = |spec: &ImageSpec| {
            build_image(
                &ImageInputs {
                    spec,
                    closure: &[],
                    real_path: &real,
                    now: "2025-01-01T00:00:00Z",
                    scratch: dir.path(),
                },
                &out,
            )
        };
        assert!(matches!(build(&spec), Err(OciError::TooFewLayers { .. })));
        spec.max_layers = 2;
        spec.created = Created::At("yesterday".into());
        assert!(matches!(
            build(&spec),
            Err(OciError::InvalidTimestamp { .. })
        ));
        spec.created = Created::Now;
        spec.compressor = Compressor::None;
        spec.contents = vec![sp(&format!("{}-missing", "m".repeat(32)))];
        assert!(matches!(
            build(&spec),
            Err(OciError::MissingFromClosure { .. })
        ));
        assert!(!out.exists());
        spec.contents.clear();
        let summary = build(&spec).expect("an empty image builds");
        assert_eq!(summary.layers.len(), 1);
        assert!(out.exists());
    }
}
