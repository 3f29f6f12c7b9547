//! Building the same image twice, from store copies made under different umasks, in different
//! places and at different times, gives byte-identical archives. Alone in its own test binary
//! because it changes the process umask.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use makes_oci::{build_image, ImageInputs};
use makes_spec::Created;

fn build_in(dir: &Path, spec: &makes_spec::ImageSpec, now: &str) -> Vec<u8> {
    let store = dir.join("some/other/store");
    let closure = make_store(&store);
    let scratch = dir.join("scratch");
    fs::create_dir_all(&scratch).expect("mkdir");
    let real = real_path_in(&store);
    let out = dir.join("image.tar");
    build_image(
        &ImageInputs {
            spec,
            closure: &closure,
            real_path: &real,
            now,
            scratch: &scratch,
        },
        &out,
    )
    .expect("build");
    fs::read(out).expect("read image")
}

#[test]
fn builds_are_byte_identical_across_umask_location_and_time() {
    for layered in [true, false] {
        let spec = spec(layered);
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
        let a_dir = tempfile::tempdir().expect("tempdir");
        let a = build_in(a_dir.path(), &spec, "2030-01-01T00:00:00Z");
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b_dir = tempfile::tempdir().expect("tempdir");
        let b = build_in(b_dir.path(), &spec, "2031-01-01T00:00:00Z");
        rustix::process::umask(old);
        assert_eq!(sha256_hex(&a), sha256_hex(&b), "layered = {layered}");
        assert!(a == b);
    }
}

#[test]
fn created_now_uses_the_given_time() {
    let mut spec = spec(true);
    spec.created = Created::Now;
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = build_in(dir.path(), &spec, "2030-01-01T00:00:00Z");
    let path = dir.path().join("image.tar");
    assert_eq!(fs::read(&path).expect("read"), bytes);
    let files = read_archive(&path);
    let index = json(&files["index.json"]);
    let manifest = json(blob(
        &files,
        index["manifests"][0]["digest"].as_str().expect("d"),
    ));
    let config = json(blob(
        &files,
        manifest["config"]["digest"].as_str().expect("d"),
    ));
    assert_eq!(config["created"], "2030-01-01T00:00:00Z");
    assert_eq!(config["history"][0]["created"], "2030-01-01T00:00:00Z");
}
