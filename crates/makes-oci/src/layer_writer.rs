//! Writes the layers of one image build as one pipeline, so that both cores stay busy from the
//! first layer to the last:
//!
//! - the building thread writes each layer's tar into a [`LayerStream`], which cuts it into
//!   chunks of [`crate::chunk::CHUNK_SIZE`] (files are read straight into them) and hands each to the shared
//!   compression workers;
//! - one sink thread per build takes the chunks in order: it hashes each uncompressed chunk
//!   (the layer's diff_id) while the workers compress it, then hashes the compressed chunk (the
//!   blob digest) and writes it into the layer's blob, which it renames to its digest when the
//!   layer ends. The building thread thereby only reads files and writes tar headers.
//!
//! The building thread never waits for a layer to be compressed: when a layer's tar is written
//! it goes on with the next one and gets a [`PendingBlob`] that resolves once the sink has
//! stored the blob. Small layers are thereby compressed side by side instead of one after
//! another, and the last chunks of a large layer while the next one is read. At most
//! `threads + 2` chunks are between the building thread and the sink, so memory stays bounded
//! whatever the layer sizes; chunk buffers are reused (see [`crate::chunk`]).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use makes_spec::Compressor;
use sha2::{Digest as _, Sha256};

use crate::blob::{BlobWriter, Digest, StoredBlob};
use crate::chunk::{return_out_buffer, Chunk};
use crate::compress::{compress_async, compression_threads, Codec, PendingChunk};
use crate::error::OciError;
use crate::tar_writer::TarSink;

/// What the building thread tells the sink, in layer order.
enum ToSink {
    /// A layer starts; its blob is written here.
    Start(BlobWriter),
    /// The next chunk of the current layer, and its compressed form on the way (none when
    /// layers are stored uncompressed).
    Chunk {
        raw: Arc<Chunk>,
        compressed: Option<PendingChunk>,
    },
    /// The current layer is complete: store its blob and reply.
    End(Sender<Result<LayerBlob, OciError>>),
}

/// A layer's stored blob and its diff_id (the digest of its uncompressed tar).
pub(crate) struct LayerBlob {
    pub blob: StoredBlob,
    pub diff_id: Digest,
}

/// The layer pipeline of one build: compressor, blob directory, and the sink thread.
pub(crate) struct LayerWriter {
    codec: Option<Codec>,
    threads: usize,
    blob_dir: PathBuf,
    to_sink: Option<SyncSender<ToSink>>,
    sink: Option<JoinHandle<()>>,
}

impl LayerWriter {
    /// Layers compressed with `compressor` into blobs in `blob_dir`.
    pub(crate) fn new(compressor: Compressor, blob_dir: &Path) -> Result<Self, OciError> {
        Self::with_threads(compressor, blob_dir, compression_threads())
    }

    /// With an explicit number of compression threads (1 compresses on the building thread).
    pub(crate) fn with_threads(
        compressor: Compressor,
        blob_dir: &Path,
        threads: usize,
    ) -> Result<Self, OciError> {
        let threads = threads.max(1);
        let codec = Codec::of(compressor);
        let (to_sink, from_builder) = mpsc::sync_channel(threads);
        let compressed = codec.is_some();
        let sink = std::thread::Builder::new()
            .name("makes-layer-sink".into())
            .spawn(move || sink(&from_builder, compressed))
            .map_err(OciError::io(blob_dir))?;
        Ok(LayerWriter {
            codec,
            threads,
            blob_dir: blob_dir.to_path_buf(),
            to_sink: Some(to_sink),
            sink: Some(sink),
        })
    }

    /// Starts the next layer: what is written to the stream becomes its blob.
    pub(crate) fn layer(&self) -> Result<LayerStream<'_>, OciError> {
        let blob = BlobWriter::new(&self.blob_dir)?;
        self.send(ToSink::Start(blob))?;
        Ok(LayerStream {
            writer: self,
            chunk: None,
            emitted: false,
        })
    }

    fn send(&self, message: ToSink) -> Result<(), OciError> {
        let sent = match &self.to_sink {
            Some(to_sink) => to_sink.send(message).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(self.stopped())
        }
    }

    fn stopped(&self) -> OciError {
        OciError::Io {
            path: self.blob_dir.clone(),
            source: io::Error::other("the layer writer stopped"),
        }
    }
}

impl Drop for LayerWriter {
    fn drop(&mut self) {
        // The sink ends when its queue closes, after the chunks still in it (a layer left
        // unfinished by an error loses its temporary blob).
        drop(self.to_sink.take());
        if let Some(sink) = self.sink.take() {
            let _ = sink.join();
        }
    }
}

