//! fixtures/image-features: each job is built by the real binary, read by skopeo,
//! unpacked by umoci (which verifies every digest and diff_id), validated by oci-image-tool and
//! run by runc.

use crate::common::{fixture, have_tool, run, Sandbox};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

fn tools() -> bool {
    have_tool("skopeo") && have_tool("umoci") && have_tool("runc") && have_tool("oci-image-tool")
}

/// Copies the archive to an OCI layout, validates it, unpacks it; returns the bundle.
fn unpack(sandbox: &Sandbox, archive: &Path, name: &str) -> PathBuf {
    let layout = sandbox.dir.path().join(format!("layout-{name}"));
    let bundle = sandbox.dir.path().join(format!("bundle-{name}"));
    run(Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci-archive:{}", archive.display()))
        .arg(format!("oci:{}:img", layout.display())));
    run(Command::new("oci-image-tool")
        .args(["validate", "--type", "image"])
        .arg(&layout));
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:img", layout.display()))
        .arg(&bundle));
    bundle
}

/// Runs the bundle under runc, returning stdout.
fn run_bundle(bundle: &Path, name: &str) -> String {
    let config_path = bundle.join("config.json");
    let mut config = json(&std::fs::read(&config_path).expect("config.json"));
    config["process"]["terminal"] = serde_json::Value::Bool(false);
    if let Some(linux) = config["linux"].as_object_mut() {
        linux.remove("resources");
    }
    std::fs::write(&config_path, serde_json::to_vec(&config).expect("json")).expect("write");
    let id = format!("makes-e2e-{name}-{}", std::process::id());
    let out = Command::new("runc")
        .arg("run")
        .arg("--bundle")
        .arg(bundle)
        .arg(&id)
        .output()
        .expect("runc runs");
    let _ = Command::new("runc")
        .args(["delete", "--force", &id])
        .output();
    assert!(
        out.status.success(),
        "runc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn inspect_config(archive: &Path) -> serde_json::Value {
    json(
        &run(Command::new("skopeo")
            .args(["inspect", "--config"])
            .arg(format!("oci-archive:{}", archive.display())))
        .stdout,
    )
}

#[test]
fn layered_extra_and_fake_root_commands_user_workdir_env() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let archive = sandbox.build(&fixture("image-features"), "/layered");
    let config = inspect_config(&archive);
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().map(Vec::len),
        Some(3)
    );
    let bundle = unpack(&sandbox, &archive, "layered");
    let rootfs = bundle.join("rootfs");
    // fakeRootCommands' chown and chmod are in the layer; extraCommands' sticky tmp too.
    let data = std::fs::metadata(rootfs.join("data")).expect("data");
    assert_eq!(
        (data.uid(), data.gid(), data.mode() & 0o7777),
        (1000, 1000, 0o750)
    );
    let tmp = std::fs::metadata(rootfs.join("tmp")).expect("tmp");
    assert_eq!(tmp.mode() & 0o7777, 0o1777);
    // The store's hard link survives as a hard link; the long names are whole.
    let store = std::fs::read_dir(rootfs.join("nix/store"))
        .expect("store")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().ends_with("-report"))
        .expect("report in the store");
    let a = std::fs::metadata(store.join("bin/report")).expect("report");
    let b = std::fs::metadata(store.join("bin/report-again")).expect("hard link");
    assert_eq!(a.ino(), b.ino());
    assert_eq!(a.mode() & 0o777, 0o555);
    assert!(store
        .join("share/a-directory-with-a-rather-long-name-to-need-pax/another-long-directory-name-here/file-with-a-long-name.txt")
        .is_file());
    // Runs as the configured User, in WorkingDir, with Env.
    let out = run_bundle(&bundle, "layered");
    assert!(
        out.starts_with("uid=1000 gid=1000 cwd=/data greeting=hello-from-env\n"),
        "{out}"
    );
}

#[test]
fn fakechroot_runs_inside_the_image_root() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let archive = sandbox.build(&fixture("image-features"), "/fakechroot");
    let bundle = unpack(&sandbox, &archive, "fakechroot");
    let data = std::fs::metadata(bundle.join("rootfs/data")).expect("data");
    assert_eq!((data.uid(), data.gid()), (1000, 1000));
}

#[test]
fn single_layer_run_as_root_creates_user_chowns_and_deletes() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(fixture("image-features"))
        .arg("/single")
        .output()
        .expect("makes runs");
    crate::common::assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("'diskSize' has no effect"), "{stderr}");
    assert!(
        stderr.contains("'buildVMMemorySize' has no effect"),
        "{stderr}"
    );
    let archive = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let config = inspect_config(&archive);
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().map(Vec::len),
        Some(1)
    );
    let bundle = unpack(&sandbox, &archive, "single");
    let passwd = std::fs::read_to_string(bundle.join("rootfs/etc/passwd")).expect("passwd");
    assert!(passwd.contains("app:x:1000:1000"), "{passwd}");
    let out = run_bundle(&bundle, "single");
    assert!(
        out.starts_with(
            "uid=1000 gid=1000 cwd=/srv greeting=hello-single\nmotd=absent\n1000:1000 /srv"
        ),
        "{out}"
    );
}

