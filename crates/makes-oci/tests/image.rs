//! End to end: build images from a fake store, then read them back with our own checks (every
//! blob hashes to its name, diff_ids are the sha256 of the uncompressed layers) and with the real
//! tools (skopeo, umoci, oci-image-tool), skipping a tool that is not installed.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;
use makes_oci::{build_image, fsck_archive, ImageInputs, ImageSummary, OciError};
use makes_spec::{Compressor, ImageSpec};

fn build(spec: &ImageSpec, dir: &Path) -> (std::path::PathBuf, ImageSummary) {
    let store = dir.join("store");
    let closure = make_store(&store);
    let scratch = dir.join("scratch");
    fs::create_dir_all(&scratch).expect("mkdir");
    let real = real_path_in(&store);
    let out = dir.join("image.tar");
    let summary = build_image(
        &ImageInputs {
            spec,
            closure: &closure,
            real_path: &real,
            now: "2030-01-01T00:00:00Z",
            scratch: &scratch,
        },
        &out,
    )
    .expect("build image");
    // The scratch directory is left as it was found.
    assert_eq!(fs::read_dir(&scratch).expect("ls").count(), 0);
    (out, summary)
}

/// Our own fsck of the archive: both indexes agree, every blob hashes to its name, diff_ids
/// are the digests of the uncompressed layers. Returns the config.
fn check_archive(out: &Path, summary: &ImageSummary, spec: &ImageSpec) -> serde_json::Value {
    let check = fsck_archive(out).expect("the library's fsck accepts it");
    assert_eq!(check.manifest_digest, summary.manifest_digest);
    assert_eq!(check.config_digest, summary.config_digest);
    assert_eq!(
        check.layers,
        summary
            .layers
            .iter()
            .map(|l| (l.digest, l.diff_id))
            .collect::<Vec<_>>()
    );
    assert_eq!(check.repo_tags, vec![format!("{}:{}", spec.name, spec.tag)]);
    assert_eq!(check.ref_name.as_deref(), Some(spec.tag.as_str()));
    let files = read_archive(out);
    for (name, data) in &files {
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            assert_eq!(sha256_hex(data), hex, "blob {name} hashes to its name");
        }
    }
    assert_eq!(files["oci-layout"], br#"{"imageLayoutVersion":"1.0.0"}"#);
    let index = json(&files["index.json"]);
    assert_eq!(index["schemaVersion"], 2);
    let m = &index["manifests"][0];
    assert_eq!(m["digest"], summary.manifest_digest.to_string());
    assert_eq!(
        m["annotations"]["org.opencontainers.image.ref.name"],
        spec.tag
    );
    assert_eq!(
        m["annotations"]["io.containerd.image.name"],
        format!("{}:{}", spec.name, spec.tag)
    );
    let manifest_bytes = blob(&files, m["digest"].as_str().expect("digest"));
    assert_eq!(m["size"], manifest_bytes.len() as u64);
    let manifest = json(manifest_bytes);
    assert_eq!(
        manifest["config"]["digest"],
        summary.config_digest.to_string()
    );
    let config_bytes = blob(&files, manifest["config"]["digest"].as_str().expect("cfg"));
    let config = json(config_bytes);
    let layers = manifest["layers"].as_array().expect("layers");
    let diff_ids = config["rootfs"]["diff_ids"].as_array().expect("diff_ids");
    assert_eq!(layers.len(), diff_ids.len());
    assert_eq!(layers.len(), summary.layers.len());
    assert_eq!(
        config["history"].as_array().map(Vec::len),
        Some(layers.len())
    );
    for ((layer, diff_id), s) in layers.iter().zip(diff_ids).zip(&summary.layers) {
        let data = blob(&files, layer["digest"].as_str().expect("digest"));
        assert_eq!(layer["size"], data.len() as u64);
        let tar = decompress(layer["mediaType"].as_str().expect("media type"), data);
        let recomputed = format!("sha256:{}", sha256_hex(&tar));
        assert_eq!(diff_id, &serde_json::Value::from(recomputed.clone()));
        assert_eq!(s.diff_id.to_string(), recomputed);
    }
    let docker = json(&files["manifest.json"]);
    assert_eq!(
        docker[0]["RepoTags"][0],
        format!("{}:{}", spec.name, spec.tag)
    );
    assert_eq!(
        docker[0]["Config"],
        format!("blobs/sha256/{}", summary.config_digest.hex())
    );
    let docker_layers: Vec<String> = docker[0]["Layers"]
        .as_array()
        .expect("Layers")
        .iter()
        .map(|l| l.as_str().expect("str").to_string())
        .collect();
    let oci_layers: Vec<String> = layers
        .iter()
        .map(|l| {
            format!(
                "blobs/sha256/{}",
                l["digest"]
                    .as_str()
                    .expect("d")
                    .trim_start_matches("sha256:")
            )
        })
        .collect();
    assert_eq!(docker_layers, oci_layers);
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["created"], "2026-01-19T10:30:00Z");
    assert_eq!(config["config"]["Cmd"][0], "/bin/hello");
    config
}

