//! The makes image builder: `makeContainerImage` without Nix or dockerTools.
//!
//! Plan purely, then stream (STYLE.md "Images and tars"): [`plan_layers`] decides which store
//! paths go into which layer; [`build_image`] then builds the customisation root (contents
//! joined into `/`, `extraCommands`), writes each layer as a deterministic tar through a hashing
//! writer (the diff_id) and the compressor into a blob named by its digest, writes the config and
//! manifest, and packs everything into one tar that is both an OCI image layout and a Docker
//! archive. The same inputs give the same bytes; the only clock is [`ImageInputs::now`], used
//! when the spec says `created = "now"`.
//!
//! Contract: `shared/spec/makeContainerImage.md`; formats: REFERENCE.md sections 3 and 4.

mod archive;
mod blob;
mod config;
mod customisation;
mod error;
mod fsck;
mod plan;
mod store_builder;
mod tar_writer;
mod timestamp;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use makes_spec::{Created, ImageSpec};
use makes_store::{PathInfo, StorePath, STORE_DIR};

pub use blob::Digest;
pub use error::OciError;
pub use fsck::{fsck_archive, ArchiveCheck};
pub use plan::{plan_layers, LayerPlan, PlannedLayer, RootMode};
pub use store_builder::NativeImageBuilder;

use archive::{write_archive, ArchiveMetadata};
use blob::{write_blob, BlobWriter, HashingWriter, LayerCompressor, StoredBlob};
use config::{ConfigLayer, Descriptor, MEDIA_TYPE_CONFIG, MEDIA_TYPE_MANIFEST};
use customisation::{build_customisation_root, ContentSource, CustomisationRoot};
use tar_writer::{write_layer_tar, HeaderPolicy, LayerEntries, ModePolicy, SYNTHESIZED_DIR_MODE};

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
}

/// What [`build_image`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub manifest_digest: Digest,
    pub manifest_size: u64,
    pub config_digest: Digest,
    /// Bottom first.
    pub layers: Vec<LayerSummary>,
}

