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
    let http = Http::new(&[], 3, Duration::from_millis(500), limits).map_err(|e| e.to_string())?;
    let mut body = match http.get(url, &|_, _, _| {}) {
        Ok(Fetched::Body(body)) => body,
        Ok(Fetched::Missing(status)) | Err(Failure::Status(status)) => {
            return Err(format!("the server answered HTTP {status}"))
        }
        Err(Failure::Unreachable(reason)) => return Err(format!("unreachable: {reason}")),
    };
    let mut file = std::fs::File::create(out_file).map_err(on(out_file))?;
    let mut written = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        // Read and write errors apart: a cut download and a full disk are different stories.
        let n = match std::io::Read::read(&mut body, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("download cut after {written} bytes: {e}")),
        };
        file.write_all(&buf[..n]).map_err(on(out_file))?;
        written += n as u64;
    }
    file.flush().map_err(on(out_file))?;
    Ok(written)
}

/// An I/O error with the path it happened on.
fn on(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
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
    let download = tempfile::NamedTempFile::new_in(parent).map_err(on(parent))?;
    fetch_url(url, download.path(), limits)?;
    unpack_archive(download.path(), out_dir, strip_root)
}

/// Unpacks the tarball `archive` (gzip, xz, bzip2, zstd or plain) into the new directory
/// `out_dir`, as [`fetch_archive`] does with a download.
pub fn unpack_archive(archive: &Path, out_dir: &Path, strip_root: bool) -> Result<(), String> {
    let parent = out_dir.parent().unwrap_or(Path::new("."));
    let download = archive;
    let mut file = std::fs::File::open(download).map_err(on(download))?;
    let mut magic = [0u8; 6];
    let got = std::io::Read::read(&mut file, &mut magic).map_err(on(download))?;
    let compression = match &magic[..got] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0xfd, b'7', b'z', b'X', b'Z', 0] => Compression::Xz,
        [b'B', b'Z', b'h', ..] => Compression::Bzip2,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        [b'P', b'K', 3, 4, ..] => return Err("zip archives are not supported yet".into()),
        _ => Compression::None,
    };
    let file = std::fs::File::open(download).map_err(on(download))?;
    let staging = tempfile::Builder::new()
        .prefix(".unpack-")
        .tempdir_in(parent)
        .map_err(on(parent))?;
    let unpacked = with_decompressed(compression, file, |reader| {
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_mtime(false);
        archive.unpack(staging.path())
    })?;
    unpacked.map_err(|e| format!("cannot unpack the archive: {e}"))?;
    let root = if strip_root {
        let entries: Vec<_> = std::fs::read_dir(staging.path())
            .map_err(on(staging.path()))?
            .collect::<Result<_, _>>()
            .map_err(on(staging.path()))?;
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
    std::fs::rename(&root, out_dir).map_err(on(out_dir))
}