/// The sink's loop: the chunks of each layer, in order, hashed and into its blob.
fn sink(messages: &Receiver<ToSink>, compressed: bool) {
    let mut layer: Option<SinkLayer> = None;
    for message in messages {
        match message {
            ToSink::Start(blob) => {
                layer = Some(SinkLayer {
                    blob,
                    compressed,
                    diff_id: Sha256::new(),
                    failed: None,
                });
            }
            ToSink::Chunk { raw, compressed } => {
                if let Some(layer) = layer.as_mut() {
                    layer.chunk(raw, compressed);
                }
            }
            ToSink::End(reply) => {
                let result = match layer.take() {
                    Some(layer) => layer.complete(),
                    None => Err(OciError::Io {
                        path: PathBuf::from("<layer>"),
                        source: io::Error::other("a layer ended that never started"),
                    }),
                };
                // The building thread may have stopped on an error of its own.
                let _ = reply.send(result);
            }
        }
    }
}

/// The layer the sink is storing.
struct SinkLayer {
    blob: BlobWriter,
    compressed: bool,
    /// Hashes the uncompressed tar (unused for uncompressed layers: their blob digest is it).
    diff_id: Sha256,
    failed: Option<io::Error>,
}

impl SinkLayer {
    fn chunk(&mut self, raw: Arc<Chunk>, compressed: Option<PendingChunk>) {
        if self.failed.is_some() {
            return;
        }
        let written = match compressed {
            // The workers compress the chunk while it is hashed here.
            Some(compressed) => {
                self.diff_id.update(raw.bytes());
                drop(raw);
                compressed.wait().and_then(|bytes| {
                    let written = self.blob.write_all(&bytes);
                    return_out_buffer(bytes);
                    written
                })
            }
            None => self.blob.write_all(raw.bytes()),
        };
        if let Err(e) = written {
            self.failed = Some(e);
        }
    }

    fn complete(self) -> Result<LayerBlob, OciError> {
        if let Some(e) = self.failed {
            return Err(OciError::Io {
                path: self.blob.dir().to_path_buf(),
                source: e,
            });
        }
        let blob = self.blob.complete()?;
        let diff_id = if self.compressed {
            Digest::from_hasher(self.diff_id)
        } else {
            blob.digest
        };
        Ok(LayerBlob { blob, diff_id })
    }
}

/// The tar stream of one layer: cut into chunks and sent to be compressed as it is written.
/// [`LayerStream::finish`] ends the layer.
pub(crate) struct LayerStream<'w> {
    writer: &'w LayerWriter,
    /// The chunk being filled (taken when it is sent; the next write gets a new one).
    chunk: Option<Chunk>,
    /// Whether a chunk was sent (an empty layer still gets one empty member or frame).
    emitted: bool,
}

impl LayerStream<'_> {
    /// The chunk being filled, never full (a full one is sent at once).
    fn current(&mut self) -> &mut Chunk {
        self.chunk.get_or_insert_with(Chunk::new)
    }

    /// Sends the current chunk on if it is full.
    fn send_if_full(&mut self) -> io::Result<()> {
        match &self.chunk {
            Some(chunk) if chunk.is_full() => self.send_chunk(),
            _ => Ok(()),
        }
    }

    /// Sends the current chunk on: to the workers, or as it is when layers are not compressed.
    fn send_chunk(&mut self) -> io::Result<()> {
        let raw = Arc::new(self.chunk.take().unwrap_or_else(Chunk::new));
        self.emitted = true;
        let compressed = self
            .writer
            .codec
            .map(|codec| compress_async(codec, Arc::clone(&raw), self.writer.threads));
        self.writer
            .send(ToSink::Chunk { raw, compressed })
            .map_err(|_| io::Error::other("the layer writer stopped"))
    }

    /// Sends the last chunk and ends the layer; its blob arrives through the [`PendingBlob`].
    pub(crate) fn finish(mut self) -> Result<PendingBlob, OciError> {
        let pending = self.chunk.as_ref().is_some_and(|c| !c.is_empty());
        if pending || (!self.emitted && self.writer.codec.is_some()) {
            self.send_chunk().map_err(|_| self.writer.stopped())?;
        }
        let (reply, blob) = mpsc::channel();
        self.writer.send(ToSink::End(reply))?;
        Ok(PendingBlob {
            blob,
            blob_dir: self.writer.blob_dir.clone(),
        })
    }
}

impl Write for LayerStream<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.current().push(data);
        self.send_if_full()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Chunks are only cut at CHUNK_SIZE, so that the output does not depend on flushes.
        Ok(())
    }
}

impl TarSink for LayerStream<'_> {
    /// Reads the file straight into the chunks: one `read` per chunk-sized piece, no copy.
    fn append_file(&mut self, mut file: &File, size: u64) -> io::Result<u64> {
        let mut count = 0u64;
        while count < size {
            let want = usize::try_from(size - count).unwrap_or(usize::MAX);
            // Never empty: a full chunk is sent at once.
            let room = self.current().room(want);
            let n = match file.read(room) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.current().advance(n);
            count += n as u64;
            self.send_if_full()?;
        }
        Ok(count)
    }
}

/// A layer whose tar is written and whose blob the sink is still storing.
pub(crate) struct PendingBlob {
    blob: Receiver<Result<LayerBlob, OciError>>,
    blob_dir: PathBuf,
}

