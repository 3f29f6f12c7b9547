//! What a base layer really is: one pass over its bytes gives its digest and size (what the
//! manifest names it by) and, decompressed, its diff_id (what the config names it by); a copy
//! can be written on the way. A base whose layers disagree with their names would make an
//! image that skopeo and umoci reject, so it is refused before anything is built.

use std::io::{self, BufRead, BufReader, Read, Write};

use sha2::{Digest as _, Sha256};

use makes_oci_model::media_types::{OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_LAYER_ZSTD};

use crate::blob::{Digest, HashingWriter};

/// A layer blob as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LayerFacts {
    pub media_type: &'static str,
    pub digest: Digest,
    pub size: u64,
    /// The sha256 of the decompressed tar, when asked for.
    pub diff_id: Option<Digest>,
    /// Why the blob could not be decompressed, if it could not (its digest still tells
    /// whether it is the blob it claims to be, which says more).
    pub decode_error: Option<String>,
}

/// Hashes and counts what is read through it, and copies it to `copy` if any.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
    copy: Option<Box<dyn Write>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        if let Some(copy) = &mut self.copy {
            copy.write_all(&buf[..n])?;
        }
        Ok(n)
    }
}

/// The media type a layer's first bytes show (docker archives do not say).
fn sniff(magic: &[u8]) -> &'static str {
    match magic {
        [0x1f, 0x8b, ..] => OCI_LAYER_GZIP,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => OCI_LAYER_ZSTD,
        _ => OCI_LAYER_TAR,
    }
}

/// Reads a whole layer blob: its media type (`known`, or sniffed), digest, size, and with
/// `diff_id` its decompressed sha256; writes the bytes to `copy` on the way.
pub(crate) fn read_layer(
    blob: impl Read,
    known: Option<&'static str>,
    copy: Option<Box<dyn Write>>,
    diff_id: bool,
) -> io::Result<LayerFacts> {
    let mut buffered = BufReader::with_capacity(1 << 16, blob);
    let media_type = match known {
        Some(m) => m,
        None => sniff(buffered.fill_buf()?),
    };
    let mut hashing = HashingReader {
        inner: buffered,
        hasher: Sha256::new(),
        size: 0,
        copy,
    };
    let mut tar_digest = None;
    let mut decode_error = None;
    if diff_id && media_type != OCI_LAYER_TAR {
        let mut out = HashingWriter::new(io::sink());
        let decoded = if media_type == OCI_LAYER_GZIP {
            io::copy(
                &mut flate2::read::MultiGzDecoder::new(&mut hashing),
                &mut out,
            )
        } else {
            zstd::stream::read::Decoder::new(&mut hashing)
                .and_then(|mut d| io::copy(&mut d, &mut out))
        };
        match decoded {
            Ok(_) => tar_digest = Some(out.finish().1),
            // Reading the file itself failed: that is no fact about the blob.
            Err(e) if hashing_failed(&e) => return Err(e),
            Err(e) => decode_error = Some(e.to_string()),
        }
    }
    // Whatever follows the compressed stream is part of the blob too.
    io::copy(&mut hashing, &mut io::sink())?;
    if let Some(copy) = &mut hashing.copy {
        copy.flush()?;
    }
    let digest = Digest::from_hasher(hashing.hasher);
    if diff_id && media_type == OCI_LAYER_TAR {
        tar_digest = Some(digest);
    }
    Ok(LayerFacts {
        media_type,
        digest,
        size: hashing.size,
        diff_id: tar_digest,
        decode_error,
    })
}

/// Whether an error while decoding came from reading the blob rather than from its contents.
fn hashing_failed(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::InvalidData
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::Other
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_diff_ids_of_each_compression() {
        let tar = b"not really a tar, but bytes all the same".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::stream::encode_all(tar.as_slice(), 1).unwrap();
        for (blob, media) in [
            (&tar, OCI_LAYER_TAR),
            (&gz, OCI_LAYER_GZIP),
            (&zst, OCI_LAYER_ZSTD),
        ] {
            let facts = read_layer(blob.as_slice(), None, None, true).unwrap();
            assert_eq!(facts.media_type, media);
            assert_eq!(facts.digest, Digest::of(blob));
            assert_eq!(facts.size, blob.len() as u64);
            assert_eq!(facts.diff_id, Some(Digest::of(&tar)));
        }
    }

    #[test]
    fn a_corrupt_stream_is_an_error_and_the_copy_is_whole() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"data").unwrap();
        let mut gz = gz.finish().unwrap();
        let last = gz.len() - 1;
        gz[last] ^= 0xff;
        let facts = read_layer(gz.as_slice(), Some(OCI_LAYER_GZIP), None, true).unwrap();
        assert!(facts.decode_error.is_some() && facts.diff_id.is_none());
        assert_eq!(facts.digest, Digest::of(&gz));
        let copy = tempfile::NamedTempFile::new().unwrap();
        let facts = read_layer(
            gz.as_slice(),
            Some(OCI_LAYER_GZIP),
            Some(Box::new(copy.reopen().unwrap())),
            false,
        )
        .unwrap();
        assert_eq!(facts.diff_id, None);
        assert_eq!(std::fs::read(copy.path()).unwrap(), gz);
    }
}
