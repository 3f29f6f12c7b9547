//! The two examples of makeContainerImage.md, verbatim: listed, reduced to their specs with
//! symbolic package references (no Nix, no lock file), and, without a way to resolve their
//! packages, failing with the package named and the way out.

use crate::common::{fixture, run, write_project, Sandbox};
use std::process::Command;

#[test]
fn seed_examples_are_read_and_list_their_jobs() {
    let sandbox = Sandbox::new();
    let out = run(sandbox
        .makes()
        .arg("--project")
        .arg(fixture("seed"))
        .arg("--list"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/multiLayerContainer\n/singleLayerContainer\n"
    );
}

/// `makes show JOB` of a seed example, with neither Nix nor a lock file: package
/// references stay symbolic.
fn show(sandbox: &Sandbox, job: &str) -> serde_json::Value {
    let out = run(sandbox
        .makes()
        .env("PATH", "/nonexistent")
        .arg("--project")
        .arg(fixture("seed"))
        .args(["show", job]));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// makes' own nixpkgs of 24.12 (its src/nix/sources.json): the seed pins no release, so the
/// latest's rules apply, and it sets no `inputs.nixpkgs`.
const MAKES_NIXPKGS_24_12: &str = "github:nixos/nixpkgs/5f5210aa20e343b7e35f40c033000db0ef80d7b9?sha256=0yc83iqbzj1gd651x6p2wx7a76wfpifaq7jxz4srbinaglfwfb07";

fn package(name: &str) -> serde_json::Value {
    serde_json::json!({ "package": name, "packageSet": MAKES_NIXPKGS_24_12, "output": "out", "outPath": null })
}

#[test]
fn the_layered_seed_example_reduces_to_its_spec() {
    let sandbox = Sandbox::new();
    let doc = show(&sandbox, "/multiLayerContainer");
    assert_eq!(doc["layered"], true);
    assert_eq!(doc["name"], "my-application");
    assert_eq!(doc["tag"], "1.0.0");
    assert_eq!(doc["created"], "now");
    assert_eq!(doc["maxLayers"], 100);
    // The base image stays a reference to the image, pulled only when built.
    let from = &doc["fromImage"];
    assert_eq!(from["kind"], "pullImage");
    assert_eq!(from["imageName"], "docker.io/library/alpine");
    assert_eq!(
        from["imageDigest"],
        "sha256:a8560b36e8b8210634f77d9f7f9efd7ffa463e380b75e2e74aff4511df3ef88c"
    );
    assert_eq!(from["finalImageName"], "docker.io/library/alpine");
    assert_eq!(from["finalImageTag"], "3.21.3");
    assert!(from["outPath"]
        .as_str()
        .is_some_and(|p| p.ends_with("-docker-image-docker.io-library-alpine-3.21.3")));
    assert_eq!(doc["contents"][0], package("coreutils"));
    assert_eq!(doc["contents"][1], package("nodejs_20"));
    assert!(doc["contents"][2]
        .as_str()
        .is_some_and(|p| p.ends_with("-application-files")));
    assert_eq!(doc["contents"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        doc["config"]["Env"],
        serde_json::json!(["NODE_ENV=production", "LOG_LEVEL=info"])
    );
    assert_eq!(doc["config"]["WorkingDir"], "/app");
    assert_eq!(
        doc["config"]["ExposedPorts"],
        serde_json::json!({ "8080/tcp": {} })
    );
    assert_eq!(
        doc["config"]["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "node /app/server.js"])
    );
    assert_eq!(
        doc["config"]["Labels"]["org.opencontainers.image.source"],
        "https://github.com/myorg/myapp"
    );
    assert_eq!(doc["extraCommands"], "mkdir -p tmp\nchmod 1777 tmp\n");
    // Defaults of what it omits.
    assert_eq!(doc["mtime"], "1970-01-01T00:00:01Z");
    assert_eq!(doc["uid"], 0);
    assert_eq!(doc["compressor"], "gz");
    assert_eq!(doc["includeStorePaths"], true);
    assert_eq!(
        doc["packages"],
        serde_json::json!([package("coreutils"), package("nodejs_20")])
    );
    // Unresolved packages leave the image's own path open.
    assert_eq!(doc["outPath"], serde_json::Value::Null);
}

#[test]
fn the_single_layer_seed_example_reduces_to_its_spec() {
    let sandbox = Sandbox::new();
    let doc = show(&sandbox, "/singleLayerContainer");
    assert_eq!(doc["layered"], false);
    assert_eq!(doc["name"], "static-service");
    assert_eq!(doc["tag"], "2.1.0");
    assert_eq!(doc["created"], "2026-01-19T10:30:00Z");
    // layers and copyToRoot both go into the root.
    assert_eq!(doc["contents"][0], package("busybox"));
    assert_eq!(doc["contents"][1], package("nginx"));
    assert!(doc["contents"][2]
        .as_str()
        .is_some_and(|p| p.ends_with("-service-config")));
    assert!(doc["contents"][3]
        .as_str()
        .is_some_and(|p| p.ends_with("-image-root")));
    assert_eq!(doc["config"]["User"], "nobody");
    assert_eq!(
        doc["config"]["Entrypoint"],
        serde_json::json!(["/service/entrypoint.sh"])
    );
    assert_eq!(
        doc["config"]["Cmd"],
        serde_json::json!(["serve", "--port=8080"])
    );
    assert_eq!(doc["includeStorePaths"], true);
    // runtimeShell is bash of the package set: a placeholder path while unresolved.
    let run_as_root = doc["runAsRoot"].as_str().expect("runAsRoot");
    assert!(run_as_root.starts_with("#!/nix/store/") && run_as_root.contains("-bash/bin/bash\n"));
    assert!(run_as_root.ends_with("mkdir -p /var/cache/nginx\nchmod 755 /var/cache/nginx\n"));
    // fakeroot is used by buildEnv (copyToRoot), bash by runtimeShell.
    assert_eq!(
        doc["packages"],
        serde_json::json!([
            package("bash"),
            package("busybox"),
            package("fakeroot"),
            package("nginx")
        ])
    );
}

#[test]
fn building_a_seed_example_without_nix_or_lock_names_the_package_and_the_way_out() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .makes()
        .args(["--packages", "lock"])
        .arg("--project")
        .arg(fixture("seed"))
        .arg("/multiLayerContainer")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot resolve 'coreutils' of the package set {MAKES_NIXPKGS_24_12}"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("run `makes lock`"), "{stderr}");
    assert!(stderr.contains("makes_multi_layer.nix:5:"), "{stderr}");
}

#[test]
fn an_empty_image_gets_the_documented_defaults() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("p");
    write_project(
        &project,
        "{ makeContainerImage, ... }: { jobs.\"/empty\" = makeContainerImage { }; }",
    );
    let result = sandbox.build(&project, "/empty");
    assert!(
        result.to_string_lossy().ends_with("-container-image.tar"),
        "{result:?}"
    );
    if !crate::common::have_tool("skopeo") {
        return;
    }
    // name = "container-image", tag = "latest", created = "1970-01-01T00:00:01Z".
    let out = run(Command::new("skopeo").arg("inspect").arg(format!(
        "docker-archive:{}:container-image:latest",
        result.display()
    )));
    let inspect: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(inspect["Created"], "1970-01-01T00:00:01Z");
    assert_eq!(inspect["Architecture"], makes_arch());
    let out = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}:latest", result.display())));
    assert!(!out.stdout.is_empty());
}

fn makes_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}
