//! Registries end to end, against a real `docker-registry` on 127.0.0.1: an image built and
//! pushed by makes becomes the `fromImage` of another (pulled by digest through
//! `dockerTools.pullImage`, its layers reused byte for byte, its `Env` inherited), which runs
//! under runc with the base's files; pushes skip what the registry has; deployContainer jobs;
//! the same over TLS with htpasswd authentication. The registry processes come from the
//! registry client's own test harness (`crates/makes-registry/tests/registry/common.rs`).

use crate::common::{assert_success, have_tool, run, run_image, write_project, Sandbox};
use crate::registry_harness::{make_tls, Registry, RegistryConfig};
use std::path::PathBuf;
use std::process::Command;

fn stdout_line(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The base image: busybox (from fixtures/hello's recipe) with an Env and a file of its own.
pub(crate) const BASE: &str = r#"{ makeContainerImage, makeDerivation, ... }:
let
  busybox = makeDerivation {
    name = "busybox";
    builder = ''
      mkdir -p $out/bin
      cp ${/bin/busybox} $out/bin/busybox
      for applet in sh cat echo ls; do ln -s busybox $out/bin/$applet; done
    '';
  };
  marker = makeDerivation {
    name = "marker";
    builder = "mkdir -p $out/etc; echo base-file > $out/etc/from-base";
  };
in {
  jobs."/base" = makeContainerImage {
    layered = false;
    name = "base";
    copyToRoot = [ busybox marker ];
    config.Env = [ "PATH=/bin" "FROM_BASE=yes" "SHARED=base" ];
  };
}
"#;

fn derived_project(registry: &str, digest: &str, tag: &str) -> String {
    derived_project_tls(registry, digest, tag, false)
}

fn derived_project_tls(registry: &str, digest: &str, tag: &str, tls_verify: bool) -> String {
    format!(
        r#"{{ inputs, makeContainerImage, makeDerivation, outputs, ... }}:
{{
  jobs."/derived" = makeContainerImage {{
    name = "derived";
    tag = "{tag}";
    fromImage = inputs.nixpkgs.dockerTools.pullImage {{
      imageName = "{registry}/base";
      imageDigest = "{digest}";
      sha256 = "0000000000000000000000000000000000000000000000000000";
      finalImageTag = "1";
      tlsVerify = {tls_verify};
    }};
    layers = [
      (makeDerivation {{
        name = "app";
        builder = ''
          mkdir -p $out/bin
          printf '#!/bin/sh\necho "$FROM_BASE $SHARED $APP $(cat /etc/from-base)"\n' > $out/bin/app
          chmod +x $out/bin/app
        '';
      }})
    ];
    config = {{
      Entrypoint = [ "/bin/app" ];
      Env = [ "APP=1" "SHARED=derived" ];
    }};
  }};
  deployContainer.app = {{
    credentials = {{ user = "REGISTRY_USER"; token = "REGISTRY_TOKEN"; }};
    image = "{registry}/deployed:2";
    src = outputs."/derived";
  }};
}}
"#
    )
}

fn layers_of(reference: &str) -> Vec<String> {
    let out = run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(reference));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["Layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l.as_str().unwrap_or_default().to_owned())
        .collect()
}

fn digest_of(reference: &str) -> String {
    let out = run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(reference));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["Digest"].as_str().expect("digest").to_owned()
}

#[test]
fn push_pull_from_image_and_deploy_against_a_real_registry() {
    if !["docker-registry", "skopeo", "umoci", "runc"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let sandbox = Sandbox::new();

    // The base is built by makes and pushed there by skopeo.
    let base_project = sandbox.dir.path().join("base");
    write_project(&base_project, BASE);
    let base_archive = sandbox.build(&base_project, "/base");
    let base_ref = format!("{}/base:1", registry.host());
    run(Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci-archive:{}", base_archive.display()))
        .arg(format!("docker://{base_ref}")));
    let digest = digest_of(&format!("docker://{base_ref}"));
    let digest = digest.as_str();

    // The derived image starts from the base, pulled by digest.
    let derived = sandbox.dir.path().join("derived");
    write_project(&derived, &derived_project(&registry.host(), digest, "1"));
    let archive = sandbox.build(&derived, "/derived");
    let base_layers = layers_of(&format!("docker://{base_ref}"));
    let derived_layers = layers_of(&format!("oci-archive:{}", archive.display()));
    assert_eq!(
        &derived_layers[..base_layers.len()],
        &base_layers[..],
        "the base layers, byte for byte"
    );
    assert!(derived_layers.len() > base_layers.len());
    let config = run(Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(format!("oci-archive:{}", archive.display())));
    let config: serde_json::Value = serde_json::from_slice(&config.stdout).expect("json");
    assert_eq!(
        config["config"]["Env"],
        serde_json::json!(["PATH=/bin", "FROM_BASE=yes", "SHARED=derived", "APP=1"])
    );
    assert_eq!(
        run_image(
            &sandbox,
            &format!("oci-archive:{}", archive.display()),
            "built"
        ),
        "yes derived 1 base-file\n",
        "base files, base and own Env"
    );

    // makes pushes the built image; skopeo pulls it back with the same digest, and it runs.
    let derived_ref = format!("{}/derived:1", registry.host());
    let pushed = run(sandbox.makes().arg("--project").arg(&derived).args([
        "push",
        "--insecure",
        "/derived",
        &derived_ref,
    ]));
    let pushed = stdout_line(&pushed);
    let (_, pushed_digest) = pushed.split_once('@').expect("REF@DIGEST on stdout");
    // Blob uploads as the registry's own access log counts them.
    let uploads = || registry.count_in_log("PUT /v2/derived/blobs/uploads/");
    let first_uploads = uploads();
    assert!(
        first_uploads > 0,
        "the first push uploaded the derived image's blobs"
    );
    let pulled = sandbox.dir.path().join("pulled-back");
    run(Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{derived_ref}"))
        .arg(format!("oci:{}:x", pulled.display())));
    assert_eq!(
        digest_of(&format!("docker://{derived_ref}")),
        pushed_digest,
        "skopeo sees what makes pushed"
    );
    let again = run(sandbox.makes().arg("--project").arg(&derived).args([
        "push",
        "--insecure",
        "/derived",
        &derived_ref,
    ]));
    assert_eq!(
        uploads(),
        first_uploads,
        "the registry saw no upload the second time"
    );
    let again_err = String::from_utf8_lossy(&again.stderr);
    assert!(
        again_err.contains(": 0 blobs uploaded"),
        "the second push uploads nothing: {again_err}"
    );
    let pulled_run = run_image(&sandbox, &format!("oci:{}:x", pulled.display()), "pulled");
    assert_eq!(
        pulled_run, "yes derived 1 base-file\n",
        "the pulled-back image runs with the base's files"
    );

    // The deploy job builds the image and pushes it.
    let deployed = run(sandbox
        .makes()
        .env("MAKES_INSECURE_REGISTRIES", registry.host())
        .env("REGISTRY_USER", "user")
        .env("REGISTRY_TOKEN", "secret-token-value")
        .arg("--project")
        .arg(&derived)
        .arg("/deployContainer/app"));
    let deployed_line = stdout_line(&deployed);
    let (deployed_ref, deployed_digest) = deployed_line.split_once('@').expect("REF@DIGEST");
    assert!(deployed_ref.ends_with("/deployed:2"), "{deployed_line}");
    assert_eq!(
        digest_of(&format!("docker://{}/deployed:2", registry.host())),
        deployed_digest
    );
    assert!(
        !String::from_utf8_lossy(&deployed.stderr).contains("secret-token-value"),
        "credentials never printed"
    );

    // Once pulled, the base is in the store: a new image on it builds without the registry.
    drop(registry);
    let offline_project = sandbox.dir.path().join("offline");
    let text = std::fs::read_to_string(derived.join("makes.nix"))
        .expect("makes.nix")
        .replace("tag = \"1\";", "tag = \"2\";");
    write_project(&offline_project, &text);
    let offline = sandbox.build(&offline_project, "/derived");
    assert_eq!(
        layers_of(&format!("oci-archive:{}", offline.display()))[..base_layers.len()],
        base_layers[..]
    );
}

#[test]
fn a_wrong_image_digest_is_a_clear_error() {
    if !have_tool("docker-registry") {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let sandbox = Sandbox::new();
    let base_project = sandbox.dir.path().join("base");
    write_project(&base_project, BASE);
    run(sandbox.makes().arg("--project").arg(&base_project).args([
        "push",
        "--insecure",
        "/base",
        &format!("{}/base:1", registry.host()),
    ]));
    let wrong = format!("sha256:{}", "0".repeat(64));
    let derived = sandbox.dir.path().join("derived");
    write_project(&derived, &derived_project(&registry.host(), &wrong, "1"));
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&derived)
        .arg("/derived")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&wrong) && stderr.contains("base"),
        "names the image and the digest: {stderr}"
    );
    let leftovers: Vec<PathBuf> = std::fs::read_dir(sandbox.store().join("store"))
        .expect("store")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("docker-image-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "nothing partial in the store: {leftovers:?}"
    );
}

