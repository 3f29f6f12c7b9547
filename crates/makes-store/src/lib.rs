//! The makes store: Nix-compatible store paths, NAR serialisation, the local store on disk,
//! and the builders that fill it.
//!
//! Paths are named as Nix names them (`/nix/store/<hash>-<name>`, [`make_store_path`]) and
//! hashed over NARs identical to `nix-store --dump` ([`write_nar`], read back by
//! [`restore_nar`] and [`LocalStore::add_nar`]); the store itself lives in
//! any host directory ([`LocalStore`]) and builders see it at `/nix/store` through a mount
//! namespace ([`run_derivation`]).

mod base_dir;
mod build_log;
mod builder;
mod dir_listings;
mod disk_space;
mod error;
mod fsutil;
mod gc;
mod hash;
mod host_run;
mod local;
mod nar;
mod nar_add;
mod nar_read;
mod nix_build;
mod nix_store;
pub mod packages;
mod path;
mod plugin_error;
mod project_files;
mod recipes;
mod refscan;
mod resumable_sha256;
mod sandbox;
mod schedule;
mod source_cache;
mod source_import;
mod source_tree;
mod sweep;
mod valid_paths;

pub use build_log::{
    BuildLines, BuildLogSettings, LineHook, DEFAULT_MAX_LOG_BYTES, MAX_LINE_BYTES,
};
pub use builder::{run_derivation, run_derivation_showing};
pub use error::{Result, StoreError};
pub use gc::GcReport;
pub use hash::{parse_sha256, FlatHash, FlatHashAlgo};
pub use host_run::{run_on_host, HostRun};
pub use local::{LocalStore, SourceCheck};
pub use makes_store_path::{nixbase32, StorePathError};
pub use nar::{
    nar_hash_and_size, nar_hash_and_size_filtered, write_nar, FileNar, FileNarHasher, HashingWriter,
};
pub use nar_add::StagedNar;
pub use nar_read::restore_nar;
pub use nix_build::{build_nix_derivation, NixBuild, OutputCheck, OutputCheckError};
pub use path::{
    derivation_output_path, fixed_output_path, flat_fixed_output_path, make_store_path,
    source_store_path, validate_name, PathInfo, StorePath, STORE_DIR,
};
pub use plugin_error::PluginError;
pub use project_files::{ProjectFiles, VisibleFiles};
pub use recipes::{
    image_output_path, pull_output_path, realise, Builders, ImageBuilder, ImagePuller,
    RealiseError, Recipe, Recipes, UrlFetcher,
};
pub use sandbox::{
    run_script_as_build_user, run_script_as_root, RootScript, BUILD_USER_HOST_ID,
    FAKE_ROOT_HOST_BASE,
};
pub use schedule::{Activity, ActivityKind, BuildObserver, RealiseOptions, Silent};
pub use sweep::SessionGuard;

/// The shell options and helper functions every builder runs under (makes' own): scripts
/// that makes' arguments write (`makeScript`) start with them too.
pub fn shell_prelude() -> &'static str {
    builder::PRELUDE
}
