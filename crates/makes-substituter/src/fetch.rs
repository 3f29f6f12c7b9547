//! Fetching one path: its narinfo from each cache in turn, the checks against the lock and the
//! trusted keys, then the NAR, decompressed and unpacked into the store's staging area while
//! it downloads (hashed and size-checked by [`LocalStore::stage_nar`]).

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use makes_store::{LocalStore, StagedNar, StoreError, StorePath};

use makes_http::{
    printable, with_decompressed, Compression, Fetched, HttpClient, HttpError, ProgressRead,
};

use crate::error::{NarInfoField, SubstituteError};
use crate::narinfo::{format_nar_hash, NarInfo};
use crate::signature::{check_signatures, SignatureCheck, TrustedKey};
use crate::{LockedPath, Progress};

/// Narinfo files are a few hundred bytes; anything past this is not one.
const MAX_NARINFO: u64 = 1 << 20;

/// What every worker shares.
pub(crate) struct Context<'a> {
    pub(crate) store: &'a LocalStore,
    /// Base URLs without a trailing `/`.
    pub(crate) caches: &'a [String],
    pub(crate) keys: &'a [TrustedKey],
    pub(crate) http: &'a HttpClient,
    pub(crate) progress: &'a (dyn Fn(Progress) + Sync),
    /// Set after the first failure: downloads under way stop, no new one starts.
    pub(crate) abort: AtomicBool,
    /// Compressed bytes received, all paths together.
    pub(crate) downloaded: AtomicU64,
}

/// A path unpacked from a cache, waiting for its references to be installed.
pub(crate) struct Staged {
    pub(crate) nar: StagedNar,
    pub(crate) cache: String,
}

/// Tries the caches in order. A cache without the path (404, 403, 410) is skipped; a cache
/// that fails (unreachable, wrong metadata, bad signature, corrupt NAR) is skipped too, as Nix
/// skips a failing substituter, and the first such failure is the error when no cache
/// succeeds. When every cache lacks the path: [`SubstituteError::NotFound`].
pub(crate) fn fetch(ctx: &Context<'_>, locked: &LockedPath) -> Result<Staged, SubstituteError> {
    let mut first_failure = None;
    for cache in ctx.caches {
        if ctx.abort.load(Ordering::Relaxed) {
            break;
        }
        match fetch_from(ctx, cache, locked) {
            Ok(Some(nar)) => {
                return Ok(Staged {
                    nar,
                    cache: cache.clone(),
                })
            }
            Ok(None) => {}
            Err(err) => {
                first_failure.get_or_insert(err);
            }
        }
    }
    Err(first_failure.unwrap_or_else(|| SubstituteError::NotFound {
        path: locked.path.clone(),
        caches: ctx.caches.to_vec(),
    }))
}

/// `Ok(None)`: the cache does not have the path.
fn fetch_from(
    ctx: &Context<'_>,
    cache: &str,
    locked: &LockedPath,
) -> Result<Option<StagedNar>, SubstituteError> {
    let path = &locked.path;
    let narinfo_url = format!("{cache}/{}.narinfo", path.hash);
    let body = match get(ctx, path, cache, &narinfo_url)? {
        Fetched::Missing(_) => return Ok(None),
        Fetched::Body(body) => body,
    };
    let mut text = String::new();
    body.take(MAX_NARINFO)
        .read_to_string(&mut text)
        .map_err(|e| SubstituteError::Download {
            path: path.clone(),
            cache: cache.to_owned(),
            url: narinfo_url.clone(),
            reason: e.to_string(),
        })?;
    let info = NarInfo::parse(&text).map_err(|source| SubstituteError::InvalidNarInfo {
        path: path.clone(),
        cache: cache.to_owned(),
        url: narinfo_url.clone(),
        source: Box::new(source),
    })?;
    verify_narinfo(cache, locked, &info, ctx.keys)?;
    let compression = Compression::parse(&info.compression).ok_or_else(|| {
        SubstituteError::UnsupportedCompression {
            path: path.clone(),
            cache: cache.to_owned(),
            compression: printable(&info.compression, 64),
        }
    })?;

    let nar_url = format!("{cache}/{}", info.url.trim_start_matches('/'));
    let body = match get(ctx, path, cache, &nar_url)? {
        Fetched::Missing(status) => {
            return Err(SubstituteError::HttpStatus {
                path: path.clone(),
                cache: cache.to_owned(),
                url: nar_url,
                status,
            })
        }
        Fetched::Body(body) => body,
    };
    (ctx.progress)(Progress::Started {
        path: path.clone(),
        cache: cache.to_owned(),
        download_size: info.file_size,
        nar_size: info.nar_size,
    });
    let mut reported = 0;
    let counting = ProgressRead::new(Abortable { inner: body, ctx }, |received| {
        ctx.downloaded
            .fetch_add(received - reported, Ordering::Relaxed);
        reported = received;
        (ctx.progress)(Progress::Downloaded {
            path: path.clone(),
            bytes: received,
        });
    });
    let staged = with_decompressed(compression, counting, |nar| {
        ctx.store
            .stage_nar(path, nar, (locked.nar_hash, locked.nar_size))
    });
    let download_failed = |reason: String| SubstituteError::Download {
        path: path.clone(),
        cache: cache.to_owned(),
        url: nar_url.clone(),
        reason,
    };
    match staged {
        Ok(Ok(nar)) => Ok(Some(nar)),
        Err(corrupt) => Err(download_failed(corrupt.to_string())),
        Ok(Err(StoreError::NarMismatch {
            expected, found, ..
        })) => Err(SubstituteError::NarMismatch {
            path: path.clone(),
            cache: cache.to_owned(),
            expected,
            found,
        }),
        Ok(Err(StoreError::NarStream { source })) => Err(download_failed(source.to_string())),
        Ok(Err(source @ StoreError::InvalidNar { .. })) => Err(SubstituteError::InvalidNar {
            path: path.clone(),
            cache: cache.to_owned(),
            source: Box::new(source),
        }),
        Ok(Err(source)) => Err(SubstituteError::Store {
            path: path.clone(),
            cache: cache.to_owned(),
            source: Box::new(source),
        }),
    }
}

