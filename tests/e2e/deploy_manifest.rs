//! makes' `deployContainerManifest` module and the `sign` option of its deploy modules,
//! against a real `docker-registry` on 127.0.0.1: two images pushed by `deployContainer` jobs
//! (one in another repository), then a manifest list of them pushed by our registry client
//! under its tag and its extra tags, read back with skopeo (the list, its platforms, and the
//! image skopeo picks for each platform). 24.02's form (`config = { image; manifests; tags; }`)
//! on a project pinning 24.02. cosign is not installable here: `sign = true` runs the cosign
//! of makes' package set (fixtures/builders-nixpkgs: a double that records its command line and
//! checks the image is in the registry), and the test checks it is called as makes' deploy
//! scripts call it, after the push.

use crate::common::{fixture, have_tool, run, write_project, Sandbox};
use crate::registry_harness::{Registry, RegistryConfig};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn tools() -> bool {
    ["docker-registry", "skopeo", "nix-build", "python3"]
        .iter()
        .all(|t| have_tool(t))
}

const MAKES_24_02: &str = "9b48d0e155d7fb08fc4e8318380e7a0cf359a202";

fn images(host: &str) -> String {
    format!(
        r#"{{ makeContainerImage, makeDerivation, outputs, ... }}:
{{
  jobs."/amd64" = makeContainerImage {{
    name = "amd64";
    layers = [
      (makeDerivation {{
        name = "amd64-file";
        builder = "mkdir -p $out/etc; echo amd64 > $out/etc/arch";
      }})
    ];
  }};
  jobs."/arm64" = makeContainerImage {{
    name = "arm64";
    layers = [
      (makeDerivation {{
        name = "arm64-file";
        builder = "mkdir -p $out/etc; echo arm64 > $out/etc/arch";
      }})
    ];
  }};
  deployContainer.amd64 = {{
    credentials = {{ token = "REG_TOKEN"; user = "REG_USER"; }};
    image = "{host}/app:amd64";
    sign = true;
    src = outputs."/amd64";
  }};
  deployContainer.arm64 = {{
    image = "{host}/other:arm64";
    src = outputs."/arm64";
  }};
  deployContainerManifest.app = {{
    credentials = {{ token = "REG_TOKEN"; user = "REG_USER"; }};
    image = "{host}/app:latest";
    manifests = [
      {{ image = "{host}/app:amd64"; platform = {{ architecture = "amd64"; os = "linux"; }}; }}
      {{ image = "{host}/other:arm64"; platform = {{ architecture = "arm64"; os = "linux"; }}; }}
    ];
    sign = true;
    tags = [ "1.0" ];
  }};
  deployContainerManifest.missing = {{
    credentials = {{ token = "REG_TOKEN"; user = "REG_USER"; }};
    image = "{host}/app:broken";
    manifests = [
      {{ image = "{host}/app:nowhere"; platform = {{ architecture = "amd64"; os = "linux"; }}; }}
    ];
  }};
}}
"#
    )
}

/// 24.02's module: the list under `config`.
fn project_2402(host: &str) -> String {
    format!(
        r#"{{ ... }}:
{{
  deployContainerManifest.app = {{
    config = {{
      image = "{host}/app:v2402";
      manifests = [
        {{ image = "{host}/app:amd64"; platform = {{ architecture = "amd64"; os = "linux"; }}; }}
      ];
      tags = [ "24.02" ];
    }};
    credentials = {{ token = "REG_TOKEN"; user = "REG_USER"; }};
  }};
}}
"#
    )
}

