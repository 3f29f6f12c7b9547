//! Deferred fetches: a `fetchTarball` or `fetchurl` pinned by `sha256` has a store path known
//! without downloading (the fixed-output path of that hash), so, when enabled, evaluation
//! gets the path and its download waits until something needs the contents. A build needs
//! them through the fetch recipe recorded here (the scheduler downloads and checks it); a
//! read during evaluation (`import`, `readFile`, `readDir`...) through
//! [`Fetchers::fetch_deferred`], which downloads it then, as Nix would have at the call.

use super::{url, Fetchers};
use crate::hash::NixHash;
use makes_eval::EvalError;
use makes_spec::FetchSpec;
use makes_store::{Recipe, Recipes, StorePath};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// What a deferred fetch downloads, and the hash that pins it.
#[derive(Debug, Clone)]
pub(crate) struct PinnedFetch {
    pub url: String,
    pub name: String,
    /// A tarball, unpacked (`fetchTarball`), rather than one file (`fetchurl`).
    pub unpack: bool,
    pub sha256: NixHash,
}

/// The fetches of one evaluation that wait for a use; off (every fetch runs at its call, as
/// in Nix) until [`DeferredFetches::enable`].
#[derive(Clone, Default)]
pub struct DeferredFetches(Rc<RefCell<Option<Deferred>>>);

struct Deferred {
    /// Where builds find how to make the paths.
    recipes: Recipes,
    /// The paths not fetched yet.
    pending: BTreeMap<StorePath, PinnedFetch>,
    /// Why a fetch failed when evaluation read its path: told again rather than retried
    /// (a path is looked at more than once, `import` asks whether it is a directory first).
    failed: BTreeMap<StorePath, String>,
}

impl DeferredFetches {
    /// From now on, a pinned fetch whose path the store lacks is recorded in `recipes`
    /// instead of downloaded.
    pub fn enable(&self, recipes: Recipes) {
        *self.0.borrow_mut() = Some(Deferred {
            recipes,
            pending: BTreeMap::new(),
            failed: BTreeMap::new(),
        });
    }

    /// Records `fetch` as the way to make `path`; false when deferring is off.
    pub(crate) fn defer(&self, path: &StorePath, fetch: PinnedFetch) -> bool {
        let mut state = self.0.borrow_mut();
        let Some(state) = state.as_mut() else {
            return false;
        };
        state.recipes.insert(
            path.clone(),
            Recipe::Fetch(FetchSpec {
                url: fetch.url.clone(),
                sha256: fetch.sha256.to_nix_base32(),
                name: fetch.name.clone(),
                unpack: fetch.unpack,
                // `fetchTarball`'s result is the tarball's one top-level directory.
                strip_root: fetch.unpack,
            }),
        );
        state.pending.insert(path.clone(), fetch);
        true
    }

    /// The deferred fetch that makes `path`, if any is still pending.
    fn pending(&self, path: &StorePath) -> Option<PinnedFetch> {
        self.0
            .borrow()
            .as_ref()
            .and_then(|s| s.pending.get(path).cloned())
    }

    fn done(&self, path: &StorePath) {
        if let Some(state) = self.0.borrow_mut().as_mut() {
            state.pending.remove(path);
        }
    }

    fn failure(&self, path: &StorePath) -> Option<String> {
        self.0.borrow().as_ref()?.failed.get(path).cloned()
    }

    fn fail(&self, path: &StorePath, message: String) {
        if let Some(state) = self.0.borrow_mut().as_mut() {
            state.failed.insert(path.clone(), message);
        }
    }

    /// The URLs of the pending fetches, by path.
    pub fn pending_urls(&self) -> Vec<(StorePath, String)> {
        self.0
            .borrow()
            .as_ref()
            .map(|s| {
                s.pending
                    .iter()
                    .map(|(p, f)| (p.clone(), f.url.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Fetchers {
    /// Downloads `path` now if it is a deferred fetch the store still lacks (evaluation is
    /// about to read it); does nothing for any other path.
    pub fn fetch_deferred(&self, path: &StorePath) -> Result<(), EvalError> {
        let Some(fetch) = self.deferred.pending(path) else {
            return Ok(());
        };
        if let Some(message) = self.deferred.failure(path) {
            return Err(super::error(message));
        }
        if !self.store.is_valid(path) {
            // Checked against its hash, it lands at the pinned path.
            if let Err(e) = url::fetch_pinned(self, &fetch) {
                self.deferred.fail(path, e.to_string());
                return Err(e);
            }
        }
        self.deferred.done(path);
        Ok(())
    }
}