#[test]
fn store_layers_take_uid_gid_uname_gname_and_mtime() {
    let sandbox = Sandbox::new();
    let archive = sandbox.build(&fixture("image-features"), "/owned");
    let check = makes_check(&archive);
    let mut seen_store = false;
    for (data, _) in &check {
        let mut tar = tar::Archive::new(flate2::read::MultiGzDecoder::new(&data[..]));
        for e in tar.entries().expect("entries") {
            let e = e.expect("entry");
            let h = e.header();
            let path = e.path().expect("path").to_string_lossy().into_owned();
            if path.starts_with("nix/store/") {
                seen_store = true;
                assert_eq!(h.uid().expect("uid"), 1000, "{path}");
                assert_eq!(h.gid().expect("gid"), 1000, "{path}");
                assert_eq!(h.username().expect("uname"), Some("app"), "{path}");
                assert_eq!(h.groupname().expect("gname"), Some("app"), "{path}");
            }
            assert_eq!(h.mtime().expect("mtime"), 1_580_601_600, "{path}");
        }
    }
    assert!(seen_store);
}

#[test]
fn include_store_paths_false_leaves_the_store_out() {
    let sandbox = Sandbox::new();
    let archive = sandbox.build(&fixture("image-features"), "/no-store");
    let layers = makes_check(&archive);
    assert_eq!(layers.len(), 1);
    let mut tar = tar::Archive::new(flate2::read::MultiGzDecoder::new(&layers[0].0[..]));
    for e in tar.entries().expect("entries") {
        let e = e.expect("entry");
        let path = e.path().expect("path").to_string_lossy().into_owned();
        assert!(!path.starts_with("nix"), "{path}");
    }
}

#[test]
fn zstd_and_uncompressed_layers_run() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    for (job, media) in [
        ("/zstd", "application/vnd.oci.image.layer.v1.tar+zstd"),
        ("/uncompressed", "application/vnd.oci.image.layer.v1.tar"),
    ] {
        let archive = sandbox.build(&fixture("image-features"), job);
        let manifest = json(
            &run(Command::new("skopeo")
                .args(["inspect", "--raw"])
                .arg(format!("oci-archive:{}", archive.display())))
            .stdout,
        );
        for layer in manifest["layers"].as_array().expect("layers") {
            assert_eq!(layer["mediaType"], media, "{job}");
        }
        // Our fsck decompresses every layer (all zstd frames) and checks its diff_id.
        makes_oci_fsck(&archive);
        if job == "/zstd" {
            // umoci here (0.4) predates zstd layers: skopeo copying the image is the check.
            let layout = sandbox.dir.path().join("layout-zstd");
            run(Command::new("skopeo")
                .arg("copy")
                .arg(format!("oci-archive:{}", archive.display()))
                .arg(format!("oci:{}:img", layout.display())));
            continue;
        }
        let bundle = unpack(&sandbox, &archive, &job[1..]);
        let out = run_bundle(&bundle, &job[1..]);
        assert!(
            out.starts_with("uid=0 gid=0 cwd=/ greeting=hello-from-env\n"),
            "{out}"
        );
    }
}

#[test]
fn output_oci_dir_writes_a_plain_layout() {
    if !have_tool("skopeo") {
        return;
    }
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("oci-out");
    let out = run(sandbox
        .makes()
        .arg("--project")
        .arg(fixture("image-features"))
        .arg("/layered")
        .arg("--output")
        .arg(format!("oci-dir:{}", dir.display())));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(dir.join("oci-layout").is_file());
    assert!(!dir.join("manifest.json").exists());
    let config = json(
        &run(Command::new("skopeo")
            .args(["inspect", "--config"])
            .arg(format!("oci:{}", dir.display())))
        .stdout,
    );
    assert_eq!(config["config"]["User"], "1000:1000");
    // Bad outputs are refused by the argument parser.
    let bad = sandbox
        .makes()
        .args(["--output", "tarball:/x", "/layered"])
        .output()
        .expect("makes runs");
    assert_eq!(bad.status.code(), Some(2));
}

/// The library's fsck, through the layer blobs: `(blob bytes, media type)` bottom first.
fn makes_check(archive: &Path) -> Vec<(Vec<u8>, String)> {
    makes_oci_fsck(archive);
    let mut files = std::collections::BTreeMap::new();
    let mut tar = tar::Archive::new(std::fs::File::open(archive).expect("open"));
    for e in tar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = e.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read");
        files.insert(name, data);
    }
    let index = json(&files["index.json"]);
    let m = index["manifests"][0]["digest"].as_str().expect("digest");
    let manifest = json(&files[&format!("blobs/sha256/{}", &m[7..])]);
    manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| {
            let d = l["digest"].as_str().expect("digest");
            (
                files[&format!("blobs/sha256/{}", &d[7..])].clone(),
                l["mediaType"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn makes_oci_fsck(archive: &Path) {
    makes_oci::fsck_archive(archive).expect("fsck accepts the archive");
}
