//! The layer pipeline (layers compressed while the next ones are read, blobs stored by a sink
//! thread, store layers written as their trees are walked, blobs copied into the archive by the
//! kernel) gives the bytes the one-layer-at-a-time writer gave: an image of many small layers
//! and one of several chunks, zstd and gzip, is byte for byte the archive an earlier build of
//! makes wrote (digests recorded with it), with one compression thread and with two.

use crate::common::Sandbox;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::path::PathBuf;

/// sha256 of the archives of `/zstd` and `/gz` as makes wrote them before the pipeline (a
/// release build of main at d0340dd, one layer compressed and stored after another).
const ZSTD_ARCHIVE: &str = "6f4656b51fa67698c0e88916465997d1fcb748da930e04e5f1c42ce02e9a2df7";
const GZ_ARCHIVE: &str = "a0dd53ce1794527f38c3858d15ba3a8cf603a1650c75fa0bcb5f2c88158ec889";

/// 24 path literals: small trees whose names sort across directory boundaries (`a`, `a.c`,
/// `a-b`, `a/b`), links, executables, and in the first a 9 MiB file (three chunks).
fn write_project(dir: &Path) {
    let mut layers = String::new();
    for p in 0..24u32 {
        let part = dir.join(format!("parts/p{p:02}"));
        for d in ["a/b", "a-b", "bin", "lib/python"] {
            fs::create_dir_all(part.join(d)).expect("mkdir");
        }
        for f in ["a.c", "a/b/f", "a/b0", "a-b/h", "lib/python.so"] {
            fs::write(
                part.join(f),
                format!("part {p} file {f}\n").repeat(p as usize + 1),
            )
            .expect("write");
        }
        let tool = part.join("bin/tool");
        fs::write(&tool, format!("#!/bin/sh\necho {p}\n")).expect("write");
        fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).expect("chmod");
        symlink("../a.c", part.join("bin/link")).expect("symlink");
        write!(layers, " ./parts/p{p:02}").expect("string");
    }
    // Compressible but not trivial, spanning three chunks of 4 MiB.
    let big: Vec<u8> = (0..9u64 << 20)
        .map(|i| {
            let x = i.wrapping_mul(2654435761) >> 13;
            if i % 7 == 0 {
                (x % 251) as u8
            } else {
                b"makes builds images "[(i % 20) as usize]
            }
        })
        .collect();
    fs::write(dir.join("parts/p00/big"), big).expect("write");
    let job = |name: &str, compressor: &str| {
        format!(
            "  jobs.\"/{name}\" = makeContainerImage {{ name = \"pipeline\"; compressor = \
             \"{compressor}\"; maxLayers = 100; created = \"2024-01-01T00:00:00Z\"; layers = [{layers} ]; }};\n"
        )
    };
    let nix = format!(
        "{{ makeContainerImage, ... }}: {{\n{}{}}}\n",
        job("zstd", "zstd"),
        job("gz", "gz")
    );
    fs::write(dir.join("makes.nix"), nix).expect("write makes.nix");
}

/// Builds `job` with `threads` compression threads in a fresh store; the archive's sha256.
fn archive_digest(project: &Path, job: &str, threads: &str) -> String {
    let sandbox = Sandbox::new();
    let out = sandbox
        .makes()
        .env("MAKES_COMPRESS_THREADS", threads)
        .arg("--project")
        .arg(project)
        .arg(job)
        .output()
        .expect("makes runs");
    crate::common::assert_success(&out);
    let path = PathBuf::from(String::from_utf8(out.stdout).expect("utf-8").trim());
    let bytes = fs::read(&path).expect("read the archive");
    sha256_hex(&bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[test]
fn many_layers_give_the_bytes_of_the_one_at_a_time_writer_whatever_the_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_project(dir.path());
    for (job, want) in [("/zstd", ZSTD_ARCHIVE), ("/gz", GZ_ARCHIVE)] {
        for threads in ["1", "2"] {
            assert_eq!(
                archive_digest(dir.path(), job, threads),
                want,
                "{job} with {threads} compression threads"
            );
        }
    }
}
