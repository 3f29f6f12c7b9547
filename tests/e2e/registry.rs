//! Registries end to end, against a real `docker-registry` on 127.0.0.1: an image built and
//! pushed by makes becomes the `fromImage` of another (pulled by digest through
//! `dockerTools.pullImage`, its layers reused byte for byte, its `Env` inherited), which runs
//! under runc with the base's files; pushes skip what the registry has; deployContainer jobs.

use crate::common::{assert_success, have_tool, run, write_project, Sandbox};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `docker-registry` serving plain HTTP on a free port of 127.0.0.1; killed on drop.
struct Registry {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().expect("registry dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
                dir.path().join("data").display()
            ),
        )
        .expect("config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "the registry never listened on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry {
            child,
            addr,
            _dir: dir,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
      tlsVerify = false;
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

/// Copies the image at the skopeo reference `source` into a layout, unpacks it with umoci
/// and runs it with runc; returns stdout. `name` keeps the directories of two runs apart.
pub(crate) fn run_image(sandbox: &Sandbox, source: &str, name: &str) -> String {
    let layout = sandbox.dir.path().join(format!("layout-{name}"));
    let bundle = sandbox.dir.path().join(format!("bundle-{name}"));
    run(Command::new("skopeo")
        .arg("copy")
        .arg(source)
        .arg(format!("oci:{}:x", layout.display())));
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:x", layout.display()))
        .arg(&bundle));
    let config_path = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).expect("config")).expect("json");
    config["process"]["terminal"] = serde_json::Value::Bool(false);
    if let Some(linux) = config["linux"].as_object_mut() {
        linux.remove("resources");
    }
    std::fs::write(&config_path, serde_json::to_vec(&config).expect("json")).expect("write");
    let id = format!(
        "makes-reg-{name}-{}",
        sandbox
            .dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().trim_start_matches('.').to_owned())
            .unwrap_or_default()
    );
    let out = Command::new("runc")
        .arg("run")
        .arg("--bundle")
        .arg(&bundle)
        .arg(&id)
        .output()
        .expect("runc");
    let _ = Command::new("runc")
        .args(["delete", "--force", &id])
        .output();
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn push_pull_from_image_and_deploy_against_a_real_registry() {
    if !["docker-registry", "skopeo", "umoci", "runc"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    let registry = Registry::start();
    let sandbox = Sandbox::new();

    // The base is built by makes and pushed there by skopeo.
    let base_project = sandbox.dir.path().join("base");
    write_project(&base_project, BASE);
    let base_archive = sandbox.build(&base_project, "/base");
    let base_ref = format!("{}/base:1", registry.addr);
    run(Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci-archive:{}", base_archive.display()))
        .arg(format!("docker://{base_ref}")));
    let digest = digest_of(&format!("docker://{base_ref}"));
    let digest = digest.as_str();

    // The derived image starts from the base, pulled by digest.
    let derived = sandbox.dir.path().join("derived");
    write_project(&derived, &derived_project(&registry.addr, digest, "1"));
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
    let derived_ref = format!("{}/derived:1", registry.addr);
    let pushed = run(sandbox.makes().arg("--project").arg(&derived).args([
        "push",
        "--insecure",
        "/derived",
        &derived_ref,
    ]));
    let pushed = stdout_line(&pushed);
    let (_, pushed_digest) = pushed.split_once('@').expect("REF@DIGEST on stdout");
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
        .env("MAKES_INSECURE_REGISTRIES", &registry.addr)
        .env("REGISTRY_USER", "user")
        .env("REGISTRY_TOKEN", "secret-token-value")
        .arg("--project")
        .arg(&derived)
        .arg("/deployContainer/app"));
    let deployed_line = stdout_line(&deployed);
    let (deployed_ref, deployed_digest) = deployed_line.split_once('@').expect("REF@DIGEST");
    assert!(deployed_ref.ends_with("/deployed:2"), "{deployed_line}");
    assert_eq!(
        digest_of(&format!("docker://{}/deployed:2", registry.addr)),
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
    let registry = Registry::start();
    let sandbox = Sandbox::new();
    let base_project = sandbox.dir.path().join("base");
    write_project(&base_project, BASE);
    run(sandbox.makes().arg("--project").arg(&base_project).args([
        "push",
        "--insecure",
        "/base",
        &format!("{}/base:1", registry.addr),
    ]));
    let wrong = format!("sha256:{}", "0".repeat(64));
    let derived = sandbox.dir.path().join("derived");
    write_project(&derived, &derived_project(&registry.addr, &wrong, "1"));
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