/// skopeo reads the archive both as an OCI archive and as a Docker archive.
fn check_with_skopeo(out: &Path, spec: &ImageSpec, summary: &ImageSummary) {
    if !have("skopeo") {
        return;
    }
    let oci = json(
        run(Command::new("skopeo")
            .arg("inspect")
            .arg(format!("oci-archive:{}", out.display())))
        .as_bytes(),
    );
    assert_eq!(oci["Digest"], summary.manifest_digest.to_string());
    assert_eq!(oci["Architecture"], "amd64");
    assert_eq!(oci["Os"], "linux");
    assert_eq!(
        oci["Labels"]["org.opencontainers.image.description"],
        "makes test image"
    );
    assert_eq!(
        oci["Layers"].as_array().map(Vec::len),
        Some(summary.layers.len())
    );
    let oci_cfg = json(
        run(Command::new("skopeo")
            .args(["inspect", "--config"])
            .arg(format!("oci-archive:{}", out.display())))
        .as_bytes(),
    );
    assert_eq!(oci_cfg["config"]["Cmd"][0], "/bin/hello");
    assert_eq!(oci_cfg["config"]["Env"][0], "GREETING=1");

    let docker = json(
        run(Command::new("skopeo")
            .arg("inspect")
            .arg(format!("docker-archive:{}", out.display())))
        .as_bytes(),
    );
    assert_eq!(docker["Architecture"], "amd64");
    assert_eq!(docker["Env"][1], "PATH=/bin");
    // `RepoTags` of `skopeo inspect` lists a registry's tags (empty for archives); the name
    // and tag are checked by looking the image up by them, which only works when they are in
    // manifest.json (docker-archive) and index.json (oci-archive).
    let by_name = json(
        run(Command::new("skopeo").arg("inspect").arg(format!(
            "docker-archive:{}:{}:{}",
            out.display(),
            spec.name,
            spec.tag
        )))
        .as_bytes(),
    );
    assert_eq!(by_name["Layers"], docker["Layers"]);
    let by_tag = json(
        run(Command::new("skopeo").arg("inspect").arg(format!(
            "oci-archive:{}:{}",
            out.display(),
            spec.tag
        )))
        .as_bytes(),
    );
    assert_eq!(by_tag["Digest"], summary.manifest_digest.to_string());
    // And a name or tag that is not there is not found: the lookups above mean something.
    for wrong in [
        format!("docker-archive:{}:other:{}", out.display(), spec.tag),
        format!("oci-archive:{}:other-tag", out.display()),
    ] {
        let status = Command::new("skopeo")
            .arg("inspect")
            .arg(&wrong)
            .output()
            .expect("skopeo runs");
        assert!(!status.status.success(), "{wrong} should not be found");
    }
}

/// `skopeo copy` to a layout, then `umoci unpack` (which verifies diff_ids and sizes); returns
/// the unpacked rootfs, or `None` when a tool is missing.
fn unpack(out: &Path, dir: &Path, spec: &ImageSpec) -> Option<std::path::PathBuf> {
    if !have("skopeo") || !have("umoci") {
        return None;
    }
    let layout = dir.join("layout");
    run(Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci-archive:{}", out.display()))
        .arg(format!("oci:{}:{}", layout.display(), spec.tag)));
    if have("oci-image-tool") {
        run(Command::new("oci-image-tool")
            .args(["validate", "--type", "image"])
            .arg(&layout));
    }
    let bundle = dir.join("bundle");
    let mut cmd = Command::new("umoci");
    cmd.args(["unpack", "--image"])
        .arg(format!("{}:{}", layout.display(), spec.tag));
    if !is_root() {
        cmd.arg("--rootless");
    }
    run(cmd.arg(&bundle));
    Some(bundle.join("rootfs"))
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// `oci-image-tool` validates our archive itself (not a copy made by skopeo).
fn validate_archive_directly(out: &Path, dir: &Path) {
    if !have("oci-image-tool") {
        return;
    }
    let unpacked = dir.join("unpacked-archive");
    fs::create_dir_all(&unpacked).expect("mkdir");
    tar::Archive::new(fs::File::open(out).expect("open"))
        .unpack(&unpacked)
        .expect("untar");
    run(Command::new("oci-image-tool")
        .args(["validate", "--type", "image"])
        .arg(&unpacked));
}

#[test]
fn layered_image_is_read_by_real_tools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec(true);
    let (out, summary) = build(&spec, dir.path());

    // Two store layers (greeting is depended upon, so it is at the bottom) and the
    // customisation layer.
    assert_eq!(summary.layers.len(), 3);
    assert_eq!(summary.layers[0].store_paths, vec![greeting()]);
    assert_eq!(summary.layers[1].store_paths, vec![hello()]);
    assert!(summary.layers[2].customisation);
    assert!(summary.layers[2].store_paths.is_empty());

    let config = check_archive(&out, &summary, &spec);
    assert!(config["history"][2]["comment"]
        .as_str()
        .expect("comment")
        .contains("customisation"));
    check_with_skopeo(&out, &spec, &summary);
    validate_archive_directly(&out, dir.path());
    let Some(rootfs) = unpack(&out, dir.path(), &spec) else {
        return;
    };
    let hello_bin = rootfs
        .join("nix/store")
        .join(hello().base_name())
        .join("bin/hello");
    let meta = fs::symlink_metadata(&hello_bin).expect("hello in the store");
    assert!(meta.is_file());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o555);
    assert_eq!(
        fs::read_link(rootfs.join("bin/hello")).expect("/bin/hello is a symlink"),
        Path::new(&format!("{}/bin/hello", hello().to_absolute()))
    );
    assert_eq!(
        fs::read_link(rootfs.join("bin/hi")).expect("/bin/hi copied symlink"),
        Path::new("hello")
    );
    let greeting_file = rootfs
        .join("nix/store")
        .join(greeting().base_name())
        .join("share/greeting");
    assert_eq!(
        fs::read_to_string(greeting_file).expect("greeting"),
        "hello from makes\n"
    );
    let long = rootfs
        .join("nix/store")
        .join(hello().base_name())
        .join("share")
        .join("l".repeat(110))
        .join("file");
    assert_eq!(fs::read_to_string(long).expect("long name"), "long\n");
    let tmp = fs::symlink_metadata(rootfs.join("tmp")).expect("tmp from extraCommands");
    assert_eq!(tmp.permissions().mode() & 0o7777, 0o1777);
    assert!(rootfs.join("etc/passwd").is_file());
    let store_dir = fs::symlink_metadata(rootfs.join("nix/store")).expect("nix/store");
    assert_eq!(store_dir.permissions().mode() & 0o7777, 0o755);
}

