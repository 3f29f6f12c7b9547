//! Parallel, deterministic layer compression: compression uses every core, and a fixed level
//! and header make the output the same bytes on every run and every machine.
//!
//! The uncompressed tar stream of a layer is cut into fixed-size chunks ([`CHUNK_SIZE`]; the
//! cutting is [`crate::layer_writer`]'s, the buffers [`crate::chunk`]'s); each chunk is
//! compressed on its own by the shared workers ([`compress_async`]) and the results are written
//! in order:
//!
//! - `gz`: each chunk is one complete gzip member (libdeflate level 5, header with mtime 0, no
//!   name, OS 255). RFC 1952 section 2.2: a gzip file is a series of members; Go's
//!   `compress/gzip` (docker, containerd, podman, skopeo, umoci), zlib's `gunzip`, `pigz -d` and
//!   Python read them all as one stream, as they read BGZF and `pgzip` output. Rust's
//!   `flate2::read::GzDecoder` stops after the first member: use `MultiGzDecoder`.
//! - `zstd`: each chunk is one zstd frame (level 3); zstd decoders read concatenated frames as
//!   one stream (RFC 8878 section 3.1).
//!
//! Because chunk boundaries depend only on the byte stream and each chunk is compressed
//! independently, the output is byte-identical whatever the number of threads or how the writer
//! was called. The workers and their compression contexts live as long as the process, and the
//! chunk buffers are reused: a build of many small layers starts no thread and faults in no fresh
//! memory per layer.

use std::cell::RefCell;
use std::io;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use makes_spec::Compressor;

pub use crate::chunk::CHUNK_SIZE;
use crate::chunk::{out_buffer, return_out_buffer, Chunk};
/// The gzip level, on libdeflate's scale: its level 5 compresses as well as zlib's level 6
/// (`gzip -6`, within 0.5% on bench/image) and is faster than its own level 6.
pub const GZIP_LEVEL: i32 = 5;
/// The zstd level (zstd's own default).
pub const ZSTD_LEVEL: i32 = 3;
/// Environment variable capping the compression threads (default: the available cores).
pub const THREADS_ENV: &str = "MAKES_COMPRESS_THREADS";

/// How one chunk is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Gzip,
    Zstd,
}

impl Codec {
    /// The codec of a compressor; `None` stores layers uncompressed.
    pub(crate) fn of(compressor: Compressor) -> Option<Codec> {
        match compressor {
            Compressor::None => None,
            Compressor::Gz => Some(Codec::Gzip),
            Compressor::Zstd => Some(Codec::Zstd),
        }
    }
}

/// The OCI media type of a layer compressed with `compressor`.
pub fn media_type(compressor: Compressor) -> &'static str {
    match compressor {
        Compressor::None => "application/vnd.oci.image.layer.v1.tar",
        Compressor::Gz => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compressor::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// The number of compression threads: [`THREADS_ENV`] if set, else the available cores.
pub fn compression_threads() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(64)
}

/// A chunk on its way: compressed already, or being compressed by a worker.
pub(crate) enum PendingChunk {
    Ready(io::Result<Vec<u8>>),
    Waiting(Receiver<io::Result<Vec<u8>>>),
}

impl PendingChunk {
    /// The compressed chunk, once its worker is done.
    pub(crate) fn wait(self) -> io::Result<Vec<u8>> {
        match self {
            PendingChunk::Ready(result) => result,
            PendingChunk::Waiting(result) => result
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("a compression worker stopped"))),
        }
    }
}

/// Compresses `input` as one gzip member or zstd frame: on the shared workers when there are
/// `threads` > 1 (the caller goes on meanwhile), else here. The worker drops its share of
/// `input` once compressed.
pub(crate) fn compress_async(codec: Codec, input: Arc<Chunk>, threads: usize) -> PendingChunk {
    if threads <= 1 {
        return PendingChunk::Ready(compress_chunk(codec, input.bytes()));
    }
    let (reply, result) = mpsc::channel();
    let job = Job {
        codec,
        input,
        reply,
    };
    match workers(threads).send(job) {
        Ok(()) => PendingChunk::Waiting(result),
        // No worker takes jobs any more (none could be started): compress here.
        Err(job) => PendingChunk::Ready(compress_chunk(codec, job.input.bytes())),
    }
}

