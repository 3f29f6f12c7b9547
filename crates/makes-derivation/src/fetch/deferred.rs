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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::HashAlgo;
    use crate::store_paths::{fixed_output_path, IngestionMethod};
    use makes_store::{LocalStore, PluginError, UrlFetcher};
    use std::path::{Path, PathBuf};

    /// Refuses every HTTP download: these tests fetch `file://` URLs only.
    struct NoNetwork;

    impl UrlFetcher for NoNetwork {
        fn fetch(&self, url: &str, _: &Path) -> Result<(), PluginError> {
            Err(PluginError::message(format!("no network here: {url}")))
        }

        fn fetch_archive(&self, url: &str, _: &Path, _: bool) -> Result<(), PluginError> {
            Err(PluginError::message(format!("no network here: {url}")))
        }
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/deferred-fetch")
            .join(name)
    }

    /// The tarball's pin and the path Nix gives it, as record.sh recorded them.
    fn recorded_tree() -> (NixHash, String) {
        let text = std::fs::read_to_string(fixture("expected.txt")).expect("expected.txt");
        let fields: Vec<&str> = text
            .lines()
            .find(|l| l.starts_with("tarball "))
            .expect("a tarball line")
            .split(' ')
            .collect();
        let hash = NixHash::parse_allow_empty(fields[1], Some(HashAlgo::Sha256)).expect("hash");
        (hash, fields[2].to_owned())
    }

    fn fetchers(dir: &Path) -> Fetchers {
        Fetchers {
            store: LocalStore::open(dir.join("store")).expect("store"),
            http: Rc::new(NoNetwork),
            cache_dir: dir.join("cache"),
            deferred: DeferredFetches::default(),
        }
    }

    fn tarball_fetch(url: String, sha256: NixHash) -> PinnedFetch {
        PinnedFetch {
            url,
            name: "source".into(),
            unpack: true,
            sha256,
        }
    }

    #[test]
    fn a_deferred_fetch_is_a_recipe_until_read_then_lands_at_its_pinned_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = fetchers(dir.path());
        let recipes = Recipes::default();
        f.deferred.enable(recipes.clone());
        let (hash, nix_path) = recorded_tree();
        let path = fixed_output_path(IngestionMethod::Recursive, &hash, "source");
        assert_eq!(
            path.to_absolute(),
            nix_path,
            "Nix's path, known without a download"
        );
        let url = format!("file://{}", fixture("greeter.tar.gz").display());
        assert!(f
            .deferred
            .defer(&path, tarball_fetch(url.clone(), hash.clone())));
        match recipes.get(&path) {
            Some(Recipe::Fetch(spec)) => {
                assert_eq!(spec.url, url);
                assert_eq!(spec.sha256, hash.to_nix_base32());
                assert!(
                    spec.unpack && spec.strip_root,
                    "the one top-level directory"
                );
                assert_eq!(spec.name, "source");
            }
            other => panic!("a fetch recipe, not {other:?}"),
        }
        assert!(!f.store.is_valid(&path), "nothing downloaded yet");
        assert_eq!(f.deferred.pending_urls(), vec![(path.clone(), url)]);
        f.fetch_deferred(&path).expect("fetched when read");
        assert!(f.store.is_valid(&path));
        assert!(f.store.real_path(&path).join("bin/greet").is_file());
        assert!(f.deferred.pending_urls().is_empty());
        // Another path is left alone.
        let other = fixed_output_path(IngestionMethod::Recursive, &hash, "other");
        f.fetch_deferred(&other).expect("not a deferred fetch");
        assert!(!f.store.is_valid(&other));
    }

    #[test]
    fn a_failed_deferred_fetch_is_told_again_without_another_download() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = fetchers(dir.path());
        f.deferred.enable(Recipes::default());
        let (hash, _) = recorded_tree();
        let path = fixed_output_path(IngestionMethod::Recursive, &hash, "source");
        let impostor = dir.path().join("impostor.tar.gz");
        std::fs::copy(fixture("impostor.tar.gz"), &impostor).expect("copy");
        let url = format!("file://{}", impostor.display());
        assert!(f
            .deferred
            .defer(&path, tarball_fetch(url.clone(), hash.clone())));
        let first = f
            .fetch_deferred(&path)
            .expect_err("the pin differs")
            .to_string();
        assert!(
            first.contains(&format!("downloaded from '{url}'")),
            "{first}"
        );
        assert!(first.contains(&hash.to_nix_base32()), "{first}");
        assert!(!f.store.is_valid(&path));
        // Gone now: the same message, so no second download was tried.
        std::fs::remove_file(&impostor).expect("rm");
        let again = f
            .fetch_deferred(&path)
            .expect_err("still refused")
            .to_string();
        assert_eq!(again, first);
    }

    #[test]
    fn nothing_is_deferred_until_enabled() {
        let (hash, _) = recorded_tree();
        let path = fixed_output_path(IngestionMethod::Recursive, &hash, "source");
        let deferred = DeferredFetches::default();
        assert!(!deferred.defer(&path, tarball_fetch("file:///x".into(), hash)));
        assert!(deferred.pending_urls().is_empty());
    }
}
