//! The two examples of makeContainerImage.md: read as they are (jobs listed), and built up to
//! the first package from nixpkgs (the native package set has only the helpers), which is
//! reported at its place in makes.nix.

use crate::common::{fixture, run, write_project, Sandbox};
use std::process::Command;

#[test]
fn seed_examples_are_read_and_list_their_jobs() {
    let sandbox = Sandbox::new();
    for (dir, job) in [
        ("seed-multi-layer", "/multiLayerContainer"),
        ("seed-single-layer", "/singleLayerContainer"),
    ] {
        let out = run(sandbox
            .makes()
            .arg("--project")
            .arg(fixture(dir))
            .arg("--list"));
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{job}\n"));
    }
}

#[test]
fn seed_examples_fail_clearly_at_the_first_nixpkgs_package() {
    let sandbox = Sandbox::new();
    for (dir, job) in [
        ("seed-multi-layer", "/multiLayerContainer"),
        ("seed-single-layer", "/singleLayerContainer"),
    ] {
        let out = sandbox
            .makes()
            .arg("--project")
            .arg(fixture(dir))
            .arg(job)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{dir}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The native package set has the helpers, not nixpkgs' packages.
        assert!(
            stderr.contains("attribute '") && stderr.contains("' missing"),
            "{dir}: {stderr}"
        );
        assert!(
            stderr.contains("available attributes: buildEnv"),
            "{dir}: {stderr}"
        );
        assert!(stderr.contains("makes.nix:"), "{dir}: {stderr}");
        assert!(
            stderr.contains("inputs.nixpkgs."),
            "{dir}: the source line in {stderr}"
        );
    }
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