/// One chunk to compress: the codec, the input, and where the result goes.
struct Job {
    codec: Codec,
    input: Arc<Chunk>,
    reply: Sender<io::Result<Vec<u8>>>,
}

/// The compression workers, shared by every layer of the process and started once: a build of
/// many small layers would otherwise start threads, and compression contexts with fresh memory
/// the kernel must clear, for each layer.
struct Workers {
    jobs: Mutex<Sender<Job>>,
}

impl Workers {
    /// Queues `job`; gives it back when no worker listens.
    fn send(&self, job: Job) -> Result<(), Job> {
        match self.jobs.lock() {
            Ok(jobs) => jobs.send(job).map_err(|mpsc::SendError(job)| job),
            Err(_) => Err(job),
        }
    }
}

/// The shared workers; the first caller decides how many (the layers of one process all ask
/// for [`compression_threads`]).
fn workers(threads: usize) -> &'static Workers {
    static WORKERS: OnceLock<Workers> = OnceLock::new();
    WORKERS.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            let started = std::thread::Builder::new()
                .name(format!("makes-compress-{i}"))
                .spawn(move || work(&rx));
            // Fewer workers only cost speed; with none, `send` fails and the caller compresses.
            if started.is_err() {
                break;
            }
        }
        Workers {
            jobs: Mutex::new(tx),
        }
    })
}

/// A worker's loop: compress the next job, reply, give the input buffer back.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = match jobs.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A panic would leave the layer writer waiting for this chunk forever: it gets an
        // error instead.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            compress_chunk(job.codec, job.input.bytes())
        }))
        .unwrap_or_else(|_| Err(io::Error::other("a compression worker failed")));
        drop(job.input);
        // A layer writer that stopped (an error elsewhere) no longer listens.
        if let Err(mpsc::SendError(Ok(out))) = job.reply.send(out) {
            return_out_buffer(out);
        }
    }
}

thread_local! {
    /// Each thread's compression contexts, kept between chunks (same parameters, so the same
    /// bytes as fresh ones: pinned by `golden_digests` and `reused_contexts_give_the_same_bytes`).
    static CONTEXTS: RefCell<Contexts> = RefCell::new(Contexts::default());
}

