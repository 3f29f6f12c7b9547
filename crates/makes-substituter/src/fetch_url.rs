//! Plain downloads (`fetchUrl`) and archives unpacked into a directory (`fetchArchive`,
//! `fetchGithub`), with the same HTTP client, TLS roots and retries as the binary caches. The
//! caller checks the content's hash.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::decompress::{with_decompressed, Compression};
use crate::http::{Failure, Fetched, Http};
use makes_registry::TransferLimits;

/// Downloads `url` into the new file `out_file`, held to `limits`; returns its size.
pub fn fetch_url(url: &str, out_file: &Path, limits: TransferLimits) -> Result<u64, String> {
    let http =
        Http::new(&[], 3, Duration::from_millis(500), limits).map_err(|e| e.to_string())?;
    let mut body = match http.get(url, &|_, _, _| {}) {
        Ok(Fetched::Body(body)) => body,
        Ok(Fetched::Missing(status)) | Err(Failure::Status(status)) => {
            return Err(format!("the server answered HTTP {status}"))
        }
        Err(Failure::Unreachable(reason)) => return Err(format!("unreachable: {reason}")),
    };
    let mut file = std::fs::File::create(out_file).map_err(|e| e.to_string())?;
    let size = std::io::copy(&mut body, &mut file).map_err(|e| format!("download cut: {e}"))?;
    file.flush().map_err(|e| e.to_string())?;
    Ok(size)
}

/// Downloads the archive at `url` (a tarball: gzip, xz, bzip2, zstd or plain) and unpacks it
/// into the new directory `out_dir`; with `strip_root`, the archive must hold one top-level
/// directory, whose contents become `out_dir` (as nixpkgs' `fetchzip` does).
pub fn fetch_archive(
    url: &str,
    out_dir: &Path,
    strip_root: bool,
    limits: TransferLimits,
) -> Result<(), String> {
    let parent = out_dir.parent().unwrap_or(Path::new("."));
    let download = tempfile::NamedTempFile::new_in(parent).map_err(|e| e.to_string())?;
    fetch_url(url, download.path(), limits)?;
    let mut file = std::fs::File::open(download.path()).map_err(|e| e.to_string())?;
    let mut magic = [0u8; 6];
    let got = std::io::Read::read(&mut file, &mut magic).map_err(|e| e.to_string())?;
    let compression = match &magic[..got] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0xfd, b'7', b'z', b'X', b'Z', 0] => Compression::Xz,
        [b'B', b'Z', b'h', ..] => Compression::Bzip2,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        [b'P', b'K', 3, 4, ..] => return Err("zip archives are not supported yet".into()),
        _ => Compression::None,
    };
    let file = std::fs::File::open(download.path()).map_err(|e| e.to_string())?;
    let staging = tempfile::Builder::new()
        .prefix(".unpack-")
        .tempdir_in(parent)
        .map_err(|e| e.to_string())?;
    let unpacked = with_decompressed(compression, file, |reader| {
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_mtime(false);
        archive.unpack(staging.path())
    })?;
    unpacked.map_err(|e| format!("cannot unpack the archive: {e}"))?;
    let root = if strip_root {
        let entries: Vec<_> = std::fs::read_dir(staging.path())
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        match entries.as_slice() {
            [only] if only.file_type().is_ok_and(|t| t.is_dir()) => only.path(),
            _ => {
                return Err(format!(
                    "the archive holds {} top-level entries, not one directory (stripRoot = false takes it as it is)",
                    entries.len()
                ))
            }
        }
    } else {
        staging.path().to_path_buf()
    };
    std::fs::rename(&root, out_dir).map_err(|e| e.to_string())
}