fn makes(sandbox: &Sandbox, dir: &Path, host: &str, log: &Path, args: &[&str]) -> Output {
    sandbox
        .makes()
        .env("MAKES_INSECURE_REGISTRIES", host)
        .env(
            "NIX_CONFIG",
            "substituters =\nbuild-users-group =\nsandbox = false",
        )
        .env("MAKES_NIXPKGS", fixture("builders-nixpkgs"))
        .env("STAND_IN_LOG", log)
        .env("REG_USER", "robot")
        .env("REG_TOKEN", "s3cret")
        .args(["--packages", "nix", "--project"])
        .arg(dir)
        .args(args)
        .output()
        .expect("makes starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `REF@DIGEST` on the last line of stdout.
fn pushed(out: &Output) -> (String, String) {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = stdout.lines().last().expect("a line on stdout");
    let (reference, digest) = line.split_once('@').expect("REF@DIGEST");
    (reference.to_owned(), digest.to_owned())
}

fn cosign_calls(log: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON array a line"))
        .filter(|call: &Vec<String>| call.first().is_some_and(|tool| tool == "cosign"))
        .collect()
}

fn sign_call(image: &str) -> Vec<String> {
    [
        "cosign",
        "sign",
        "--yes=true",
        "--registry-username=robot",
        "--registry-password=s3cret",
        image,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn skopeo_raw(reference: &str) -> Vec<u8> {
    run(Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}")))
    .stdout
}

/// The digest of the manifest skopeo copies for `arch` out of `reference` (a list), its
/// blobs fetched from `reference`'s repository.
fn skopeo_digest_for(sandbox: &Sandbox, reference: &str, arch: &str) -> String {
    let dir = sandbox.dir.path().join(format!(
        "copied-{arch}-{}",
        reference.replace(['/', ':'], "_")
    ));
    run(Command::new("skopeo")
        .args(["--override-os", "linux", "--override-arch", arch])
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .arg(format!("dir:{}", dir.display())));
    let manifest = std::fs::read(dir.join("manifest.json")).expect("skopeo wrote the manifest");
    format!("sha256:{}", sha256_hex(&manifest))
}

#[test]
fn a_manifest_list_of_pushed_images_is_pushed_signed_and_read_back_by_skopeo() {
    if !tools() {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let host = registry.host();
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("p");
    write_project(&dir, &images(&host));
    let log = sandbox.dir.path().join("calls.jsonl");

    let listed = sandbox
        .makes()
        .arg("--project")
        .arg(&dir)
        .arg("--list")
        .output()
        .expect("makes starts");
    let listed = text(&listed.stdout);
    assert!(
        listed.contains("/deployContainerManifest/app")
            && listed.contains("/deployContainer/amd64"),
        "{listed}"
    );

    // The spec: what is listed, the extra tags, and the cosign that signs.
    let shown = makes(
        &sandbox,
        &dir,
        &host,
        &log,
        &["show", "/deployContainerManifest/app"],
    );
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let spec: Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(spec["kind"], "deployContainerManifest");
    assert_eq!(spec["tags"], serde_json::json!(["1.0"]));
    assert_eq!(spec["manifests"][1]["platform"]["architecture"], "arm64");
    assert!(spec["sign"]["cosign"]
        .as_str()
        .is_some_and(|p| p.starts_with("/nix/store/") && p.ends_with("cosign-2.2.3")));

    // A list naming an image the registry lacks: nothing pushed, the image named.
    let missing = makes(
        &sandbox,
        &dir,
        &host,
        &log,
        &["/deployContainerManifest/missing"],
    );
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("nowhere"),
        "{}",
        text(&missing.stderr)
    );

    // The images: signed after the push when `sign` is true, as makes' script signs them.
    let (_, amd64) = pushed(&makes(
        &sandbox,
        &dir,
        &host,
        &log,
        &["/deployContainer/amd64"],
    ));
    assert_eq!(
        cosign_calls(&log),
        vec![sign_call(&format!("{host}/app:amd64"))]
    );
    let (_, arm64) = pushed(&makes(
        &sandbox,
        &dir,
        &host,
        &log,
        &["/deployContainer/arm64"],
    ));
    assert_eq!(cosign_calls(&log).len(), 1, "arm64 is not signed");
    assert_ne!(amd64, arm64);

    // The list: under its tag and its extra tag, the same bytes, signed by its reference.
    let (reference, digest) = pushed(&makes(
        &sandbox,
        &dir,
        &host,
        &log,
        &["/deployContainerManifest/app"],
    ));
    assert_eq!(reference, format!("{host}/app:latest"));
    assert_eq!(
        cosign_calls(&log).last(),
        Some(&sign_call(&format!("{host}/app:latest")))
    );
    let raw = skopeo_raw(&format!("{host}/app:latest"));
    assert_eq!(raw, skopeo_raw(&format!("{host}/app:1.0")));
    assert_eq!(
        format!("sha256:{}", sha256_hex(&raw)),
        digest,
        "the digest printed is the list's"
    );
    let list: Value = serde_json::from_slice(&raw).expect("the list is JSON");
    assert_eq!(list["schemaVersion"], 2);
    let manifests = list["manifests"].as_array().expect("manifests");
    let entries: Vec<(String, String, String)> = manifests
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().unwrap_or_default().to_owned(),
                m["platform"]["os"].as_str().unwrap_or_default().to_owned(),
                m["platform"]["architecture"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            (amd64.clone(), "linux".into(), "amd64".into()),
            (arm64.clone(), "linux".into(), "arm64".into()),
        ]
    );
    // What a client of each platform gets; the arm64 image came from another repository,
    // and its blobs are now in this one.
    assert_eq!(
        skopeo_digest_for(&sandbox, &format!("{host}/app:latest"), "amd64"),
        amd64
    );
    assert_eq!(
        skopeo_digest_for(&sandbox, &format!("{host}/app:1.0"), "arm64"),
        arm64
    );

    // 24.02's form, on a project pinning 24.02: no `sign`, no cosign call.
    let old = sandbox.dir.path().join("p2402");
    write_project(&old, &project_2402(&host));
    std::fs::write(
        old.join("makes.lock.nix"),
        format!(
            "{{ makesSrc = builtins.fetchGit {{ url = \"https://github.com/fluidattacks/makes\"; rev = \"{MAKES_24_02}\"; }}; }}\n"
        ),
    )
    .expect("write makes.lock.nix");
    let calls_before = cosign_calls(&log).len();
    let (reference, _) = pushed(&makes(
        &sandbox,
        &old,
        &host,
        &log,
        &["/deployContainerManifest/app"],
    ));
    assert_eq!(reference, format!("{host}/app:v2402"));
    assert_eq!(cosign_calls(&log).len(), calls_before);
    assert_eq!(
        skopeo_raw(&format!("{host}/app:v2402")),
        skopeo_raw(&format!("{host}/app:24.02"))
    );
    assert_eq!(
        skopeo_digest_for(&sandbox, &format!("{host}/app:24.02"), "amd64"),
        amd64
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A job referring to a deploy job (a pipeline's job, as real projects' pipelines list their
/// deploys) gets makes' deploy script, a package, as `outputs."/deployContainer/<name>"` is
/// in makes; running the deploy job itself still pushes natively.
#[test]
fn other_jobs_see_a_deploy_job_as_makes_deploy_script() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("p");
    let host = "127.0.0.1:5999";
    let project = images(host).replacen(
        "deployContainer.amd64 = {",
        r#"pipelines.release = {
    jobs = [
      { output = "/deployContainer/amd64"; }
      { output = "/deployContainerManifest/app"; }
    ];
  };
  jobs."/manifestScript" = outputs."/deployContainerManifest/app";
  deployContainer.amd64 = {"#,
        1,
    );
    write_project(&dir, &project);
    let show = |job: &str| {
        sandbox
            .makes()
            .arg("--project")
            .arg(&dir)
            .args(["show", job])
            .output()
            .expect("makes starts")
    };
    let pipeline = show("/pipeline/release");
    assert!(pipeline.status.success(), "{}", text(&pipeline.stderr));
    let script = show("/manifestScript");
    assert!(script.status.success(), "{}", text(&script.stderr));
    let spec: Value = serde_json::from_slice(&script.stdout).expect("json");
    assert_eq!(
        spec["name"], "app",
        "makes names the script after the attribute"
    );
    let deploy = show("/deployContainerManifest/app");
    let spec: Value = serde_json::from_slice(&deploy.stdout).expect("json");
    assert_eq!(spec["kind"], "deployContainerManifest");
}
