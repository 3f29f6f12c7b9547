//! The fetch built-ins of Nix 2.8 (`src/libexpr/primops/fetchTree.cc`, `src/libfetchers/`):
//! `fetchurl`, `fetchTarball` ([`url`]) and `fetchGit` ([`git`]), run during evaluation as in
//! Nix, into makes' store at the paths Nix gives them; `fetchTree` needs Nix's `flakes`
//! feature, off in Nix 2.8 as here. Downloads go through the store's [`UrlFetcher`] (HTTP);
//! `file://` URLs are read directly. What was fetched is remembered in a cache under makes'
//! cache directory ([`cache`]), as Nix's fetcher cache: an unpinned fetch is reused for an
//! hour, a pinned one (a hash, a revision) for good, and offline. A `fetchTarball` or
//! `fetchurl` pinned by `sha256` can instead wait until a build or a read needs it
//! ([`deferred`]).

mod cache;
mod deferred;
mod git;
mod url;

pub use deferred::DeferredFetches;

pub(crate) use url::download_to;

use crate::registry::Derivations;
use makes_eval::{make_primop, Context, EvalError, NixString, PrimOpFn, Value};
use makes_store::{LocalStore, StorePath, UrlFetcher};
use std::path::PathBuf;
use std::rc::Rc;

/// What the fetchers need from outside: the store, the HTTP client, the cache directory.
#[derive(Clone)]
pub struct Fetchers {
    pub store: LocalStore,
    pub http: Rc<dyn UrlFetcher>,
    /// makes' cache directory (`$XDG_CACHE_HOME/makes`).
    pub cache_dir: PathBuf,
    /// Where pinned fetches wait for a use, once deferring is enabled.
    pub deferred: DeferredFetches,
}

/// `(name, value)` pairs for `Evaluator::with_extra_builtins`.
pub fn fetch_builtins(fetchers: &Fetchers, _registry: &Derivations) -> Vec<(Rc<str>, Value)> {
    let f = fetchers.clone();
    let fetchurl: PrimOpFn = Rc::new(move |ev, args| url::fetch(ev, &f, &args[0], false));
    let f = fetchers.clone();
    let fetch_tarball: PrimOpFn = Rc::new(move |ev, args| url::fetch(ev, &f, &args[0], true));
    let f = fetchers.clone();
    let fetch_git: PrimOpFn = Rc::new(move |ev, args| git::fetch_git(ev, &f, &args[0]));
    let fetch_tree: PrimOpFn = Rc::new(|_, _| {
        Err(EvalError::other(
            "experimental Nix feature 'flakes' is disabled; use '--extra-experimental-features flakes' to override",
            None,
        ))
    });
    vec![
        ("fetchurl".into(), make_primop("fetchurl", 1, fetchurl)),
        (
            "fetchTarball".into(),
            make_primop("fetchTarball", 1, fetch_tarball),
        ),
        ("fetchGit".into(), make_primop("fetchGit", 1, fetch_git)),
        ("fetchTree".into(), make_primop("fetchTree", 1, fetch_tree)),
    ]
}

/// A store path as a string that refers to it.
pub(crate) fn store_string(path: &StorePath) -> Value {
    let abs = path.to_absolute();
    let mut ctx = Context::default();
    ctx.paths.insert(abs.as_str().into());
    Value::String(NixString::with_context(abs, ctx))
}

pub(crate) fn error(message: impl Into<String>) -> EvalError {
    EvalError::other(message, None)
}