fn get(
    ctx: &Context<'_>,
    path: &StorePath,
    cache: &str,
    url: &str,
) -> Result<Fetched, SubstituteError> {
    let on_retry = |notice: &makes_http::RetryNotice, reason: &str| {
        (ctx.progress)(Progress::Retrying {
            url: url.to_owned(),
            attempt: notice.attempt,
            delay: notice.delay,
            reason: reason.to_owned(),
        })
    };
    ctx.http.get(url, &on_retry).map_err(|error| match error {
        HttpError::Status { status, .. } => SubstituteError::HttpStatus {
            path: path.clone(),
            cache: cache.to_owned(),
            url: url.to_owned(),
            status,
        },
        HttpError::Unreachable { reason, .. } => SubstituteError::Unreachable {
            path: path.clone(),
            cache: cache.to_owned(),
            url: url.to_owned(),
            reason,
        },
        other => SubstituteError::Unreachable {
            path: path.clone(),
            cache: cache.to_owned(),
            url: url.to_owned(),
            reason: match other {
                HttpError::Stalled { limit, .. } => limit.to_string(),
                other => other.to_string(),
            },
        },
    })
}

/// The narinfo must be about the wanted path, signed by a trusted key, and agree with the
/// lock on the NAR hash, size and references.
fn verify_narinfo(
    cache: &str,
    locked: &LockedPath,
    info: &NarInfo,
    keys: &[TrustedKey],
) -> Result<(), SubstituteError> {
    let path = &locked.path;
    let mismatch = |field, expected: String, found: String| SubstituteError::NarInfoMismatch {
        path: path.clone(),
        cache: cache.to_owned(),
        field,
        expected,
        found,
    };
    if info.store_path != *path {
        return Err(mismatch(
            NarInfoField::StorePath,
            path.to_string(),
            info.store_path.to_string(),
        ));
    }
    match check_signatures(&info.fingerprint(), &info.sigs, keys) {
        SignatureCheck::Valid(_) => {}
        SignatureCheck::Invalid(key) => {
            return Err(SubstituteError::BadSignature {
                path: path.clone(),
                cache: cache.to_owned(),
                key,
            })
        }
        SignatureCheck::Untrusted(keys) => {
            return Err(SubstituteError::UntrustedKey {
                path: path.clone(),
                cache: cache.to_owned(),
                // Key names come from the cache's narinfo: quoted only in printable form.
                keys: keys.iter().map(|k| printable(k, 64)).collect(),
            });
        }
    }
    if info.nar_hash != locked.nar_hash {
        return Err(mismatch(
            NarInfoField::NarHash,
            format_nar_hash(&locked.nar_hash),
            format_nar_hash(&info.nar_hash),
        ));
    }
    if info.nar_size != locked.nar_size {
        return Err(mismatch(
            NarInfoField::NarSize,
            locked.nar_size.to_string(),
            info.nar_size.to_string(),
        ));
    }
    let mut expected = locked.references.clone();
    expected.sort();
    expected.dedup();
    if info.references != expected {
        let show = |refs: &[StorePath]| {
            let names: Vec<String> = refs.iter().map(StorePath::base_name).collect();
            format!("[{}]", names.join(" "))
        };
        return Err(mismatch(
            NarInfoField::References,
            show(&expected),
            show(&info.references),
        ));
    }
    Ok(())
}

/// Fails once the run is aborted, so a download under way stops at its next read.
struct Abortable<'a, R> {
    inner: R,
    ctx: &'a Context<'a>,
}

impl<R: Read> Read for Abortable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ctx.abort.load(Ordering::Relaxed) {
            return Err(io::Error::other("cancelled after another path failed"));
        }
        self.inner.read(buf)
    }
}