#[test]
fn single_layer_image_copies_contents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = spec(false);
    spec.compressor = Compressor::None;
    let (out, summary) = build(&spec, dir.path());
    assert_eq!(summary.layers.len(), 1);
    assert_eq!(
        summary.layers[0].media_type,
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_eq!(summary.layers[0].store_paths.len(), 2);
    check_archive(&out, &summary, &spec);
    check_with_skopeo(&out, &spec, &summary);
    validate_archive_directly(&out, dir.path());
    let Some(rootfs) = unpack(&out, dir.path(), &spec) else {
        return;
    };
    let copied = fs::symlink_metadata(rootfs.join("bin/hello")).expect("/bin/hello");
    assert!(copied.is_file(), "copied, not linked");
    assert_eq!(copied.permissions().mode() & 0o7777, 0o555);
    assert!(rootfs
        .join("nix/store")
        .join(greeting().base_name())
        .join("share/greeting")
        .is_file());
    assert!(rootfs.join("tmp").is_dir());
}

#[test]
fn tight_layer_budget_merges_but_keeps_every_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = spec(true);
    spec.max_layers = 2;
    let (out, summary) = build(&spec, dir.path());
    assert_eq!(summary.layers.len(), 2);
    assert_eq!(summary.layers[0].store_paths.len(), 2);
    check_archive(&out, &summary, &spec);
    if let Some(rootfs) = unpack(&out, dir.path(), &spec) {
        for p in [hello(), greeting()] {
            assert!(rootfs.join("nix/store").join(p.base_name()).is_dir());
        }
    }
}

#[test]
fn failing_extra_commands_leave_no_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = spec(true);
    spec.extra_commands = "echo broken >&2\nexit 7".into();
    let store = dir.path().join("store");
    let closure = make_store(&store);
    let real = real_path_in(&store);
    let out = dir.path().join("image.tar");
    let err = build_image(
        &ImageInputs {
            spec: &spec,
            closure: &closure,
            real_path: &real,
            now: "2030-01-01T00:00:00Z",
            scratch: dir.path(),
        },
        &out,
    )
    .expect_err("extraCommands fail");
    assert!(err.to_string().contains("broken"), "{err}");
    assert!(!out.exists());
}

#[test]
fn fsck_catches_a_corrupted_layer() {
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = spec(true);
    spec.compressor = Compressor::None;
    let (out, summary) = build(&spec, dir.path());
    fsck_archive(&out).expect("intact archive passes");
    // Flip one byte inside the first layer blob.
    let name = format!("blobs/sha256/{}", summary.layers[0].digest.hex());
    let mut ar = tar::Archive::new(fs::File::open(&out).expect("open"));
    let offset = ar
        .entries()
        .expect("entries")
        .map(|e| e.expect("entry"))
        .find(|e| e.path().expect("path").to_string_lossy() == name)
        .map(|e| e.raw_file_position())
        .expect("layer blob in the archive");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(&out)
        .expect("open rw");
    f.seek(SeekFrom::Start(offset + 600)).expect("seek");
    f.write_all(b"X").expect("write");
    drop(f);
    assert!(matches!(
        fsck_archive(&out),
        Err(OciError::DigestMismatch { .. })
    ));
}