/// Builds the image described by `inputs` into `out_file`: one tar that is an OCI image layout
/// and a Docker archive. `out_file` is replaced atomically.
pub fn build_image(inputs: &ImageInputs, out_file: &Path) -> Result<ImageSummary, OciError> {
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
    let contents = resolve_contents(inputs)?;
    for reference in &spec.config_references {
        find_in_closure(inputs.closure, reference, "config reference")?;
    }

    let plan = plan_layers(spec, inputs.closure);
    let work = tempfile::Builder::new()
        .prefix("makes-oci-")
        .tempdir_in(inputs.scratch)
        .map_err(OciError::io(inputs.scratch))?;
    let blob_dir = work.path().join("blobs");
    fs::create_dir(&blob_dir).map_err(OciError::io(&blob_dir))?;
    let policy = HeaderPolicy {
        mtime,
        uid: u64::from(spec.uid),
        gid: u64::from(spec.gid),
        uname: spec.uname.clone(),
        gname: spec.gname.clone(),
    };
    // Refuse an unsupported compressor before any work is done.
    LayerCompressor::new(spec.compressor, std::io::sink())?;
    let media_type = LayerCompressor::<std::io::Sink>::media_type(spec.compressor);

    let mut root: Option<CustomisationRoot> = None;
    let mut layers = Vec::with_capacity(plan.layers.len());
    let mut blobs: Vec<StoredBlob> = Vec::new();
    for planned in &plan.layers {
        let mut entries = LayerEntries::new();
        add_store_paths(&mut entries, &planned.store_paths, inputs.real_path)?;
        if let Some(mode) = planned.root {
            let r = build_customisation_root(&contents, mode, &spec.extra_commands, work.path())?;
            let mut root_entries = LayerEntries::new();
            root_entries.add_tree(r.path(), b"", ModePolicy::AsIs)?;
            // Store paths win over customisation content at the same path (single-layer mode
            // only; a store layer and the root never share a path otherwise).
            entries.merge_missing(root_entries);
            root = Some(r);
        }
        let mut out = HashingWriter::new(LayerCompressor::new(
            spec.compressor,
            BlobWriter::new(&blob_dir)?,
        )?);
        out = write_layer_tar(&entries, &policy, out)?;
        let (compressor, diff_id, _) = out.finish();
        let stored = compressor
            .finish()
            .map_err(OciError::io(&blob_dir))?
            .complete()?;
        layers.push(LayerSummary {
            digest: stored.digest,
            diff_id,
            size: stored.size,
            media_type,
            store_paths: planned.store_paths.clone(),
            customisation: planned.root.is_some(),
        });
        blobs.push(stored);
    }
    drop(root);

    let config_layers: Vec<ConfigLayer> = layers.iter().map(history_comment).collect();
    let config_json =
        config::image_config_json(created, &spec.architecture, &spec.config, &config_layers)?;
    let config_blob = write_blob(&blob_dir, &config_json)?;
    let config_desc = Descriptor::new(MEDIA_TYPE_CONFIG, &config_blob.digest, config_blob.size);
    let layer_descs: Vec<Descriptor> = layers
        .iter()
        .map(|l| Descriptor::new(l.media_type, &l.digest, l.size))
        .collect();
    let manifest_json = config::manifest_json(&config_desc, &layer_descs)?;
    let manifest_blob = write_blob(&blob_dir, &manifest_json)?;
    let manifest_desc = Descriptor::new(
        MEDIA_TYPE_MANIFEST,
        &manifest_blob.digest,
        manifest_blob.size,
    );
    let index_json = config::index_json(&manifest_desc, &spec.name, &spec.tag)?;
    let layer_digests: Vec<Digest> = layers.iter().map(|l| l.digest).collect();
    let docker_json =
        config::docker_manifest_json(&config_blob.digest, &layer_digests, &spec.name, &spec.tag)?;
    let summary = ImageSummary {
        manifest_digest: manifest_blob.digest,
        manifest_size: manifest_blob.size,
        config_digest: config_blob.digest,
        layers,
    };
    blobs.push(config_blob);
    blobs.push(manifest_blob);
    write_archive(
        out_file,
        &blobs,
        &ArchiveMetadata {
            index_json: &index_json,
            docker_manifest_json: &docker_json,
            mtime,
        },
    )?;
    Ok(summary)
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
    let store = STORE_DIR.trim_start_matches('/');
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

/// The closure entry holding `path` (a store path or a path inside one), and the rest of the
/// path below it.
fn find_in_closure<'c>(
    closure: &'c [PathInfo],
    path: &str,
    role: &'static str,
) -> Result<(&'c PathInfo, String), OciError> {
    let missing = || OciError::MissingFromClosure {
        role,
        path: path.to_string(),
    };
    let rel = path
        .strip_prefix(STORE_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(missing)?;
    let (base, rest) = rel.split_once('/').unwrap_or((rel, ""));
    let by_base: BTreeMap<String, &PathInfo> =
        closure.iter().map(|p| (p.path.base_name(), p)).collect();
    let info = by_base.get(base).ok_or_else(missing)?;
    Ok((info, rest.trim_end_matches('/').to_string()))
}

fn resolve_contents(inputs: &ImageInputs) -> Result<Vec<ContentSource>, OciError> {
    inputs
        .spec
        .contents
        .iter()
        .map(|c| {
            let (info, rest) = find_in_closure(inputs.closure, c, "content")?;
            let mut real = (inputs.real_path)(&info.path);
            let mut logical = info.path.to_absolute();
            if !rest.is_empty() {
                real.push(&rest);
                logical = format!("{logical}/{rest}");
            }
            Ok(ContentSource { logical, real })
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
    fn contents_resolve_to_closure_paths_and_subpaths() {
        let h = "a".repeat(32);
        let closure = vec![PathInfo {
            path: sp(&format!("{h}-hello")),
            references: vec![],
            nar_size: 1,
            nar_hash: String::new(),
        }];
        let (info, rest) =
            find_in_closure(&closure, &format!("/nix/store/{h}-hello/bin"), "content")
                .expect("found");
        assert_eq!(info.path.name, "hello");
        assert_eq!(rest, "bin");
        assert!(find_in_closure(&closure, "/nix/store/x-y", "content").is_err());
        assert!(find_in_closure(&closure, "/tmp/hello", "content").is_err());
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
            tag: "latest".into(),
            created: Created::At("1970-01-01T00:00:01Z".into()),
            layered: true,
            max_layers: 1,
            contents: vec![],
            config: Default::default(),
            config_references: vec![],
            extra_commands: String::new(),
            architecture: "amd64".into(),
            mtime: "1970-01-01T00:00:01Z".into(),
            uid: 0,
            gid: 0,
            uname: "root".into(),
            gname: "root".into(),
            compressor: Compressor::Gz,
            include_store_paths: true,
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
        spec.compressor = Compressor::Zstd;
        assert!(matches!(
            build(&spec),
            Err(OciError::UnsupportedCompressor { .. })
        ));
        spec.compressor = Compressor::None;
        spec.contents = vec!["/nix/store/missing-x".into()];
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
