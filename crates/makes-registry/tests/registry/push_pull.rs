//! Push an image, pull it back by digest; push again and upload nothing.

use std::fs;
use std::process::Command;

use makes_registry::{ImageSource, Platform, Reference};

use crate::common::*;

#[test]
fn push_then_pull_by_digest_over_plain_http() {
    if !have_tool("docker-registry") {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let client = insecure_client(&registry);
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    let image = write_layout(&src, "1.0", "a");

    let reference = Reference::parse(&format!("{}/team/app:1.0", registry.host())).expect("ref");
    let summary = client
        .push(&ImageSource::Layout(src.clone()), &reference)
        .expect("push");
    assert_eq!(summary.manifest_digest, image.manifest_digest);
    assert_eq!(
        summary.uploaded.len(),
        3,
        "config and two layers: {summary:?}"
    );
    assert!(summary.skipped.is_empty());

    // A real client sees what we pushed, under the same digest.
    if have_tool("skopeo") {
        let raw = run(Command::new("skopeo").args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{}/team/app:1.0", registry.host()),
        ]));
        assert_eq!(raw.as_bytes(), &image.manifest[..]);
    }

    let dest = tmp.path().join("pulled");
    let by_digest = Reference::parse(&format!("{}/team/app", registry.host())).expect("ref");
    let pulled = client
        .pull(
            &by_digest,
            Some(&image.manifest_digest),
            &Platform::parse("linux/amd64").expect("platform"),
            &dest,
        )
        .expect("pull");
    assert_eq!(pulled.manifest_digest, image.manifest_digest);
    assert_eq!(pulled.config_digest, image.config_digest);
    assert_eq!(pulled.index_digest, None);
    assert_eq!(pulled.downloaded_blobs, 3);
    assert_eq!(
        pulled
            .layers
            .iter()
            .map(|l| (l.digest, l.size, l.diff_id, l.media_type.as_str()))
            .collect::<Vec<_>>(),
        image
            .layers
            .iter()
            .map(|(d, s)| (*d, *s, *d, LAYER_TAR))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        pulled.config,
        fs::read(src.join(image.config_digest.layout_path())).expect("config")
    );
    // The layout holds exactly the image, byte for byte.
    for (digest, _) in &image.layers {
        assert_eq!(
            fs::read(dest.join(digest.layout_path())).expect("pulled layer"),
            fs::read(src.join(digest.layout_path())).expect("source layer")
        );
    }
    assert_only_verified_blobs(&dest);
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(dest.join("index.json")).expect("index.json"))
            .expect("json");
    assert_eq!(
        index["manifests"][0]["digest"],
        image.manifest_digest.to_string()
    );
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    assert!(dest.join("oci-layout").is_file());

    // Pulling again into the same layout downloads nothing.
    let again = client
        .pull(
            &by_digest,
            Some(&image.manifest_digest),
            &Platform::linux_host(),
            &dest,
        )
        .expect("pull again");
    assert_eq!(again.downloaded_blobs, 0);

    // umoci reads the pulled layout and checks every digest and diff_id while unpacking.
    if have_tool("umoci") {
        run(Command::new("umoci")
            .args(["unpack", "--rootless", "--image"])
            .arg(format!("{}:latest", dest.display()))
            .arg(tmp.path().join("bundle")));
        assert_eq!(
            fs::read_to_string(tmp.path().join("bundle/rootfs/hello.txt")).expect("unpacked"),
            "hello a\n"
        );
    }
}

#[test]
fn pushing_twice_uploads_no_blob_the_second_time() {
    if !have_tool("docker-registry") {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let client = insecure_client(&registry);
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    let image = write_layout(&src, "v1", "twice");
    let reference = Reference::parse(&format!("{}/app:v1", registry.host())).expect("ref");
    let upload_puts = "\"PUT /v2/app/blobs/uploads/";

    let first = client
        .push(&ImageSource::Layout(src.clone()), &reference)
        .expect("push");
    assert_eq!(first.uploaded.len(), 3);
    let puts_after_first = registry.count_in_log(upload_puts);
    assert_eq!(
        puts_after_first,
        3,
        "three blob uploads in the registry's log:\n{}",
        registry.log_text()
    );

    let second = client
        .push(&ImageSource::Layout(src.clone()), &reference)
        .expect("push again");
    assert_eq!(second.manifest_digest, image.manifest_digest);
    assert!(second.uploaded.is_empty(), "{second:?}");
    assert_eq!(second.bytes_uploaded, 0);
    assert_eq!(second.skipped.len(), 3);

    // The same image from makes' archive form, under another tag: still no upload.
    let archive = tmp.path().join("image.tar");
    pack_archive(&src, &archive);
    let other_tag = Reference::parse(&format!("{}/app:v2", registry.host())).expect("ref");
    let third = client
        .push(&ImageSource::detect(&archive), &other_tag)
        .expect("push archive");
    assert_eq!(third.manifest_digest, image.manifest_digest);
    assert!(third.uploaded.is_empty(), "{third:?}");

    assert_eq!(
        registry.count_in_log(upload_puts),
        puts_after_first,
        "no blob upload after the first push:\n{}",
        registry.log_text()
    );
    assert_eq!(registry.count_in_log("\"PUT /v2/app/manifests/"), 3);
}

#[test]
fn archive_push_to_a_fresh_repository_then_pull_by_tag() {
    if !have_tool("docker-registry") {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let client = insecure_client(&registry);
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    let image = write_layout(&src, "latest", "archive");
    let archive = tmp.path().join("image.tar");
    pack_archive(&src, &archive);
    let reference = Reference::parse(&format!("{}/org/tool", registry.host())).expect("ref");
    let summary = client
        .push(&ImageSource::Archive(archive), &reference)
        .expect("push");
    assert_eq!(summary.uploaded.len(), 3);

    let pulled = client
        .pull(
            &reference,
            None,
            &Platform::linux_host(),
            &tmp.path().join("out"),
        )
        .expect("pull by tag");
    assert_eq!(pulled.manifest_digest, image.manifest_digest);
    assert_eq!(pulled.reference.digest(), Some(&image.manifest_digest));
}
