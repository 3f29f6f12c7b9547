//! Fetching one path: its narinfo from each cache in turn, the checks against the lock and the
//! trusted keys, then the NAR, decompressed and unpacked into the store's staging area while
//! it downloads (hashed and size-checked by [`LocalStore::stage_nar`]).

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use makes_store::{LocalStore, StagedNar, StoreError, StorePath};

use crate::decompress::{with_decompressed, Compression};
use crate::error::{NarInfoField, SubstituteError};
use crate::http::{Failure, Fetched, Http};
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
    pub(crate) http: &'a Http,
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
    let info = NarInfo::parse(&text).map_err(|reason| SubstituteError::InvalidNarInfo {
        path: path.clone(),
        cache: cache.to_owned(),
        reason,
    })?;
    verify_narinfo(cache, locked, &info, ctx.keys)?;
    let compression = Compression::parse(&info.compression).ok_or_else(|| {
        SubstituteError::UnsupportedCompression {
            path: path.clone(),
            cache: cache.to_owned(),
            compression: makes_registry::printable(&info.compression, 64),
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
    let counting = CountingReader {
        inner: body,
        path,
        received: 0,
        ctx,
    };
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
        Err(reason) => Err(download_failed(reason)),
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
    let on_retry = |attempt: u32, delay, reason: &str| {
        (ctx.progress)(Progress::Retrying {
            url: url.to_owned(),
            attempt,
            delay,
            reason: reason.to_owned(),
        })
    };
    ctx.http
        .get(url, &on_retry)
        .map_err(|failure| match failure {
            Failure::Unreachable(reason) => SubstituteError::Unreachable {
                path: path.clone(),
                cache: cache.to_owned(),
                url: url.to_owned(),
                reason,
            },
            Failure::Status(status) => SubstituteError::HttpStatus {
                path: path.clone(),
                cache: cache.to_owned(),
                url: url.to_owned(),
                status,
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
                keys: keys
                    .iter()
                    .map(|k| makes_registry::printable(k, 64))
                    .collect(),
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

/// Counts and reports the compressed bytes as they arrive; fails once the run is aborted.
struct CountingReader<'a, R> {
    inner: R,
    path: &'a StorePath,
    received: u64,
    ctx: &'a Context<'a>,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ctx.abort.load(Ordering::Relaxed) {
            return Err(io::Error::other("cancelled after another path failed"));
        }
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.received += n as u64;
            self.ctx.downloaded.fetch_add(n as u64, Ordering::Relaxed);
            (self.ctx.progress)(Progress::Downloaded {
                path: self.path.clone(),
                bytes: self.received,
            });
        }
        Ok(n)
    }
}
