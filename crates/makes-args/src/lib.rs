//! makes' arguments, in one place, and the glue between the evaluator and the store: the table of every name any makes release passes to a
//! module ([`ARGUMENTS`], with the releases that pass it and what implements it) and
//! [`makes_arguments`], which gives each its value for one project. Pure helpers are Nix
//! (`nix/args/helpers.nix`, evaluated by makes with the other arguments in scope); those
//! that need the store come from the store's glue; those not implemented fail when used,
//! naming the argument. Here too: the evaluator's file access through the store
//! ([`StoreIo`]) and the built-ins that need the store ([`store_builtins`]: `builtins.path`,
//! `filterSource`, `toFile`, `storePath`).

mod docker_tools;
mod native;
mod native_packages;
mod native_script;
mod native_templates;
mod nix_helpers;
mod nixpkgs_source;
mod package_calls;
mod package_values;
mod pinned_nixpkgs;
mod source_checks;
mod store_builtins;
mod store_functions;
mod store_io;
mod table;
mod unsupported;
mod yaml;

pub use native_script::script_prelude;
pub use pinned_nixpkgs::{pinned_nixpkgs, PinnedNixpkgs, PINNED_NIXPKGS};
pub use store_builtins::store_builtins;
pub use store_io::{BeforeRead, DerivationOutputs, StoreIo};
pub use table::{Argument, Provider, ARGUMENTS};

use makes_eval::AttrSet;
use makes_eval::{Attrs, Thunk};
use makes_spec::Release;
use makes_store::packages::{PackageSetSource, Packages, SetOrigin};
use makes_store::{LocalStore, ProjectFiles};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;
use store_builtins::project_path_builtin;
use store_functions::store_arguments;

/// What the arguments of one project are made from.
pub struct ArgumentContext<'a> {
    pub store: &'a LocalStore,
    pub packages: &'a Rc<Packages>,
    pub project_dir: &'a Path,
    /// What of the project evaluation may see (git-tracked files in a checkout).
    pub project_files: &'a ProjectFiles,
    /// The build time (`created = "now"` images only).
    pub now: &'a str,
    /// The release whose rules apply.
    pub release: Release,
    /// Where `__nixpkgs__` is instead of the release's pinned nixpkgs (the `makes-nixpkgs`
    /// setting): a nixpkgs checkout or anything taking nixpkgs' arguments.
    pub makes_nixpkgs: Option<&'a Path>,
    /// The finished set a module is applied to, as the project loader completes it (with
    /// `config`, and `projectIdentifier` from it): the Nix helpers read `__stateDirs__`'s
    /// parts from it. Filled here with the makes arguments alone until the loader sets it.
    pub project_arguments: &'a Rc<RefCell<Option<AttrSet>>>,
}

/// makes' own package set `__nixpkgs__` for `cx`: the nixpkgs the release pins, or the
/// set the `makes-nixpkgs` setting names.
fn default_package_set(cx: &ArgumentContext) -> PackageSetSource {
    let origin = match cx.makes_nixpkgs {
        Some(dir) => SetOrigin::Checkout(dir.to_path_buf()),
        None => {
            let pin = pinned_nixpkgs(cx.release);
            SetOrigin::Github {
                rev: pin.rev.to_owned(),
                sha256: pin.sha256.to_owned(),
            }
        }
    };
    PackageSetSource {
        origin,
        // makes imports its nixpkgs with `config.allowUnfree = true`.
        allow_unfree: true,
        overlays: Vec::new(),
    }
}

/// Every makes argument for the project of `cx` (all releases' names), plus the loader's
/// `__packageSetAt` and [`makes_spec::MODULES_ARGUMENT`]. `inputs` and `outputs` are left to the project loader.
pub fn makes_arguments(cx: &ArgumentContext) -> Vec<(&'static str, Thunk)> {
    // The Nix helpers see the finished set: the makes arguments filled in below, then the
    // project loader's set.
    let this = cx.project_arguments.clone();
    let helpers = nix_helpers::helpers(this.clone(), cx.release, cx.project_dir);
    let state_dirs = nix_helpers::select(&helpers, "__stateDirs__");
    let mut store: HashMap<&'static str, Thunk> = store_arguments(
        cx.packages,
        cx.now,
        default_package_set(cx),
        state_dirs,
        cx.release,
    )
    .into_iter()
    .collect();
    store.insert(
        "projectPath",
        Thunk::value(project_path_builtin(
            cx.store,
            cx.project_dir,
            cx.project_files,
        )),
    );
    store.insert(
        "__nixpkgsSrc__",
        nixpkgs_source::nixpkgs_source(cx.release, cx.makes_nixpkgs),
    );
    let native: HashMap<&'static str, Thunk> = native::native_arguments(cx.project_dir)
        .into_iter()
        .collect();
    let mut args = Vec::new();
    for a in ARGUMENTS {
        let value = match a.provider {
            Provider::Store => store
                .remove(a.name)
                .unwrap_or_else(|| unsupported::value(a.name)),
            Provider::Native => native
                .get(a.name)
                .cloned()
                .unwrap_or_else(|| unsupported::value(a.name)),
            Provider::Nix => nix_helpers::select(&helpers, a.name),
            Provider::Project => continue,
            Provider::NotYetValue => unsupported::value(a.name),
        };
        args.push((a.name, value));
    }
    let mut set = Attrs::new();
    for (name, value) in &args {
        set.insert(*name, value.clone(), None);
    }
    if this.borrow().is_none() {
        *this.borrow_mut() = Some(AttrSet::from(set));
    }
    // `__packageSetAt` serves `inputs.nixpkgs = ./path`; it is no makes argument.
    if let Some(at) = store.remove("__packageSetAt") {
        args.push(("__packageSetAt", at));
    }
    // makes' modules, which the loader turns into jobs; no makes argument either.
    args.push((
        makes_spec::MODULES_ARGUMENT,
        nix_helpers::modules(this, cx.release, cx.project_dir),
    ));
    args
}
