//! `makes /hello` on fixtures/hello: the archive is read by skopeo as both an OCI and a docker
//! archive, its diff_ids are what the test computes itself, and it runs under runc.

use crate::common::{fixture, have_tool, run, run_image, Sandbox};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

/// Every file of the (uncompressed, outer) archive by name.
fn archive_entries(archive: &Path) -> BTreeMap<String, Vec<u8>> {
    let file = std::fs::File::open(archive).expect("open archive");
    let mut tar = tar::Archive::new(file);
    let mut out = BTreeMap::new();
    for entry in tar.entries().expect("tar entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read entry");
        out.insert(name, data);
    }
    out
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

fn hex_sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn result_path_out_link_and_layout() {
    let sandbox = Sandbox::new();
    let result = sandbox.build(&fixture("hello"), "/hello");
    let link = sandbox.cache().join("makes/out-hello");
    assert_eq!(std::fs::read_link(&link).expect("out-link exists"), result);

    let entries = archive_entries(&result);
    assert_eq!(
        json(&entries["oci-layout"]),
        serde_json::json!({"imageLayoutVersion": "1.0.0"})
    );
    let index = json(&entries["index.json"]);
    assert_eq!(index["schemaVersion"], 2);
    let manifest_desc = &index["manifests"][0];
    assert_eq!(
        manifest_desc["annotations"]["org.opencontainers.image.ref.name"],
        "0.1.0"
    );
    let docker = json(&entries["manifest.json"]);
    assert_eq!(
        docker[0]["RepoTags"],
        serde_json::json!(["makes-hello:0.1.0"])
    );

    // Every blob hashes to its name.
    for (name, data) in &entries {
        if let Some(hex) = name.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            assert_eq!(hex_sha256(data), hex, "blob {name}");
        }
    }
    // Every diff_id is the sha256 of the uncompressed layer, computed here.
    let manifest_hex = manifest_desc["digest"]
        .as_str()
        .expect("digest")
        .trim_start_matches("sha256:")
        .to_owned();
    let manifest = json(&entries[&format!("blobs/sha256/{manifest_hex}")]);
    let config_hex = manifest["config"]["digest"]
        .as_str()
        .expect("config digest")
        .trim_start_matches("sha256:");
    let config = json(&entries[&format!("blobs/sha256/{config_hex}")]);
    let layers = manifest["layers"].as_array().expect("layers");
    let diff_ids = config["rootfs"]["diff_ids"].as_array().expect("diff_ids");
    assert_eq!(layers.len(), diff_ids.len());
    assert!(
        layers.len() >= 2,
        "store layers and the customisation layer"
    );
    for (layer, diff_id) in layers.iter().zip(diff_ids) {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        let hex = layer["digest"]
            .as_str()
            .expect("digest")
            .trim_start_matches("sha256:");
        let mut uncompressed = Vec::new();
        // Layers are concatenated gzip members (one per chunk compressed in parallel).
        flate2::read::MultiGzDecoder::new(&entries[&format!("blobs/sha256/{hex}")][..])
            .read_to_end(&mut uncompressed)
            .expect("gunzip layer");
        assert_eq!(
            diff_id.as_str().expect("diff_id"),
            format!("sha256:{}", hex_sha256(&uncompressed))
        );
    }
    assert_eq!(config["created"], "1970-01-01T00:00:01Z");
    assert_eq!(
        config["history"].as_array().map(Vec::len),
        Some(layers.len())
    );
}