#[test]
fn over_tls_with_htpasswd_authentication() {
    if ![
        "docker-registry",
        "htpasswd",
        "openssl",
        "skopeo",
        "umoci",
        "runc",
    ]
    .iter()
    .all(|t| have_tool(t))
    {
        return;
    }
    let sandbox = Sandbox::new();
    let tls_dir = sandbox.dir.path().join("tls");
    std::fs::create_dir_all(&tls_dir).expect("tls dir");
    let tls = make_tls(&tls_dir);
    let registry = Registry::start(RegistryConfig {
        tls: Some(&tls),
        htpasswd: Some(("makes", "s3cret-pass")),
        ..RegistryConfig::default()
    });
    let host = registry.host();
    // skopeo trusts the CA through a certificate directory; makes through SSL_CERT_FILE.
    let cert_dir = sandbox.dir.path().join("certs");
    std::fs::create_dir_all(&cert_dir).expect("certs");
    std::fs::copy(&tls.ca, cert_dir.join("ca.crt")).expect("ca.crt");
    let skopeo = |args: &[&str]| {
        let mut cmd = Command::new("skopeo");
        cmd.args(args);
        cmd
    };
    // `docker login` leaves credentials in config.json; makes' pulls read them.
    let docker_config = sandbox.dir.path().join("docker");
    std::fs::create_dir_all(&docker_config).expect("docker config");
    std::fs::write(
        docker_config.join("config.json"),
        format!("{{\"auths\":{{\"{host}\":{{\"auth\":\"bWFrZXM6czNjcmV0LXBhc3M=\"}}}}}}"),
    )
    .expect("config.json");
    let makes = || {
        let mut cmd = sandbox.makes();
        cmd.env("SSL_CERT_FILE", &tls.ca)
            .env("DOCKER_CONFIG", &docker_config);
        cmd
    };

    let base_project = sandbox.dir.path().join("base");
    write_project(&base_project, BASE);
    let base_archive = sandbox.build(&base_project, "/base");
    let base_ref = format!("{host}/base:1");
    let cert_arg = format!("--dest-cert-dir={}", cert_dir.display());
    run(
        skopeo(&["copy", "--dest-creds", "makes:s3cret-pass", &cert_arg])
            .arg(format!("oci-archive:{}", base_archive.display()))
            .arg(format!("docker://{base_ref}")),
    );
    let inspect_cert = format!("--cert-dir={}", cert_dir.display());
    let inspect = |reference: &str| {
        let out =
            run(skopeo(&["inspect", "--creds", "makes:s3cret-pass", &inspect_cert]).arg(reference));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["Digest"].as_str().expect("digest").to_owned()
    };
    let digest = inspect(&format!("docker://{base_ref}"));

    // pullImage over TLS (verified) with the stored credentials.
    let derived = sandbox.dir.path().join("derived");
    write_project(&derived, &derived_project_tls(&host, &digest, "1", true));
    let out = run(makes().arg("--project").arg(&derived).arg("/derived"));
    let archive = PathBuf::from(stdout_line(&out));

    // makes pushes with credentials from named variables; the wrong ones are refused clearly.
    let derived_ref = format!("{host}/derived:1");
    let push = |token: &str| {
        makes()
            .env("REG_USER", "makes")
            .env("REG_TOKEN", token)
            .arg("--project")
            .arg(&derived)
            .args([
                "push",
                "--user-env",
                "REG_USER",
                "--token-env",
                "REG_TOKEN",
                "/derived",
                &derived_ref,
            ])
            .output()
            .expect("makes runs")
    };
    let refused = push("wrong-pass");
    assert_eq!(refused.status.code(), Some(1));
    let refused_err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        refused_err.contains(&host) && !refused_err.contains("wrong-pass"),
        "{refused_err}"
    );
    let pushed = push("s3cret-pass");
    assert_success(&pushed);
    let pushed = stdout_line(&pushed);
    let (_, pushed_digest) = pushed.split_once('@').expect("REF@DIGEST");
    assert_eq!(inspect(&format!("docker://{derived_ref}")), pushed_digest);

    // skopeo pulls it back; it runs with the base's files.
    let pulled = sandbox.dir.path().join("pulled-back");
    let src_cert = format!("--src-cert-dir={}", cert_dir.display());
    run(
        skopeo(&["copy", "--src-creds", "makes:s3cret-pass", &src_cert])
            .arg(format!("docker://{derived_ref}"))
            .arg(format!("oci:{}:x", pulled.display())),
    );
    assert_eq!(
        run_image(&sandbox, &format!("oci:{}:x", pulled.display()), "tls"),
        "yes derived 1 base-file\n"
    );
    assert!(archive.is_file());
}
