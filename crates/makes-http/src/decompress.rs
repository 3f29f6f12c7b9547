//! Streaming decompression of what downloads bring: NARs from binary caches (`xz` through
//! lzma-rs, `zstd`, `bzip2`, `none`, the compressions `nix copy` writes, Nix's
//! `src/libutil/compression.cc`; `br` and the rest are refused with an error) and tarballs
//! (gzip too).
//!
//! zstd and bzip2 decoders are readers. lzma-rs only pushes into a writer, so xz is decoded
//! on a scoped thread into a bounded in-memory channel the consumer reads from; when the
//! consumer stops early the decoder's next write fails and the thread ends.

use std::io::{self, BufReader, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::error::HttpError;

/// A compression of a downloaded stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    None,
}

impl Compression {
    /// The `Compression` value of a narinfo, if makes can decode it.
    pub fn parse(name: &str) -> Option<Compression> {
        match name {
            "xz" => Some(Compression::Xz),
            "zstd" => Some(Compression::Zstd),
            "bzip2" => Some(Compression::Bzip2),
            "none" => Some(Compression::None),
            _ => None,
        }
    }
}

/// Calls `consume` with the decompressed stream of `body`. `Err` is a failure of the xz or
/// zstd decoder to start or (xz) to finish, which takes precedence over what `consume` made of
/// the truncated stream; the other decoders' failures reach `consume` as read errors.
pub fn with_decompressed<T>(
    compression: Compression,
    body: impl Read + Send,
    consume: impl FnOnce(&mut dyn Read) -> T,
) -> Result<T, HttpError> {
    let corrupt = |compression, reason: String| HttpError::CorruptStream {
        compression,
        reason,
    };
    match compression {
        Compression::None => Ok(consume(&mut BufReader::new(body))),
        Compression::Gzip => Ok(consume(&mut flate2::read::MultiGzDecoder::new(
            BufReader::new(body),
        ))),
        Compression::Bzip2 => Ok(consume(&mut bzip2::read::MultiBzDecoder::new(
            BufReader::new(body),
        ))),
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::new(body)
                .map_err(|e| corrupt("zstd", e.to_string()))?;
            Ok(consume(&mut decoder))
        }
        Compression::Xz => std::thread::scope(|scope| {
            let (sender, receiver) = sync_channel(8);
            let decoder = scope.spawn(move || {
                let mut input = BufReader::with_capacity(1 << 16, body);
                let mut output = io::BufWriter::with_capacity(1 << 16, ChannelWriter(sender));
                lzma_rs::xz_decompress(&mut input, &mut output)?;
                output.flush()?;
                Ok::<(), lzma_rs::error::Error>(())
            });
            let mut reader = ChannelReader {
                receiver,
                chunk: Vec::new(),
                pos: 0,
            };
            let out = consume(&mut reader);
            // Stops a decoder still writing: its next send fails.
            drop(reader);
            match decoder.join() {
                Ok(Ok(())) => Ok(out),
                Ok(Err(lzma_rs::error::Error::IoError(e)))
                    if e.kind() == io::ErrorKind::BrokenPipe =>
                {
                    Ok(out)
                }
                Ok(Err(e)) => Err(corrupt("xz", e.to_string())),
                Err(_) => Err(corrupt("xz", "the decoder panicked".to_owned())),
            }
        }),
    }
}

/// The sending end: each write is one chunk; fails once the reader is gone.
struct ChannelWriter(SyncSender<Vec<u8>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(buf.to_vec())
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The receiving end: the chunks in order, then end of stream once the writer is gone.
struct ChannelReader {
    receiver: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.receiver.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decompress(compression: Compression, data: &[u8]) -> Result<io::Result<Vec<u8>>, HttpError> {
        with_decompressed(compression, data, |r| {
            let mut out = Vec::new();
            r.read_to_end(&mut out).map(|_| out)
        })
    }

    #[test]
    fn all_four_round_trip() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut &data[..], &mut xz).expect("xz");
        let zst = zstd::stream::encode_all(&data[..], 3).expect("zstd");
        let mut bz = Vec::new();
        let mut enc = bzip2::read::BzEncoder::new(&data[..], bzip2::Compression::fast());
        enc.read_to_end(&mut bz).expect("bzip2");
        for (c, bytes) in [
            (Compression::Xz, xz),
            (Compression::Zstd, zst),
            (Compression::Bzip2, bz),
            (Compression::None, data.clone()),
        ] {
            let out = decompress(c, &bytes).expect("decoder").expect("read");
            assert!(out == data, "{c:?}");
        }
    }

    #[test]
    fn corrupt_xz_is_an_error_and_an_early_stop_is_not() {
        let data = vec![42u8; 1 << 20];
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut &data[..], &mut xz).expect("xz");
        let mut corrupt = xz.clone();
        let at = corrupt.len() / 2;
        corrupt[at] ^= 0xff;
        assert!(decompress(Compression::Xz, &corrupt).is_err());
        assert!(decompress(Compression::Xz, &xz[..xz.len() - 4]).is_err());
        // The consumer reads a little and stops: the decoder thread ends, no error.
        let first = with_decompressed(Compression::Xz, &xz[..], |r| {
            let mut buf = [0u8; 10];
            r.read_exact(&mut buf).map(|()| buf)
        });
        assert_eq!(first.expect("decoder").expect("read"), [42u8; 10]);
    }

    #[test]
    fn names() {
        assert_eq!(Compression::parse("xz"), Some(Compression::Xz));
        assert_eq!(Compression::parse("none"), Some(Compression::None));
        assert_eq!(Compression::parse("br"), None);
    }
}
