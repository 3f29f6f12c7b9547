//! `ImageSpec`: what a `makeContainerImage` call asks for, as plain data.
//!
//! The arguments are makes' `makeContainerImage` ones (`src/args/make-container-image`) and
//! dockerTools'; the defaults are makes'
//! (`layered = true`, `name = "container-image"`, `tag = "latest"`,
//! `created = "1970-01-01T00:00:01Z"`, `layers = [ ]`) and dockerTools' own for the rest.

use crate::layering_pipeline::LayeringPipeline;
use makes_store_path::StorePath;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The default `created` and `mtime` timestamp of makes and dockerTools.
pub const DEFAULT_CREATED: &str = "1970-01-01T00:00:01Z";

/// When the image says it was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Created {
    /// A fixed ISO-8601 date, copied verbatim into the image config.
    At(String),
    /// `created = "now"`: the build time (the image is then not reproducible).
    Now,
}

/// How layer blobs are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compressor {
    None,
    Gz,
    Zstd,
}

/// A typed `makeContainerImage` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSpec {
    pub name: String,
    pub tag: String,
    pub created: Created,
    /// `true`: `buildLayeredImage` semantics; `false`: `buildImage`.
    pub layered: bool,
    /// Upper bound on the number of layers (layered mode), dockerTools' default 100.
    pub max_layers: u32,
    /// Store paths of `contents` (alias `layers`), in the order given; their closures go into
    /// the image.
    pub contents: Vec<StorePath>,
    /// The OCI image `config` object (`Env`, `Cmd`, `Entrypoint`, ...), already validated.
    pub config: BTreeMap<String, serde_json::Value>,
    /// Store paths that strings of `config` refer to (their string contexts): their closures
    /// go into the image too.
    pub config_references: Vec<StorePath>,
    /// Shell commands run in the customisation layer's root.
    pub extra_commands: String,
    /// GOARCH-style architecture (`amd64`, `arm64`).
    pub architecture: String,
    /// Modification time of every file in the layers, ISO-8601.
    pub mtime: String,
    pub uid: u32,
    pub gid: u32,
    pub uname: String,
    pub gname: String,
    pub compressor: Compressor,
    pub include_store_paths: bool,
    /// `fakeRootCommands` (layered): run in the customisation root as root; the ownership it
    /// sets is kept in the layer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fake_root_commands: String,
    /// `enableFakechroot` (layered): run `fakeRootCommands` chrooted into the image root.
    #[serde(default, skip_serializing_if = "is_false")]
    pub enable_fakechroot: bool,
    /// `runAsRoot` (single-layer): run as root chrooted into the image root; its changes make
    /// the layer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_as_root: String,
    /// Store paths the scripts (`extraCommands`, `fakeRootCommands`, `runAsRoot`) refer to:
    /// they must be built before the image, but do not go into it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub script_inputs: Vec<StorePath>,
    /// `fromImage`: the store path of the base image (a pulled OCI layout directory, or an
    /// image archive); its layers come first, byte for byte, and its `Env` is inherited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_image: Option<StorePath>,
    /// Attributes accepted for compatibility that change nothing here (`diskSize`,
    /// `buildVMMemorySize`), to be reported to the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_effect: Vec<String>,
    /// `dockerTools.streamLayeredImage`: the output is an executable that writes the archive
    /// to its standard output, not the archive itself.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stream: bool,
    /// `keepContentsDirlinks` (single-layer): contents go through the root's symbolic links
    /// to directories, as `rsync --keep-dirlinks` copies.
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_contents_dirlinks: bool,
    /// `includeNixDB`: a Nix database registering the contents' closure under `/nix/var/nix`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub include_nix_db: bool,
    /// `layeringPipeline` (layered): nixpkgs' operations that decide the store layers, in
    /// place of makes' own plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layering_pipeline: Option<LayeringPipeline>,
}

impl Default for ImageSpec {
    /// An image with the documented defaults: makes' (`name = "container-image"`,
    /// `tag = "latest"`, `layered = true`, `created = "1970-01-01T00:00:01Z"`, no contents)
    /// and dockerTools' for the rest.
    fn default() -> Self {
        ImageSpec {
            name: "container-image".into(),
            tag: "latest".into(),
            created: Created::At(DEFAULT_CREATED.into()),
            layered: true,
            max_layers: 100,
            contents: Vec::new(),
            config: BTreeMap::new(),
            config_references: Vec::new(),
            extra_commands: String::new(),
            architecture: host_architecture().into(),
            mtime: DEFAULT_CREATED.into(),
            uid: 0,
            gid: 0,
            uname: "root".into(),
            gname: "root".into(),
            compressor: Compressor::Gz,
            include_store_paths: true,
            fake_root_commands: String::new(),
            enable_fakechroot: false,
            run_as_root: String::new(),
            script_inputs: Vec::new(),
            from_image: None,
            no_effect: Vec::new(),
            stream: false,
            keep_contents_dirlinks: false,
            include_nix_db: false,
            layering_pipeline: None,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The GOARCH name of the machine makes runs on, dockerTools' default `architecture`.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        other => other,
    }
}