#[test]
fn skopeo_reads_it_as_oci_and_docker_archive() {
    if !have_tool("skopeo") {
        return;
    }
    let sandbox = Sandbox::new();
    let result = sandbox.build(&fixture("hello"), "/hello");
    for (transport, reference) in [
        ("oci-archive", format!("{}", result.display())),
        ("oci-archive", format!("{}:0.1.0", result.display())),
        ("docker-archive", format!("{}", result.display())),
        (
            "docker-archive",
            format!("{}:makes-hello:0.1.0", result.display()),
        ),
    ] {
        let out = run(Command::new("skopeo")
            .args(["inspect", "--config"])
            .arg(format!("{transport}:{reference}")));
        let config = json(&out.stdout);
        assert_eq!(
            config["config"]["Env"],
            serde_json::json!(["PATH=/bin"]),
            "{transport}:{reference}"
        );
        assert_eq!(
            config["config"]["Labels"]["org.opencontainers.image.description"],
            "hello from a makes.nix"
        );
        let entrypoint = config["config"]["Entrypoint"][0]
            .as_str()
            .expect("entrypoint");
        assert!(
            entrypoint.starts_with("/nix/store/") && entrypoint.ends_with("-hello/bin/hello"),
            "{entrypoint}"
        );
    }
    // A wrong tag is not found: the tag really is in the archive.
    let wrong = Command::new("skopeo")
        .args(["inspect"])
        .arg(format!(
            "docker-archive:{}:makes-hello:other",
            result.display()
        ))
        .output()
        .expect("skopeo runs");
    assert!(!wrong.status.success());
}

#[test]
fn it_runs_under_runc_and_prints_hello() {
    if !(have_tool("skopeo") && have_tool("umoci") && have_tool("runc")) {
        return;
    }
    let sandbox = Sandbox::new();
    let result = sandbox.build(&fixture("hello"), "/hello");
    assert_eq!(
        run_image(
            &sandbox,
            &format!("oci-archive:{}", result.display()),
            "hello"
        ),
        "hello from makes\n"
    );
}

#[test]
fn the_single_layer_image_has_one_layer_and_runs() {
    let sandbox = Sandbox::new();
    let result = sandbox.build(&fixture("hello"), "/hello-single-layer");
    let entries = archive_entries(&result);
    let docker = json(&entries["manifest.json"]);
    assert_eq!(
        docker[0]["RepoTags"],
        serde_json::json!(["makes-hello-single-layer:0.1.0"])
    );
    assert_eq!(docker[0]["Layers"].as_array().map(Vec::len), Some(1));
    if !(have_tool("skopeo") && have_tool("umoci") && have_tool("runc")) {
        return;
    }
    assert_eq!(
        run_image(
            &sandbox,
            &format!("oci-archive:{}", result.display()),
            "hello"
        ),
        "hello from makes\n"
    );
}

/// The image archive is hashed as it is written, not read again by the store: the NAR hash and
/// size the store records for it are what Nix computes from the file.
#[test]
fn the_recorded_nar_hash_of_the_image_is_nix_s() {
    if !have_tool("nix-hash") || !have_tool("nix-store") {
        eprintln!("skipped: nix-hash and nix-store are needed");
        return;
    }
    let sandbox = Sandbox::new();
    let result = sandbox.build(&fixture("hello"), "/hello");
    let name = result
        .file_name()
        .expect("the result names a store path")
        .to_string_lossy()
        .into_owned();
    let hash = name.split('-').next().expect("a store path hash");
    let record =
        std::fs::read(sandbox.store().join("db").join(format!("{hash}.json"))).expect("record");
    let record = json(&record);
    let nix_hash = Command::new("nix-hash")
        .args(["--type", "sha256", "--base32"])
        .arg(&result)
        .output()
        .expect("nix-hash runs");
    assert!(nix_hash.status.success());
    let nix_hash = String::from_utf8_lossy(&nix_hash.stdout).trim().to_owned();
    assert_eq!(record["nar_hash"], format!("sha256:{nix_hash}"));
    let nar = Command::new("nix-store")
        .arg("--dump")
        .arg(&result)
        .output()
        .expect("nix-store runs");
    assert!(nar.status.success());
    assert_eq!(record["nar_size"], nar.stdout.len() as u64);
    assert_eq!(record["references"], serde_json::json!([]));
}
