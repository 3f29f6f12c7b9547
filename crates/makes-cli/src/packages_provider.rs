//! Before a build: the packages the evaluation resolved are put where the build finds them.
//! Backend "nix" builds them with Nix (one batched `nix-build` per package set; the store
//! then copies them from Nix's store); backend "lock" substitutes their closures, as
//! `makes.lock.json` records them, from the configured binary caches.

use crate::report::Failure;
use crate::session::Session;
use makes_store::packages::{outputs_by_set, PackageMode, Packages, UsedOutput};
use makes_store::StorePath;

/// Makes every package output the evaluation used available to the build.
pub fn provide_packages(session: &Session, progress: &dyn Fn(&str)) -> Result<(), Failure> {
    let Some(packages) = session.packages() else {
        return Ok(());
    };
    let used = packages.used();
    if used.is_empty() {
        return Ok(());
    }
    match packages.mode() {
        PackageMode::Symbolic => Err(Failure::message(
            "internal: a symbolic evaluation cannot be built".to_owned(),
        )),
        PackageMode::Nix(_) => build_with_nix(session, packages, &used, progress).map(|_| ()),
        PackageMode::Lock => crate::substitution::substitute_locked(session, packages, &used),
    }
}

/// Builds with Nix the outputs of `used` that neither makes' store nor Nix's has; returns
/// every output path of `used`.
pub fn build_with_nix(
    session: &Session,
    packages: &Packages,
    used: &[UsedOutput],
    progress: &dyn Fn(&str),
) -> Result<Vec<String>, Failure> {
    let PackageMode::Nix(nix) = packages.mode() else {
        return Ok(Vec::new());
    };
    let present = |path: &str| {
        StorePath::parse(path).is_ok_and(|p| session.store.is_valid(&p))
            || std::fs::symlink_metadata(path).is_ok()
    };
    for (set, wanted) in outputs_by_set(used) {
        let missing: Vec<(Vec<makes_store::packages::Step>, String)> = wanted
            .into_iter()
            .filter(|(attr_path, output)| {
                used.iter().any(|u| {
                    &u.attr_path == attr_path
                        && &u.output == output
                        && u.set == set
                        && !present(&u.path)
                })
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        if packages.set_source(&set).is_none() {
            return Err(Failure::message(format!(
                "internal: unknown package set {set}"
            )));
        }
        progress(&format!(
            "building {} package(s) of {set} with Nix",
            missing.len()
        ));
        let built = nix
            .build(&packages.nix_scope(), &set, &missing)
            .map_err(|e| Failure::report(miette::Report::new(e)))?;
        for path in &built {
            if !used.iter().any(|u| &u.path == path) {
                return Err(Failure::message(format!(
                    "Nix built {path}, which is not the path it described for the package: is the package set changing while makes runs?"
                )));
            }
        }
    }
    Ok(used.iter().map(|u| u.path.clone()).collect())
}