impl PendingBlob {
    /// The stored blob and the diff_id, once every chunk of the layer is compressed and
    /// written.
    pub(crate) fn wait(self) -> Result<LayerBlob, OciError> {
        self.blob.recv().unwrap_or_else(|_| {
            Err(OciError::Io {
                path: self.blob_dir,
                source: io::Error::other("the layer writer stopped"),
            })
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::chunk::CHUNK_SIZE;

    /// The blob of `data` written as one layer, in pieces of `piece` bytes.
    pub(crate) fn compress(c: Compressor, data: &[u8], threads: usize, piece: usize) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = LayerWriter::with_threads(c, dir.path(), threads).expect("writer");
        let mut layer = writer.layer().expect("layer");
        for p in data.chunks(piece) {
            layer.write_all(p).expect("write");
        }
        let blob = layer.finish().expect("finish").wait().expect("blob");
        assert_eq!(
            blob.diff_id,
            Digest::of(data),
            "the diff_id is the tar's digest"
        );
        std::fs::read(blob.blob.path).expect("read blob")
    }

    #[test]
    fn layers_written_back_to_back_give_each_its_own_blob() {
        let dir = tempfile::tempdir().expect("tempdir");
        let datas: Vec<Vec<u8>> = (0..20u8)
            .map(|i| {
                let len = if i % 5 == 0 {
                    CHUNK_SIZE + 1000
                } else {
                    100 * i as usize
                };
                (0..len).map(|j| (j as u8).wrapping_mul(i | 1)).collect()
            })
            .collect();
        for c in [Compressor::Zstd, Compressor::Gz, Compressor::None] {
            let writer = LayerWriter::with_threads(c, dir.path(), 2).expect("writer");
            let mut pending = Vec::new();
            for data in &datas {
                let mut layer = writer.layer().expect("layer");
                layer.write_all(data).expect("write");
                pending.push(layer.finish().expect("finish"));
            }
            for (data, p) in datas.iter().zip(pending) {
                let LayerBlob { blob, diff_id } = p.wait().expect("blob");
                let alone = compress(c, data, 1, 4096);
                assert_eq!(std::fs::read(&blob.path).expect("read"), alone, "{c:?}");
                assert_eq!(blob.size, alone.len() as u64);
                assert_eq!(diff_id, Digest::of(data), "{c:?}");
            }
        }
        // Only finished blobs are left: no temporary file.
        for e in std::fs::read_dir(dir.path()).expect("ls") {
            let name = e.expect("entry").file_name();
            assert_eq!(name.len(), 64, "{name:?}");
        }
    }

    #[test]
    fn an_abandoned_layer_leaves_no_blob_and_the_next_one_is_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = LayerWriter::with_threads(Compressor::Zstd, dir.path(), 2).expect("writer");
        let mut layer = writer.layer().expect("layer");
        layer.write_all(&vec![1u8; CHUNK_SIZE + 5]).expect("write");
        drop(layer);
        let mut layer = writer.layer().expect("layer");
        layer.write_all(b"second").expect("write");
        let blob = layer.finish().expect("finish").wait().expect("blob");
        assert_eq!(blob.diff_id, Digest::of(b"second"));
        assert_eq!(
            std::fs::read(&blob.blob.path).expect("read"),
            compress(Compressor::Zstd, b"second", 1, 6)
        );
        drop(writer);
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn files_read_into_the_chunks_give_the_bytes_written_ones_give() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = tempfile::tempdir().expect("tempdir");
        // Files that end inside a chunk, exactly at its end, and across two boundaries.
        let sizes = [1000, CHUNK_SIZE - 1000 - 3, 3 * CHUNK_SIZE + 17, 0, 5];
        let mut want = Vec::new();
        let writer = LayerWriter::with_threads(Compressor::Zstd, blobs.path(), 2).expect("w");
        let mut layer = writer.layer().expect("layer");
        for (i, size) in sizes.into_iter().enumerate() {
            let data: Vec<u8> = (0..size).map(|j| (j % 251) as u8 ^ i as u8).collect();
            let path = dir.path().join(format!("f{i}"));
            std::fs::write(&path, &data).expect("write");
            let file = File::open(&path).expect("open");
            let n = layer.append_file(&file, size as u64).expect("append");
            assert_eq!(n, size as u64);
            want.extend_from_slice(&data);
        }
        // A file shorter than said gives what it has.
        let short = dir.path().join("short");
        std::fs::write(&short, b"abc").expect("write");
        let file = File::open(&short).expect("open");
        assert_eq!(layer.append_file(&file, 10).expect("append"), 3);
        want.extend_from_slice(b"abc");
        let blob = layer.finish().expect("finish").wait().expect("blob");
        assert_eq!(blob.diff_id, Digest::of(&want));
        assert_eq!(
            std::fs::read(&blob.blob.path).expect("read"),
            compress(Compressor::Zstd, &want, 1, 777)
        );
    }
}
