//! Platform selection from an index of two platforms, and Docker schema 2 images (pushed by
//! skopeo) pulled with their media types kept, byte for byte.

use std::fs;
use std::process::Command;

use makes_registry::{
    Digest, ImageSource, Platform, Reference, RegistryError, DOCKER_MANIFEST, OCI_INDEX,
};
use serde_json::json;

use crate::common::*;

#[test]
fn platform_is_selected_from_an_index_of_two() {
    if !have_tool("docker-registry") {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let client = insecure_client(&registry);
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    let amd = write_image_blobs(&src, "amd64", &[layer_tar(&[("arch", b"amd64\n")])]);
    let arm = write_image_blobs(&src, "arm64", &[layer_tar(&[("arch", b"arm64\n")])]);
    let entry = |image: &TestImage, arch: &str, variant: Option<&str>| {
        let mut platform = json!({"os": "linux", "architecture": arch});
        if let Some(v) = variant {
            platform["variant"] = json!(v);
        }
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": image.manifest_digest.to_string(),
            "size": image.manifest.len(),
            "platform": platform,
        })
    };
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry(&amd, "amd64", None), entry(&arm, "arm64", Some("v8"))],
    }))
    .expect("json");
    let index_digest = Digest::of(&index);
    fs::write(src.join(index_digest.layout_path()), &index).expect("index blob");
    write_index_json(&src, OCI_INDEX, &index_digest, index.len(), "multi");

    let reference = Reference::parse(&format!("{}/multi:multi", registry.host())).expect("ref");
    let summary = client
        .push(&ImageSource::Layout(src), &reference)
        .expect("push index");
    assert_eq!(summary.manifest_digest, index_digest);
    assert_eq!(
        summary.uploaded.len(),
        4,
        "two configs, two layers: {summary:?}"
    );
    if have_tool("skopeo") {
        let raw = run(Command::new("skopeo").args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{}/multi:multi", registry.host()),
        ]));
        assert_eq!(raw.as_bytes(), &index[..]);
    }

    for (platform, image, content) in [
        ("linux/arm64", &arm, "arm64\n"),
        ("linux/arm64/v8", &arm, "arm64\n"),
        ("linux/amd64", &amd, "amd64\n"),
    ] {
        let dest = tmp.path().join(platform.replace('/', "-"));
        let pulled = client
            .pull(
                &reference,
                Some(&index_digest),
                &Platform::parse(platform).expect("p"),
                &dest,
            )
            .unwrap_or_else(|e| panic!("{platform}: {e}"));
        assert_eq!(pulled.manifest_digest, image.manifest_digest, "{platform}");
        assert_eq!(pulled.index_digest.as_ref(), Some(&index_digest));
        let layer = fs::read(dest.join(pulled.layers[0].digest.layout_path())).expect("layer");
        assert!(
            String::from_utf8_lossy(&layer).contains(content),
            "{platform}"
        );
    }

    let err = client
        .pull(
            &reference,
            None,
            &Platform::parse("linux/s390x").expect("p"),
            &tmp.path().join("none"),
        )
        .expect_err("no such platform");

    eprintln!("no such platform: {err}");
    assert!(
        matches!(err, RegistryError::NoMatchingPlatform { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("linux/amd64, linux/arm64/v8"),
        "{err}"
    );
}

#[test]
fn docker_schema2_media_types_are_kept() {
    if !have_tool("docker-registry") || !have_tool("skopeo") {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let client = insecure_client(&registry);
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    // skopeo converts to Docker schema 2, compressing the layers with gzip.
    write_layout(&src, "1.0", "docker");
    let remote = format!("docker://{}/docker/app:v2s2", registry.host());
    run(Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--format",
            "v2s2",
            "--dest-tls-verify=false",
        ])
        .arg(format!("oci:{}:1.0", src.display()))
        .arg(&remote));
    let raw = run(Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", &remote]));

    let reference = Reference::parse(&format!("{}/docker/app:v2s2", registry.host())).expect("ref");
    let dest = tmp.path().join("pulled");
    let pulled = client
        .pull(&reference, None, &Platform::linux_host(), &dest)
        .expect("pull docker image");
    assert_eq!(pulled.manifest_media_type, DOCKER_MANIFEST);
    assert_eq!(pulled.manifest_digest, Digest::of(raw.as_bytes()));
    assert_eq!(
        fs::read(dest.join(pulled.manifest_digest.layout_path())).expect("manifest"),
        raw.as_bytes()
    );
    for layer in &pulled.layers {
        assert_eq!(
            layer.media_type,
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
        assert_ne!(
            layer.digest, layer.diff_id,
            "compressed layers differ from their diff_id"
        );
    }
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(dest.join("index.json")).expect("index")).expect("json");
    assert_eq!(index["manifests"][0]["mediaType"], DOCKER_MANIFEST);

    // Pushed again from the pulled layout, elsewhere: the same manifest, byte for byte.
    let copy = Reference::parse(&format!("{}/copy/app:v2s2", registry.host())).expect("ref");
    let summary = client
        .push(&ImageSource::Layout(dest), &copy)
        .expect("push pulled layout");
    assert_eq!(summary.manifest_digest, pulled.manifest_digest);
    let raw_copy = run(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}/copy/app:v2s2", registry.host()),
    ]));
    assert_eq!(raw_copy, raw);
}