#[derive(Default)]
struct Contexts {
    gzip: Option<libdeflater::Compressor>,
    /// libdeflate writes into an initialised slice: this one keeps its length between chunks,
    /// so that a chunk costs a copy of its compressed bytes instead of clearing a whole bound.
    gzip_out: Vec<u8>,
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

/// One chunk as a complete gzip member or zstd frame, in a spare output buffer.
fn compress_chunk(codec: Codec, input: &[u8]) -> io::Result<Vec<u8>> {
    CONTEXTS.with(|contexts| {
        let mut contexts = contexts
            .try_borrow_mut()
            .map_err(|_| io::Error::other("compression context in use"))?;
        let mut out = out_buffer();
        match codec {
            Codec::Gzip => {
                if contexts.gzip.is_none() {
                    let level = libdeflater::CompressionLvl::new(GZIP_LEVEL)
                        .map_err(|e| io::Error::other(format!("gzip level: {e:?}")))?;
                    contexts.gzip = Some(libdeflater::Compressor::new(level));
                }
                let Contexts { gzip, gzip_out, .. } = &mut *contexts;
                let c = gzip
                    .as_mut()
                    .ok_or_else(|| io::Error::other("no gzip context"))?;
                let bound = c.gzip_compress_bound(input.len());
                if gzip_out.len() < bound {
                    gzip_out.resize(bound, 0);
                }
                let n = c
                    .gzip_compress(input, gzip_out)
                    .map_err(|e| io::Error::other(format!("gzip: {e:?}")))?;
                out.extend_from_slice(&gzip_out[..n]);
                // libdeflate writes mtime 0, no flags and OS 255 already; pin them so a future
                // libdeflate cannot change the header silently.
                if out.len() >= 10 {
                    out[4..8].fill(0);
                    out[9] = 255;
                }
                Ok(out)
            }
            Codec::Zstd => {
                if contexts.zstd.is_none() {
                    contexts.zstd = Some(zstd::bulk::Compressor::new(ZSTD_LEVEL)?);
                }
                let c = contexts
                    .zstd
                    .as_mut()
                    .ok_or_else(|| io::Error::other("no zstd context"))?;
                out.reserve(zstd::zstd_safe::compress_bound(input.len()));
                c.compress_to_buffer(input, &mut out)?;
                Ok(out)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer_writer::tests::compress;
    use std::io::Read;

    fn sample(len: usize) -> Vec<u8> {
        // Compressible but not trivial: a text-like pattern with a slowly varying component.
        (0..len)
            .map(|i| {
                let x = (i as u64).wrapping_mul(2654435761) >> 13;
                if i % 7 == 0 {
                    (x % 251) as u8
                } else {
                    b"makes builds images "[i % 20]
                }
            })
            .collect()
    }

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(data)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    #[test]
    fn same_bytes_whatever_the_threads_and_write_sizes() {
        let data = sample(CHUNK_SIZE * 2 + 12345);
        for c in [Compressor::Gz, Compressor::Zstd] {
            let want = compress(c, &data, 1, 1 << 20);
            for (threads, piece) in [(2, 777), (3, 65536), (8, CHUNK_SIZE + 1)] {
                assert_eq!(compress(c, &data, threads, piece), want, "{c:?} {threads}");
            }
        }
    }

    #[test]
    fn gzip_members_round_trip_with_fixed_headers() {
        let data = sample(CHUNK_SIZE + 100);
        let gz = compress(Compressor::Gz, &data, 2, 4096);
        assert_eq!(gunzip(&gz), data);
        // Magic, deflate, no flags (so no file name), mtime 0, OS 255.
        assert_eq!(&gz[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        assert_eq!(gz[9], 255);
        // Empty input still gives a valid (empty) gzip stream.
        let empty = compress(Compressor::Gz, &[], 2, 1);
        assert!(!empty.is_empty());
        assert!(gunzip(&empty).is_empty());
    }

    #[test]
    fn zstd_frames_round_trip() {
        let data = sample(CHUNK_SIZE * 2 + 1);
        let z = compress(Compressor::Zstd, &data, 2, 100_000);
        assert_eq!(&z[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
        let back = zstd::stream::decode_all(&z[..]).expect("valid zstd");
        assert_eq!(back, data);
        let empty = compress(Compressor::Zstd, &[], 2, 1);
        assert!(zstd::stream::decode_all(&empty[..])
            .expect("valid")
            .is_empty());
    }

    #[test]
    fn reused_contexts_give_the_same_bytes() {
        let (a, b) = (sample(100_000), sample(CHUNK_SIZE));
        let fresh_zstd = zstd::bulk::compress(&a, ZSTD_LEVEL).expect("zstd");
        let first_gz = compress_chunk(Codec::Gzip, &a).expect("gz");
        for _ in 0..2 {
            assert_eq!(compress_chunk(Codec::Zstd, &a).expect("zstd"), fresh_zstd);
            compress_chunk(Codec::Zstd, &b).expect("zstd");
            assert_eq!(compress_chunk(Codec::Gzip, &a).expect("gz"), first_gz);
            compress_chunk(Codec::Gzip, &b).expect("gz");
        }
    }

    #[test]
    fn golden_digests() {
        // Change only on purpose: these pin level, header, chunking and backend.
        let d = |c| crate::blob::Digest::of(&compress(c, b"makes", 2, 1)).hex();
        assert_eq!(d(Compressor::Gz), GOLDEN_GZ);
        assert_eq!(d(Compressor::Zstd), GOLDEN_ZSTD);
        assert_eq!(compress(Compressor::None, b"makes", 2, 1), b"makes");
    }

    const GOLDEN_GZ: &str = "7bde36f5951386b32c676ba7ed065bf426cead8fcd5b59dfc43823557c0c8ad1";
    const GOLDEN_ZSTD: &str = "41116fd913e5729f914efb3928d2ccbe11ffff3540cd8b5dfc2994327f3c9ec6";
}
