//! Native substitution from Nix binary caches: given store paths with the metadata a lock file
//! pins (NAR hash, size, references), download them from HTTP(S) binary caches, verify them,
//! and install them into makes' store, as Nix's substituters do
//! (`src/libstore/binary-cache-store.cc`, `build/substitution-goal.cc`).
//!
//! For each path not yet valid, [`substitute`] tries the caches in order:
//! `<cache>/<hash>.narinfo` ([`NarInfo`]) must name the path, carry a signature by one of the
//! trusted keys over Nix's fingerprint ([`fingerprint`], [`TrustedKey`]), and agree with the
//! lock; then the NAR is downloaded, decompressed (xz, zstd, bzip2, none) and unpacked into
//! the store's staging area while it streams, hashed as it goes, and checked against the NAR
//! hash and size. Staged paths are installed in dependency order with the locked references.
//! Downloads run on `parallelism` threads through `makes-http` (TLS roots, proxies, transient
//! failures retried with exponential backoff, deadlines and minimum rates). On any failure
//! nothing of the failed path stays in the store.
//!
//! The crate prints nothing: it reports [`Progress`] events to a callback.

mod error;
mod fetch;
mod narinfo;
mod plan;
mod signature;

use makes_http::{HttpClient, HttpOptions};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use makes_store::{LocalStore, StorePath};

pub use error::{NarInfoError, NarInfoField, SubstituteError};
pub use narinfo::{fingerprint, format_nar_hash, parse_nar_hash, NarInfo};
pub use signature::TrustedKey;

use fetch::{fetch, Context, Staged};

/// A store path as a lock file pins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPath {
    pub path: StorePath,
    /// SHA-256 of the path's NAR.
    pub nar_hash: [u8; 32],
    pub nar_size: u64,
    /// The store paths its contents refer to (possibly itself).
    pub references: Vec<StorePath>,
}

/// Where and how to substitute from.
#[derive(Debug, Clone)]
pub struct SubstituterOptions {
    /// Base URLs of binary caches (`https://cache.nixos.org`), tried in order.
    pub caches: Vec<String>,
    /// Keys a narinfo must be signed by (one valid signature suffices). Signatures are always
    /// required: with no trusted key, nothing can be substituted.
    pub trusted_keys: Vec<TrustedKey>,
    /// Downloads at once (at least 1).
    pub parallelism: usize,
    /// Extra CA files, tries per request on connection errors, 5xx and 429 (never on 404 or
    /// failed checks) and their backoff, the deadline of each request and the minimum rate of
    /// each download.
    pub http: HttpOptions,
}

impl Default for SubstituterOptions {
    fn default() -> SubstituterOptions {
        SubstituterOptions {
            caches: Vec::new(),
            trusted_keys: Vec::new(),
            parallelism: 4,
            http: HttpOptions::default(),
        }
    }
}

/// What [`substitute`] reports as it goes, from several threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The NAR of `path` started downloading from `cache`.
    Started {
        path: StorePath,
        cache: String,
        /// Size of the compressed file, when the narinfo gives it.
        download_size: Option<u64>,
        nar_size: u64,
    },
    /// `bytes` of the compressed file of `path` have arrived so far.
    Downloaded { path: StorePath, bytes: u64 },
    /// A request failed transiently and is tried again after `delay`.
    Retrying {
        url: String,
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// `path` is valid in the store.
    Finished { path: StorePath },
}

/// What [`substitute`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubstituteSummary {
    /// Paths downloaded and installed, in installation order.
    pub substituted: Vec<StorePath>,
    /// Wanted paths that were valid already (nothing fetched for them).
    pub already_valid: Vec<StorePath>,
    /// Compressed bytes downloaded.
    pub downloaded_bytes: u64,
}

