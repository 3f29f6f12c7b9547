//! `builtins.derivation` outputs and makes' own recipes, each used by the other: a
//! derivation in a makeScript's searchPaths, an image's contents or a makeTemplate's
//! replace is built from its `.drv` before the recipe that uses it (the store's scheduler
//! knows recipes only), and an output of makes (a makeDerivation) in a derivation's
//! builder is built before the derivation.

use crate::realisation::{build_path, progress};
use crate::report::Failure;
use crate::session::Session;
use makes_store::StorePath;
use std::collections::BTreeSet;

/// The `.drv` paths of the derivation outputs, not yet built, that the recipe of `out` needs
/// (through the recipes it needs).
pub fn derivations_needed(session: &Session, out: &StorePath) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![out.clone()];
    let mut drv_paths = Vec::new();
    while let Some(path) = stack.pop() {
        if !seen.insert(path.clone()) || session.store.is_valid(&path) {
            continue;
        }
        match session.recipes.get(&path) {
            Some(recipe) => stack.extend(recipe.inputs().iter().cloned()),
            None => {
                if let Some(drv_path) = session.derivations.deriver(&path.to_absolute()) {
                    if !drv_paths.contains(&drv_path) {
                        drv_paths.push(drv_path);
                    }
                }
            }
        }
    }
    drv_paths
}

/// Builds the derivations `drv_paths` from their `.drv`, after the outputs of makes' recipes
/// that they (or the derivations they need) take as sources.
pub fn build_derivations(session: &Session, drv_paths: &[String]) -> Result<(), Failure> {
    if drv_paths.is_empty() {
        return Ok(());
    }
    for source in recipe_sources(session, drv_paths) {
        build_path(session, &source)?;
    }
    for drv_path in drv_paths {
        progress(&format!("building {drv_path}"));
    }
    makes_derivation::realise(&session.fetchers, &session.derivations, drv_paths)?;
    Ok(())
}

/// The sources of `drv_paths` and of the derivations they need that makes' recipes make and
/// that are not built yet.
fn recipe_sources(session: &Session, drv_paths: &[String]) -> Vec<StorePath> {
    let mut seen = BTreeSet::new();
    let mut stack = drv_paths.to_vec();
    let mut sources = Vec::new();
    while let Some(drv_path) = stack.pop() {
        if !seen.insert(drv_path.clone()) {
            continue;
        }
        let Some(drv) = session.derivations.get(&drv_path) else {
            // An unknown derivation is reported when it is realised.
            continue;
        };
        stack.extend(drv.input_drvs.keys().cloned());
        for source in &drv.input_srcs {
            let Ok(path) = StorePath::parse(source) else {
                continue;
            };
            if session.recipes.get(&path).is_some()
                && !session.store.is_valid(&path)
                && !sources.contains(&path)
            {
                sources.push(path);
            }
        }
    }
    sources
}
