//! The makes store: Nix-compatible store paths, NAR serialisation, the local store on disk,
//! and the builders that fill it.
//!
//! Paths are named as Nix names them (`/nix/store/<hash>-<name>`, [`make_store_path`]) and
//! hashed over NARs identical to `nix-store --dump` ([`write_nar`], read back by
//! [`restore_nar`] and [`LocalStore::add_nar`]); the store itself lives in
//! any host directory ([`LocalStore`]) and builders see it at `/nix/store` through a mount
//! namespace ([`run_derivation`]).

mod builder;
mod error;
mod eval_builtins;
mod eval_glue;
mod fsutil;
mod gc;
mod hash;
mod local;
mod nar;
mod nar_add;
mod nar_read;
mod native_packages;
mod native_script;
mod native_templates;
mod nix_store;
pub mod nixbase32;
pub mod packages;
mod path;
mod refscan;
mod sandbox;
mod source_cache;

pub use builder::run_derivation;
pub use error::{Result, StoreError};
pub use eval_builtins::{project_path_builtin, store_builtins};
pub use eval_glue::{
    image_output_path, pull_output_path, realise, store_arguments, Builders, ImageBuilder,
    ImagePuller, RealiseError, Recipe, Recipes, StoreIo, UrlFetcher,
};
pub use gc::GcReport;
pub use local::LocalStore;
pub use nar::{nar_hash_and_size, write_nar, HashingWriter};
pub use nar_add::StagedNar;
pub use nar_read::restore_nar;
pub use path::{
    derivation_output_path, fixed_output_path, make_store_path, source_store_path, validate_name,
    PathInfo, StorePath, STORE_DIR,
};
pub use sandbox::{
    run_script_as_build_user, run_script_as_root, RootScript, BUILD_USER_HOST_ID,
    FAKE_ROOT_HOST_BASE,
};