/// Makes every path of `wanted` valid in `store`, downloading the missing ones from the
/// binary caches of `options`. Every reference of a wanted path must be valid or wanted too.
/// On error, the paths installed before it stay (they are complete and verified); the failed
/// path and those not yet installed leave nothing behind.
pub fn substitute(
    store: &LocalStore,
    wanted: &[LockedPath],
    options: &SubstituterOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<SubstituteSummary, SubstituteError> {
    let caches = options
        .caches
        .iter()
        .map(|c| normalise_cache_url(c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut summary = SubstituteSummary::default();
    let mut seen = HashSet::new();
    let mut todo: Vec<&LockedPath> = Vec::new();
    for locked in wanted {
        if !seen.insert(&locked.path) {
            continue;
        }
        if store.is_valid(&locked.path) {
            summary.already_valid.push(locked.path.clone());
        } else {
            todo.push(locked);
        }
    }
    if todo.is_empty() {
        return Ok(summary);
    }
    let plan = plan::plan(store, &todo)?;
    let http = HttpClient::new(options.http.clone())?;
    let ctx = Context {
        store,
        caches: &caches,
        keys: &options.trusted_keys,
        http: &http,
        progress,
        abort: AtomicBool::new(false),
        downloaded: AtomicU64::new(0),
    };
    let queue = Mutex::new(plan.order.iter().copied().collect::<VecDeque<_>>());
    let workers = options.parallelism.clamp(1, todo.len());
    let mut installer = Installer {
        ctx: &ctx,
        todo: &todo,
        pending: plan.deps.iter().map(Vec::len).collect(),
        dependents: &plan.dependents,
        staged: HashMap::new(),
        installed: Vec::new(),
        error: None,
    };
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel();
        for _ in 0..workers {
            let (sender, ctx, queue, todo) = (sender.clone(), &ctx, &queue, &todo);
            scope.spawn(move || loop {
                if ctx.abort.load(Ordering::Relaxed) {
                    break;
                }
                // A poisoned queue means another worker panicked: that panic is re-raised
                // when the scope ends, so stopping here loses nothing.
                let Some(i) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
                    break;
                };
                let result = fetch(ctx, todo[i]);
                // The first failure stops the others at once. A failure after it (often just
                // "cancelled") is not reported: the first one is the error of the run.
                if result.is_err() && ctx.abort.swap(true, Ordering::SeqCst) {
                    break;
                }
                if sender.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        // The calling thread installs what the workers staged, as soon as its references
        // are installed; it returns when every worker has stopped.
        for (i, result) in receiver {
            match result {
                Ok(staged) => installer.staged(i, staged),
                Err(err) => installer.fail(err),
            }
        }
    });
    if let Some(err) = installer.error {
        return Err(err);
    }
    summary.substituted = installer.installed;
    summary.downloaded_bytes = ctx.downloaded.load(Ordering::Relaxed);
    Ok(summary)
}

/// Installs staged paths in dependency order.
struct Installer<'a> {
    ctx: &'a Context<'a>,
    todo: &'a [&'a LockedPath],
    /// For each path, how many of its wanted references are not installed yet.
    pending: Vec<usize>,
    dependents: &'a [Vec<usize>],
    /// Staged paths waiting for their references.
    staged: HashMap<usize, Staged>,
    installed: Vec<StorePath>,
    /// The first failure; once set, nothing more is installed and the staged paths are
    /// dropped (which removes them).
    error: Option<SubstituteError>,
}

impl Installer<'_> {
    fn fail(&mut self, err: SubstituteError) {
        if self.error.is_none() {
            self.error = Some(err);
            self.ctx.abort.store(true, Ordering::SeqCst);
            self.staged.clear();
        }
    }

    fn staged(&mut self, i: usize, staged: Staged) {
        if self.error.is_some() {
            return;
        }
        self.staged.insert(i, staged);
        let mut ready = vec![i];
        while let Some(i) = ready.pop() {
            if self.pending[i] > 0 {
                continue;
            }
            let Some(Staged { nar, cache }) = self.staged.remove(&i) else {
                continue;
            };
            let locked = self.todo[i];
            if let Err(source) = nar.install(locked.references.clone()) {
                self.fail(SubstituteError::Store {
                    path: locked.path.clone(),
                    cache,
                    source: Box::new(source),
                });
                return;
            }
            (self.ctx.progress)(Progress::Finished {
                path: locked.path.clone(),
            });
            self.installed.push(locked.path.clone());
            for &d in &self.dependents[i] {
                self.pending[d] -= 1;
                if self.pending[d] == 0 {
                    ready.push(d);
                }
            }
        }
    }
}

/// `http(s)://host/path` without a trailing `/`.
fn normalise_cache_url(cache: &str) -> Result<String, SubstituteError> {
    let trimmed = cache.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(trimmed.to_owned()),
        _ => Err(SubstituteError::InvalidCacheUrl {
            cache: cache.to_owned(),
            reason: "binary caches are reached over http:// or https://".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_urls() {
        assert_eq!(
            normalise_cache_url("https://cache.nixos.org/").expect("https"),
            "https://cache.nixos.org"
        );
        assert_eq!(
            normalise_cache_url("http://127.0.0.1:8080/sub").expect("http"),
            "http://127.0.0.1:8080/sub"
        );
        for bad in [
            "file:///tmp/cache",
            "s3://bucket",
            "https://",
            "cache.nixos.org",
        ] {
            assert!(
                matches!(
                    normalise_cache_url(bad),
                    Err(SubstituteError::InvalidCacheUrl { .. })
                ),
                "{bad}"
            );
        }
    }
}
