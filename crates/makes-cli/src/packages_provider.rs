//! Before a build: the packages the evaluation resolved are put where the build finds them.
//! Backend "nix" builds them with Nix (one batched `nix-build` per package set; the store
//! then copies them from Nix's store); backend "lock" substitutes their closures, as
//! `makes.lock.json` records them, from the configured binary caches.
//!
//! A call whose argument names paths makes builds itself (`stdenv.mkDerivation { src =
//! <a fetchGithub source>; }`) waits for them: makes builds them first, then hands them to
//! Nix's store (backend "nix") or checks them against the contents the lock file recorded
//! for the call (backend "lock"). This goes in rounds, since such a path may itself use
//! packages.

use crate::report::Failure;
use crate::session::Session;
use makes_store::packages::{
    hand_to_nix, outputs_by_set, PackageMode, Packages, UsedOutput, LOCK_FILE,
};
use makes_store::StorePath;
use std::collections::BTreeSet;

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
        PackageMode::Lock => {
            let missing: Vec<UsedOutput> = used
                .into_iter()
                .filter(|u| !session.store.is_valid(&u.path))
                .collect();
            in_rounds(
                session,
                packages,
                missing,
                &|ready| crate::substitution::substitute_locked(session, packages, ready),
                &|built| check_locked_inputs(session, packages, built),
            )
        }
    }
}

/// Builds with Nix the outputs of `used` that neither makes' store nor Nix's has; returns
/// every output path of `used`.
pub fn build_with_nix(
    session: &Session,
    packages: &Packages,
    used: &[UsedOutput],
    progress: &dyn Fn(&str),
) -> Result<Vec<StorePath>, Failure> {
    let PackageMode::Nix(nix) = packages.mode() else {
        return Ok(Vec::new());
    };
    // Valid in Nix's store, not merely there: another build may be making it right now.
    let present = |path: &StorePath| session.store.is_valid(path) || nix.is_valid(path);
    let missing: Vec<UsedOutput> = used.iter().filter(|u| !present(&u.path)).cloned().collect();
    in_rounds(
        session,
        packages,
        missing,
        &|ready| nix_build(packages, ready, progress),
        &|built| {
            let handed = hand_to_nix(&session.store, built)?;
            if !handed.is_empty() {
                progress(&format!(
                    "handed {} path(s) makes built to Nix's store",
                    handed.len()
                ));
            }
            Ok(())
        },
    )?;
    Ok(used.iter().map(|u| u.path.clone()).collect())
}

/// Provides `missing` with `provide`, each output once the paths makes builds that its calls
/// name are built and passed to `hand`.
fn in_rounds(
    session: &Session,
    packages: &Packages,
    mut missing: Vec<UsedOutput>,
    provide: &dyn Fn(&[UsedOutput]) -> Result<(), Failure>,
    hand: &dyn Fn(&[StorePath]) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut handed: BTreeSet<StorePath> = BTreeSet::new();
    loop {
        let (ready, waiting): (Vec<UsedOutput>, Vec<UsedOutput>) =
            missing.into_iter().partition(|u| {
                packages
                    .handed_in(&u.attr_path)
                    .iter()
                    .all(|p| handed.contains(p))
            });
        if !ready.is_empty() {
            provide(&ready)?;
        }
        if waiting.is_empty() {
            return Ok(());
        }
        let wanted: BTreeSet<StorePath> = waiting
            .iter()
            .flat_map(|u| packages.handed_in(&u.attr_path))
            .filter(|p| !handed.contains(p))
            .collect();
        // A path may need a package that waits for another path: build what can be built
        // now, and go round again.
        let mut built = Vec::new();
        let mut first_failure = None;
        for path in wanted {
            match crate::realisation::build_path(session, &path) {
                Ok(_) => built.push(path),
                Err(e) => {
                    first_failure.get_or_insert(e);
                }
            }
        }
        if built.is_empty() {
            return Err(first_failure.unwrap_or_else(|| {
                Failure::message("internal: no path a package-set call takes was built")
            }));
        }
        hand(&built)?;
        handed.extend(built);
        missing = waiting;
    }
}

/// Builds `wanted` with Nix, one `nix-build` per package set.
fn nix_build(
    packages: &Packages,
    wanted: &[UsedOutput],
    progress: &dyn Fn(&str),
) -> Result<(), Failure> {
    let PackageMode::Nix(nix) = packages.mode() else {
        return Ok(());
    };
    for (set, outputs) in outputs_by_set(wanted) {
        if packages.set_source(&set).is_none() {
            return Err(Failure::message(format!(
                "internal: unknown package set {set}"
            )));
        }
        progress(&format!(
            "building {} package(s) of {set} with Nix",
            outputs.len()
        ));
        let built = nix.build(&packages.nix_scope(), &set, &outputs)?;
        for path in &built {
            if !wanted.iter().any(|u| u.path == *path) {
                return Err(Failure::message(format!(
                    "Nix built {path}, which is not the path it described for the package: is the package set changing while makes runs?"
                )));
            }
        }
    }
    Ok(())
}

/// Backend "lock": the paths makes built for locked calls must have the contents the lock
/// file recorded for those calls (their results stand only for those).
fn check_locked_inputs(
    session: &Session,
    packages: &Packages,
    built: &[StorePath],
) -> Result<(), Failure> {
    let Some(lock) = packages.lock() else {
        return Ok(());
    };
    for path in built {
        let info = session.store.path_info(path)?;
        for locked in &lock.packages {
            let Some(recorded) = locked.inputs.get(path) else {
                continue;
            };
            if *recorded != info.nar_hash {
                return Err(Failure::message(format!(
                    "{LOCK_FILE} locked '{}' for other contents of {path} (NAR hash {recorded}; makes built {}): run `makes lock` again where Nix is installed",
                    makes_store::packages::display_steps(&locked.attr_path),
                    info.nar_hash
                )));
            }
        }
    }
    Ok(())
}
