//! Writes the layers of one image build as one pipeline, so that both cores stay busy from the
//! first layer to the last:
//!
//! - the building thread writes each layer's tar into a [`LayerStream`], which cuts it into
//!   chunks of [`CHUNK_SIZE`] and hands each to the shared compression workers;
//! - one sink thread per build takes the compressed chunks in order, hashes them (the blob
//!   digest) and writes them into the layer's blob, which it renames to its digest when the
//!   layer ends.
//!
//! The building thread never waits for a layer to be compressed: when a layer's tar is written
//! it goes on with the next one and gets a [`PendingBlob`] that resolves once the sink has
//! stored the blob. Small layers are thereby compressed side by side instead of one after
//! another, and the last chunks of a large layer while the next one is read. At most
//! `threads + 2` chunks are between the building thread and the sink, so memory stays bounded
//! whatever the layer sizes; chunk buffers are reused (see [`crate::compress`]).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use makes_spec::Compressor;

use crate::blob::{BlobWriter, StoredBlob};
use crate::compress::{
    compress_async, compression_threads, return_buffer, spare_buffer, Codec, PendingChunk,
    CHUNK_SIZE,
};
use crate::error::OciError;

/// What the building thread tells the sink, in layer order.
enum ToSink {
    /// A layer starts; its blob is written here.
    Start(BlobWriter),
    /// The next chunk of the current layer.
    Chunk(PendingChunk),
    /// The current layer is complete: store its blob and reply.
    End(Sender<Result<StoredBlob, OciError>>),
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
        let (to_sink, from_builder) = mpsc::sync_channel(threads);
        let sink = std::thread::Builder::new()
            .name("makes-layer-sink".into())
            .spawn(move || sink(&from_builder))
            .map_err(OciError::io(blob_dir))?;
        Ok(LayerWriter {
            codec: Codec::of(compressor),
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
            buf: Vec::new(),
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

/// The sink's loop: the chunks of each layer, in order, into its blob.
fn sink(messages: &Receiver<ToSink>) {
    let mut blob: Option<BlobWriter> = None;
    let mut failed: Option<OciError> = None;
    for message in messages {
        match message {
            ToSink::Start(next) => {
                blob = Some(next);
                failed = None;
            }
            ToSink::Chunk(chunk) => {
                let Some(out) = blob.as_mut() else { continue };
                if failed.is_some() {
                    continue;
                }
                match chunk.wait() {
                    Ok(bytes) => {
                        if let Err(e) = out.write_all(&bytes) {
                            failed = Some(OciError::Io {
                                path: out.dir().to_path_buf(),
                                source: e,
                            });
                        }
                        return_buffer(bytes);
                    }
                    Err(e) => {
                        failed = Some(OciError::Io {
                            path: out.dir().to_path_buf(),
                            source: e,
                        })
                    }
                }
            }
            ToSink::End(reply) => {
                let result = match (failed.take(), blob.take()) {
                    (Some(e), _) => Err(e),
                    (None, Some(out)) => out.complete(),
                    (None, None) => Err(OciError::Io {
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

/// The tar stream of one layer: cut into chunks and sent to be compressed as it is written.
/// [`LayerStream::finish`] ends the layer.
pub(crate) struct LayerStream<'w> {
    writer: &'w LayerWriter,
    buf: Vec<u8>,
    /// Whether a chunk was sent (an empty layer still gets one empty member or frame).
    emitted: bool,
}

impl LayerStream<'_> {
    /// Sends the current chunk on: to the workers, or as it is when layers are not compressed.
    fn send_chunk(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, spare_buffer());
        self.emitted = true;
        let pending = match self.writer.codec {
            Some(codec) => compress_async(codec, chunk, self.writer.threads),
            None => PendingChunk::Ready(Ok(chunk)),
        };
        self.writer
            .send(ToSink::Chunk(pending))
            .map_err(|_| io::Error::other("the layer writer stopped"))
    }

    /// Sends the last chunk and ends the layer; its blob arrives through the [`PendingBlob`].
    pub(crate) fn finish(mut self) -> Result<PendingBlob, OciError> {
        if !self.buf.is_empty() || (!self.emitted && self.writer.codec.is_some()) {
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
        if self.buf.capacity() < CHUNK_SIZE {
            self.buf.reserve_exact(CHUNK_SIZE - self.buf.len());
        }
        let n = data.len().min(CHUNK_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK_SIZE {
            self.send_chunk()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Chunks are only cut at CHUNK_SIZE, so that the output does not depend on flushes.
        Ok(())
    }
}

impl Drop for LayerStream<'_> {
    fn drop(&mut self) {
        return_buffer(std::mem::take(&mut self.buf));
    }
}

/// A layer whose tar is written and whose blob the sink is still storing.
pub(crate) struct PendingBlob {
    blob: Receiver<Result<StoredBlob, OciError>>,
    blob_dir: PathBuf,
}

impl PendingBlob {
    /// The stored blob, once every chunk of the layer is compressed and written.
    pub(crate) fn wait(self) -> Result<StoredBlob, OciError> {
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

    /// The blob of `data` written as one layer, in pieces of `piece` bytes.
    pub(crate) fn compress(c: Compressor, data: &[u8], threads: usize, piece: usize) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = LayerWriter::with_threads(c, dir.path(), threads).expect("writer");
        let mut layer = writer.layer().expect("layer");
        for p in data.chunks(piece) {
            layer.write_all(p).expect("write");
        }
        let blob = layer.finish().expect("finish").wait().expect("blob");
        std::fs::read(blob.path).expect("read blob")
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
                let blob = p.wait().expect("blob");
                let alone = compress(c, data, 1, 4096);
                assert_eq!(std::fs::read(&blob.path).expect("read"), alone, "{c:?}");
                assert_eq!(blob.size, alone.len() as u64);
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
        assert_eq!(
            std::fs::read(&blob.path).expect("read"),
            compress(Compressor::Zstd, b"second", 1, 6)
        );
        drop(writer);
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }
}
