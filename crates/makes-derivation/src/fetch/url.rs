//! `builtins.fetchurl` and `fetchTarball`, as Nix 2.8's `fetch` (`primops/fetchTree.cc`):
//! a file at the flat fixed-output path of its SHA-256, or a tarball's one top-level entry
//! at the source path of its NAR; with `sha256` the path is known beforehand and, when the
//! store has it, nothing is downloaded; when deferring is on, the download waits for a use
//! ([`super::deferred`]).

use super::cache::FetchCache;
use super::deferred::PinnedFetch;
use super::{error, store_string, Fetchers};
use crate::hash::{HashAlgo, NixHash};
use crate::store_paths::{fixed_output_path, IngestionMethod};
use makes_eval::{Evaluator, Thunk, Value};
use makes_store::StorePath;
use sha2::Digest as _;
use std::collections::BTreeMap;
use std::path::Path;

type Result<T> = makes_eval::Result<T>;

pub(crate) fn fetch(ev: &Evaluator, f: &Fetchers, arg: &Thunk, unpack: bool) -> Result<Value> {
    let who = if unpack { "fetchTarball" } else { "fetchurl" };
    let mut url = None;
    let mut name = if unpack {
        "source".to_owned()
    } else {
        String::new()
    };
    let mut expected = None;
    match arg.force(ev)? {
        Value::Attrs(attrs) => {
            for (key, attr) in attrs.iter() {
                let text = || crate::builtins::string_without_context(ev, &attr.value);
                match &**key {
                    "url" => url = Some(text()?),
                    "sha256" => {
                        expected = Some(
                            NixHash::parse_allow_empty(&text()?, Some(HashAlgo::Sha256))
                                .map_err(|e| error(e.to_string()))?,
                        )
                    }
                    "name" => name = text()?,
                    other => {
                        return Err(error(format!("unsupported argument '{other}' to '{who}'")))
                    }
                }
            }
        }
        _ => url = Some(crate::builtins::string_without_context(ev, arg)?),
    }
    let url = url.ok_or_else(|| error("'url' argument required"))?;
    if name.is_empty() {
        name = base_name(&url).to_owned();
    }
    makes_store::validate_name(&name).map_err(|e| error(e.to_string()))?;
    let method = if unpack {
        IngestionMethod::Recursive
    } else {
        IngestionMethod::Flat
    };
    let Some(sha256) = expected else {
        return fetch_into_store(f, &url, &name, unpack, None).map(|p| store_string(&p));
    };
    let path = fixed_output_path(method, &sha256, &name);
    if f.store.is_valid(&path) {
        return Ok(store_string(&path));
    }
    let fetch = PinnedFetch {
        url,
        name,
        unpack,
        sha256,
    };
    // A URL no download could take is refused at the call, deferred or not.
    if supported_url(&fetch.url) && f.deferred.defer(&path, fetch.clone()) {
        return Ok(store_string(&path));
    }
    fetch_pinned(f, &fetch).map(|p| store_string(&p))
}

/// Downloads a pinned fetch now, checking it against its hash; returns its store path.
pub(crate) fn fetch_pinned(f: &Fetchers, fetch: &PinnedFetch) -> Result<StorePath> {
    fetch_into_store(
        f,
        &fetch.url,
        &fetch.name,
        fetch.unpack,
        Some(&fetch.sha256),
    )
}

/// The store path of `url`'s file or tarball tree: remembered, or downloaded, then checked
/// against `expected` when given.
fn fetch_into_store(
    f: &Fetchers,
    url: &str,
    name: &str,
    unpack: bool,
    expected: Option<&NixHash>,
) -> Result<StorePath> {
    let cache = FetchCache::new(&f.cache_dir);
    let kind = if unpack { "tarball" } else { "file" };
    let input = [("type", kind), ("url", url), ("name", name)];
    let cached = cache
        .lookup(&input)
        .and_then(|c| StorePath::parse(&c.store_path).ok())
        .filter(|p| f.store.is_valid(p));
    let path = match cached {
        Some(path) => path,
        None => {
            let path = download(f, url, name, unpack)
                .map_err(|e| error(format!("unable to download '{url}': {e}")))?;
            cache.add(
                &input,
                &path.to_absolute(),
                &BTreeMap::new(),
                expected.is_some(),
            );
            path
        }
    };
    if let Some(hash) = expected {
        let found = if unpack {
            let info = f.store.path_info(&path).map_err(|e| error(e.to_string()))?;
            info.nar_hash
                .strip_prefix("sha256:")
                .unwrap_or_default()
                .to_owned()
        } else {
            let bytes =
                std::fs::read(f.store.real_path(&path)).map_err(|e| error(e.to_string()))?;
            makes_store::nixbase32::encode(&sha2::Sha256::digest(&bytes))
        };
        if found != hash.to_nix_base32() {
            return Err(error(format!(
                "hash mismatch in file downloaded from '{url}':\n  specified: sha256:{}\n  got:       sha256:{found}",
                hash.to_nix_base32()
            )));
        }
    }
    Ok(path)
}

fn supported_url(url: &str) -> bool {
    ["file://", "http://", "https://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

/// Nix's `baseNameOf` of a URL: its last segment, a final slash ignored.
fn base_name(url: &str) -> &str {
    let trimmed = url.strip_suffix('/').unwrap_or(url);
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Downloads `url` into a new file `out`: `file://` from the file system, the rest over HTTP.
pub(crate) fn download_to(f: &Fetchers, url: &str, out: &Path) -> std::result::Result<(), String> {
    if let Some(path) = url.strip_prefix("file://") {
        std::fs::copy(path, out).map_err(|e| format!("{path}: {e}"))?;
        return Ok(());
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        // The fetcher's message is all a `builtins.fetchurl` error shows (no help to lose).
        return f.http.fetch(url, out).map_err(|e| e.to_string());
    }
    Err("only file://, http:// and https:// URLs are supported".into())
}

/// Fetches `url` into the store: the file itself, or the tarball's one top-level entry.
fn download(
    f: &Fetchers,
    url: &str,
    name: &str,
    unpack: bool,
) -> std::result::Result<StorePath, String> {
    std::fs::create_dir_all(&f.cache_dir).map_err(|e| format!("{}: {e}", f.cache_dir.display()))?;
    let work = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(&f.cache_dir)
        .map_err(|e| format!("{}: {e}", f.cache_dir.display()))?;
    let file = work.path().join("download");
    download_to(f, url, &file)?;
    if !unpack {
        let bytes = std::fs::read(&file).map_err(|e| e.to_string())?;
        let hash = HashAlgo::Sha256.digest(&bytes);
        let path = fixed_output_path(IngestionMethod::Flat, &hash, name);
        f.store
            .build_output(&path, &[], |real: &Path| {
                // A copy: the cache and the store may be on different file systems.
                std::fs::copy(&file, real).map(|_| ()).map_err(|source| {
                    makes_store::StoreError::Io {
                        path: real.to_path_buf(),
                        source,
                    }
                })
            })
            .map_err(|e| e.to_string())?;
        return Ok(path);
    }
    let unpacked = work.path().join("unpacked");
    makes_http::unpack_archive(&file, &unpacked, false).map_err(|e| e.to_string())?;
    let entries: Vec<_> = std::fs::read_dir(&unpacked)
        .map_err(|e| e.to_string())?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let [top] = entries.as_slice() else {
        return Err(format!(
            "tarball '{url}' contains an unexpected number of top-level files"
        ));
    };
    f.store
        .add_source_path(&top.path(), name)
        .map_err(|e| e.to_string())
}
