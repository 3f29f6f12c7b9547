//! Plain downloads (`fetchUrl`) and archives unpacked into a directory (`fetchArchive`,
//! `fetchGithub`, Nix's `fetchTarball`), through the one client, with its TLS roots, proxies,
//! retries and limits. The caller checks the content's hash.

use std::io::{Read, Write};
use std::path::Path;

use crate::client::HttpClient;
use crate::decompress::{with_decompressed, Compression};
use crate::error::HttpError;
use crate::get::Fetched;

/// Downloads `url` into the new file `out_file`; returns its size.
pub fn fetch_url(client: &HttpClient, url: &str, out_file: &Path) -> Result<u64, HttpError> {
    let mut body = match client.get(url, &|_, _| {})? {
        Fetched::Body(body) => body,
        Fetched::Missing(status) => {
            return Err(HttpError::Status {
                url: url.to_owned(),
                status,
                tries: 1,
            })
        }
    };
    let mut file = std::fs::File::create(out_file).map_err(HttpError::io(out_file))?;
    let mut written = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        // Read and write errors apart: a cut download and a full disk are different stories.
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(match crate::limits::limit_exceeded(&source) {
                    Some(limit) => HttpError::Stalled {
                        url: url.to_owned(),
                        limit: limit.clone(),
                    },
                    None => HttpError::Cut {
                        url: url.to_owned(),
                        bytes: written,
                        source,
                    },
                })
            }
        };
        file.write_all(&buf[..n]).map_err(HttpError::io(out_file))?;
        written += n as u64;
    }
    file.flush().map_err(HttpError::io(out_file))?;
    Ok(written)
}

/// Downloads the archive at `url` (a tarball: gzip, xz, bzip2, zstd or plain) and unpacks it
/// into the new directory `out_dir`; with `strip_root`, the archive must hold one top-level
/// directory, whose contents become `out_dir` (as nixpkgs' `fetchzip` does).
pub fn fetch_archive(
    client: &HttpClient,
    url: &str,
    out_dir: &Path,
    strip_root: bool,
) -> Result<(), HttpError> {
    let parent = out_dir.parent().unwrap_or(Path::new("."));
    let download = tempfile::NamedTempFile::new_in(parent).map_err(HttpError::io(parent))?;
    fetch_url(client, url, download.path())?;
    unpack_archive(download.path(), out_dir, strip_root)
}

/// Unpacks the tarball `archive` (gzip, xz, bzip2, zstd or plain) into the new directory
/// `out_dir`, as [`fetch_archive`] does with a download.
pub fn unpack_archive(archive: &Path, out_dir: &Path, strip_root: bool) -> Result<(), HttpError> {
    let parent = out_dir.parent().unwrap_or(Path::new("."));
    let unpack_error = |reason: String| HttpError::Unpack {
        path: archive.to_path_buf(),
        reason,
    };
    let mut file = std::fs::File::open(archive).map_err(HttpError::io(archive))?;
    let mut magic = [0u8; 6];
    let got = file.read(&mut magic).map_err(HttpError::io(archive))?;
    let compression = match &magic[..got] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0xfd, b'7', b'z', b'X', b'Z', 0] => Compression::Xz,
        [b'B', b'Z', b'h', ..] => Compression::Bzip2,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        [b'P', b'K', 3, 4, ..] => {
            return Err(unpack_error("zip archives are not supported yet".into()))
        }
        _ => Compression::None,
    };
    let file = std::fs::File::open(archive).map_err(HttpError::io(archive))?;
    let staging = tempfile::Builder::new()
        .prefix(".unpack-")
        .tempdir_in(parent)
        .map_err(HttpError::io(parent))?;
    let unpacked = with_decompressed(compression, file, |reader| {
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_mtime(false);
        archive.unpack(staging.path())
    })?;
    unpacked.map_err(|e| unpack_error(e.to_string()))?;
    let root = if strip_root {
        let entries: Vec<_> = std::fs::read_dir(staging.path())
            .map_err(HttpError::io(staging.path()))?
            .collect::<Result<_, _>>()
            .map_err(HttpError::io(staging.path()))?;
        match entries.as_slice() {
            [only] if only.file_type().is_ok_and(|t| t.is_dir()) => only.path(),
            _ => {
                return Err(unpack_error(format!(
                    "the archive holds {} top-level entries, not one directory (stripRoot = false takes it as it is)",
                    entries.len()
                )))
            }
        }
    } else {
        staging.path().to_path_buf()
    };
    std::fs::rename(&root, out_dir).map_err(HttpError::io(out_dir))
}
