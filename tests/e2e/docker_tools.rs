//! nixpkgs' `dockerTools.buildImage`, `buildLayeredImage` and `streamLayeredImage` on a
//! package set (the stand-in for nixpkgs, built by Nix), built natively by makes' image
//! builder: they run under runc, are byte-identical across two stores, carry nixpkgs'
//! passthru (`imageName`, `imageTag`), are shown by `makes show`; makes' own `/container` job
//! shape on a base pulled from a real registry, and a deploy job whose `src` is such an image.

use crate::common::{assert_success, fixture, have_tool, run, run_image, write_project, Sandbox};
use crate::registry::BASE;
use crate::registry_harness::{make_tls, Registry, RegistryConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Nix builds the stand-in packages, which copy host tools: no substituters, no sandbox.
const NIX_CONFIG: &str = "substituters =\nsandbox = false";

pub(crate) fn tools() -> bool {
    ["nix-build", "skopeo", "umoci", "runc"]
        .iter()
        .all(|t| have_tool(t))
}

/// `makes` with the stand-in as makes' own package set, packages built by Nix.
pub(crate) fn makes(sandbox: &Sandbox) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env("NIX_CONFIG", NIX_CONFIG)
        .env(
            "MAKES_NIXPKGS",
            fixture("nix-packages").join("stand-in-nixpkgs"),
        )
        .args(["--packages", "nix"]);
    cmd
}

pub(crate) fn build(sandbox: &Sandbox, project: &Path, job: &str) -> PathBuf {
    let out = makes(sandbox)
        .arg("--project")
        .arg(project)
        .arg(job)
        .output()
        .expect("makes runs");
    assert_success(&out);
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end())
}

fn show(sandbox: &Sandbox, project: &Path, job: &str) -> serde_json::Value {
    let out = run(sandbox
        .makes()
        .arg("--project")
        .arg(project)
        .args(["show", job]));
    serde_json::from_slice(&out.stdout).expect("show prints JSON")
}

/// `RepoTags` of the docker archive's `manifest.json`, what `docker load` tags the image with.
fn repo_tags(archive: &Path) -> serde_json::Value {
    let out = run(Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg("manifest.json"));
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    manifest[0]["RepoTags"].clone()
}

fn sha256_of(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&out.stdout)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The layered and streamed images of the stand-in's busybox and greeter, and a file naming
/// their passthru attributes.
const LAYERED: &str = r#"{ inputs, ... }:
let
  pkgs = inputs.nixpkgs;
  layered = pkgs.dockerTools.buildLayeredImage {
    name = "Layered";
    contents = [ pkgs.busybox pkgs.greeter ];
    config.Entrypoint = [ "/bin/sh" "-c" "greet; echo layered $MODE" ];
    config.Env = [ "MODE=layers" ];
    maxLayers = 3;
    passthru.flavour = "plain";
  };
  stream = pkgs.dockerTools.streamLayeredImage {
    name = "streamed";
    tag = "v1";
    contents = [ pkgs.busybox pkgs.greeter ];
    config.Cmd = [ "/bin/sh" "-c" "greet; echo streamed" ];
  };
in {
  jobs."/layered" = layered;
  jobs."/stream" = stream;
  jobs."/layered-stream" = layered.stream;
  jobs."/passthru" = pkgs.writeText "passthru"
    "${layered.imageName} ${layered.imageTag} ${layered.flavour} ${stream.imageName} ${stream.imageTag}";
}
"#;

#[test]
fn layered_and_streamed_images_run_and_are_reproducible() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("layered");
    write_project(&project, LAYERED);

    let layered = build(&sandbox, &project, "/layered");
    assert!(layered.is_file(), "{layered:?}");
    assert_eq!(
        run_image(
            &sandbox,
            &format!("oci-archive:{}", layered.display()),
            "layered"
        ),
        "hello from the stand-in nixpkgs\nlayered layers\n"
    );
    // `tag = null`: the hash part of the output path, as nixpkgs tags it; the name lowercased.
    let hash = layered
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('-').next())
        .expect("a store path")
        .to_owned();
    assert_eq!(
        repo_tags(&layered),
        serde_json::json!([format!("layered:{hash}")])
    );
    let inspect = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("docker-archive:{}", layered.display())));
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("json");
    assert!(
        inspect["Layers"].as_array().is_some_and(|l| l.len() <= 3),
        "maxLayers = 3: {inspect}"
    );

    // The stream is an executable writing the archive, with uncompressed layers.
    let stream = build(&sandbox, &project, "/stream");
    let saved = sandbox.dir.path().join("streamed.tar");
    let streamed = Command::new(&stream)
        .stdout(std::fs::File::create(&saved).expect("create"))
        .status()
        .expect("the stream runs");
    assert!(streamed.success());
    assert_eq!(
        run_image(
            &sandbox,
            &format!("docker-archive:{}", saved.display()),
            "stream"
        ),
        "hello from the stand-in nixpkgs\nstreamed\n"
    );
    let raw = run(Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("oci-archive:{}", saved.display())));
    let raw: serde_json::Value = serde_json::from_slice(&raw.stdout).expect("json");
    for layer in raw["layers"].as_array().expect("layers") {
        assert_eq!(layer["mediaType"], "application/vnd.oci.image.layer.v1.tar");
    }

    let passthru = build(&sandbox, &project, "/passthru");
    let stream_hash = stream
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('-').next())
        .expect("a store path");
    assert_eq!(
        std::fs::read_to_string(passthru).expect("read"),
        format!("layered {hash} plain streamed v1")
    );
    assert_ne!(stream_hash, "v1");

    // `buildLayeredImage`'s result carries its stream, with the same tag.
    let layered_stream = build(&sandbox, &project, "/layered-stream");
    let saved = sandbox.dir.path().join("layered-stream.tar");
    let streamed = Command::new(&layered_stream)
        .stdout(std::fs::File::create(&saved).expect("create"))
        .status()
        .expect("the stream runs");
    assert!(streamed.success());
    assert_eq!(
        repo_tags(&saved),
        serde_json::json!([format!("layered:{hash}")])
    );

    // Another store, the same bytes.
    let again = Sandbox::new();
    assert_eq!(
        sha256_of(&build(&again, &project, "/layered")),
        sha256_of(&layered)
    );
    assert_eq!(
        sha256_of(&build(&again, &project, "/stream")),
        sha256_of(&stream)
    );

    // `makes show` needs neither Nix nor a build.
    let shown = show(&sandbox, &project, "/layered");
    assert_eq!(shown["kind"], "makeContainerImage");
    assert_eq!(shown["layered"], true);
    assert_eq!(shown["name"], "layered");
    assert_eq!(shown["maxLayers"], 3);
    assert_eq!(shown["compressor"], "gz");
    assert_eq!(shown["tag"].as_str().map(str::len), Some(32), "{shown}");
    assert_eq!(shown["contents"][1]["package"], "greeter");
    let shown = show(&sandbox, &project, "/stream");
    assert_eq!(shown["stream"], true);
    assert_eq!(shown["tag"], "v1");
    assert_eq!(shown["compressor"], "none");
}

/// makes' own `/container` job (its makes.nix at 24.12), on a base pulled from a registry,
/// and its deploy job.
fn container_project(registry: &str, digest: &str) -> String {
    format!(
        r#"{{ __nixpkgs__, inputs, outputs, ... }}:
{{
  jobs."/container" = __nixpkgs__.dockerTools.buildImage {{
    config = {{
      Entrypoint = [ "/bin/sh" "-c" "greet; pwd; echo $FROM_BASE $USER; cat /etc/from-base" ];
      Env = [ "HOME=/home/root" "PATH=/bin" "USER=root" ];
      # makes' own says "root:root"; umoci, which unpacks the image here, cannot look a name
      # up in an /etc/passwd that is a symlink into the store (Docker can).
      User = "0:0";
      WorkingDir = "/working-dir";
    }};
    name = "container";
    tag = "latest";
    fromImage = inputs.nixpkgs.dockerTools.pullImage {{
      imageName = "{registry}/base";
      imageDigest = "{digest}";
      sha256 = "0000000000000000000000000000000000000000000000000000";
      finalImageTag = "1";
      tlsVerify = false;
    }};
    fromImageName = "{registry}/base";
    fromImageTag = "1";
    copyToRoot = __nixpkgs__.buildEnv {{
      name = "root-file-system";
      ignoreCollisions = false;
      paths = [
        __nixpkgs__.greeter
        (__nixpkgs__.runCommand "working-directory" {{ }} ''
          mkdir -p $out/working-dir
        '')
        (__nixpkgs__.writeTextDir "etc/group" ''
          root:x:0:
        '')
        (__nixpkgs__.writeTextDir "etc/passwd" ''
          root:x:0:0:root:/home/root:/bin/sh
        '')
      ];
    }};
  }};
  deployContainer.makesAmd64 = {{
    credentials = {{
      token = "GITHUB_TOKEN";
      user = "GITHUB_ACTOR";
    }};
    image = "{registry}/makes:amd64";
    src = outputs."/container";
  }};
  # nixpkgs' passthru names the tag, as real projects use it.
  deployContainer.tagged = {{
    credentials = {{
      token = "GITHUB_TOKEN";
      user = "GITHUB_ACTOR";
    }};
    image = "{registry}/makes:${{outputs."/container".imageTag}}-tagged";
    src = outputs."/container";
  }};
}}
"#
    )
}

fn digest_of(reference: &str) -> String {
    let out = run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(reference));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["Digest"].as_str().expect("digest").to_owned()
}

#[test]
fn makes_own_container_job_builds_on_a_pulled_base_runs_and_deploys() {
    if !tools() || !have_tool("docker-registry") {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let sandbox = Sandbox::new();
    let base_project = sandbox.dir.path().join("base");
    write_project(&base_project, BASE);
    let base = sandbox.build(&base_project, "/base");
    let base_ref = format!("{}/base:1", registry.host());
    run(Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci-archive:{}", base.display()))
        .arg(format!("docker://{base_ref}")));
    let digest = digest_of(&format!("docker://{base_ref}"));

    let project = sandbox.dir.path().join("makes");
    write_project(&project, &container_project(&registry.host(), &digest));
    let image = build(&sandbox, &project, "/container");
    assert_eq!(
        run_image(
            &sandbox,
            &format!("oci-archive:{}", image.display()),
            "container"
        ),
        "hello from the stand-in nixpkgs\n/working-dir\nyes root\nbase-file\n"
    );
    assert_eq!(repo_tags(&image), serde_json::json!(["container:latest"]));

    let shown = show(&sandbox, &project, "/container");
    assert_eq!(shown["layered"], false);
    assert_eq!(shown["fromImage"]["kind"], "pullImage");
    assert_eq!(shown["config"]["WorkingDir"], "/working-dir");

    for (job, tag) in [("makesAmd64", "amd64"), ("tagged", "latest-tagged")] {
        let deployed: Output = makes(&sandbox)
            .env("MAKES_INSECURE_REGISTRIES", registry.host())
            .env("GITHUB_ACTOR", "user")
            .env("GITHUB_TOKEN", "secret-token-value")
            .arg("--project")
            .arg(&project)
            .arg(format!("/deployContainer/{job}"))
            .output()
            .expect("makes runs");
        assert_success(&deployed);
        let line = String::from_utf8_lossy(&deployed.stdout).trim().to_owned();
        let (reference, pushed) = line.split_once('@').expect("REF@DIGEST");
        assert!(reference.ends_with(&format!("/makes:{tag}")), "{line}");
        assert_eq!(
            digest_of(&format!("docker://{}/makes:{tag}", registry.host())),
            pushed
        );
    }
}

#[test]
fn docker_tools_mistakes_name_the_function_and_the_attribute() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("bad");
    for (body, expected) in [
        (
            r#"buildLayeredImage { name = "x"; runAsRoot = "true"; }"#,
            "dockerTools.buildLayeredImage got an unknown attribute 'runAsRoot'",
        ),
        (
            r#"buildImage { tag = "1"; }"#,
            "dockerTools.buildImage requires the attribute 'name'",
        ),
        (
            r#"streamLayeredImage { name = "x"; maxLayers = 1; }"#,
            "must be an integer greater than 1",
        ),
        (
            r#"buildImage { name = "x"; fromImageTag = "2"; fromImage = inputs.nixpkgs.dockerTools.pullImage { imageName = "registry.example/base"; imageDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"; sha256 = "0000000000000000000000000000000000000000000000000000"; finalImageTag = "1"; }; }"#,
            "fromImageTag is '2', but the base image's tag is '1'",
        ),
        (
            r#"buildImage { name = "x"; fromImageName = "base"; fromImage = ./base.tar; }"#,
            "'fromImageName' with a fromImage that is neither a pullImage nor an image of this project",
        ),
    ] {
        write_project(
            &project,
            &format!("{{ inputs, ... }}: {{ jobs.\"/bad\" = inputs.nixpkgs.dockerTools.{body}; }}"),
        );
        std::fs::write(project.join("base.tar"), "not read at evaluation").expect("write");
        let out = sandbox
            .makes()
            .arg("--project")
            .arg(&project)
            .args(["show", "/bad"])
            .output()
            .expect("makes runs");
        assert_eq!(out.status.code(), Some(1), "{body}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{body}: {stderr}");
    }
}

/// makes' own package set for the deploy scripts: the host's bash, coreutils and skopeo (the
/// scripts run on the host), a CA bundle holding the test registry's CA (makeScript points
/// `SSL_CERT_FILE` at it), a cosign that fails if called (signing is off here).
const DEPLOY_TOOLS_NIXPKGS: &str = r#"{ system ? builtins.currentSystem, ... }:
let
  mk = name: script: derivation {
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" script ];
    PATH = "/usr/bin:/bin";
  };
in {
  bash = mk "bash-host" "mkdir -p $out/bin; cp /bin/bash $out/bin/bash";
  coreutils = mk "coreutils-host" "mkdir -p $out/bin; for t in cat echo mkdir mktemp rm ls seq; do cp $(command -v $t) $out/bin/; done";
  cacert = mk "nss-cacert-test" "mkdir -p $out/etc/ssl/certs; cp ${./ca.pem} $out/etc/ssl/certs/ca-bundle.crt";
  less = mk "less-host" "mkdir -p $out/bin";
  glow = mk "glow-host" "mkdir -p $out/bin";
  skopeo = mk "skopeo-host" "mkdir -p $out/bin; printf '#!/bin/sh\\nexec /usr/bin/skopeo \"$@\"\\n' > $out/bin/skopeo; chmod +x $out/bin/skopeo";
  cosign = mk "cosign-called" "mkdir -p $out/bin; printf '#!/bin/sh\\necho cosign called >&2; exit 1\\n' > $out/bin/cosign; chmod +x $out/bin/cosign";
}
"#;

/// A project calling makes' `deployContainer` argument itself (24.12's form) on a dockerTools
/// image; its job is the script makes gives, run after the build.
fn deploy_argument_project(registry: &str) -> String {
    format!(
        r#"{{ deployContainer, inputs, makeDerivation, ... }}:
let
  busybox = makeDerivation {{
    name = "busybox";
    builder = ''
      mkdir -p $out/bin
      cp ${{/bin/busybox}} $out/bin/busybox
      ln -s busybox $out/bin/sh
    '';
  }};
in {{
  jobs."/deploy" = deployContainer {{
    credentials = {{ token = "REGISTRY_TOKEN"; user = "REGISTRY_USER"; }};
    image = "{registry}/deployed:{{tag}}";
    name = "deploy-image";
    setup = [ ];
    sign = false;
    src = inputs.nixpkgs.dockerTools.buildImage {{
      name = "deployed";
      copyToRoot = [ busybox ];
      config.Cmd = [ "/bin/sh" "-c" "echo deployed by the script" ];
    }};
  }};
}}
"#
    )
}

#[test]
fn the_deploy_container_argument_is_makes_script_and_pushes() {
    if ![
        "nix-build",
        "skopeo",
        "docker-registry",
        "htpasswd",
        "openssl",
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
        htpasswd: Some(("user", "token")),
        ..RegistryConfig::default()
    });
    let set = sandbox.dir.path().join("deploy-tools");
    std::fs::create_dir_all(&set).expect("mkdir");
    std::fs::write(set.join("default.nix"), DEPLOY_TOOLS_NIXPKGS).expect("write");
    std::fs::copy(&tls.ca, set.join("ca.pem")).expect("copy the CA");
    let project = sandbox.dir.path().join("deploy");
    write_project(
        &project,
        &deploy_argument_project(&registry.host()).replace("{tag}", "1"),
    );
    let out = sandbox
        .makes()
        .env("NIX_CONFIG", NIX_CONFIG)
        .env("MAKES_NIXPKGS", &set)
        .env("REGISTRY_USER", "user")
        .env("REGISTRY_TOKEN", "token")
        .args(["--packages", "nix"])
        .arg(&project)
        .arg("/deploy")
        .output()
        .expect("makes runs");
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Syncing container image"), "{stderr}");
    assert!(stderr.contains("Skipping signing"), "{stderr}");
    let cert_dir = sandbox.dir.path().join("certs");
    std::fs::create_dir_all(&cert_dir).expect("certs");
    std::fs::copy(&tls.ca, cert_dir.join("ca.crt")).expect("ca.crt");
    let inspect = run(Command::new("skopeo")
        .args(["inspect", "--creds", "user:token", "--cert-dir"])
        .arg(&cert_dir)
        .arg(format!("docker://{}/deployed:1", registry.host())));
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("json");
    assert!(inspect["Digest"]
        .as_str()
        .is_some_and(|d| d.starts_with("sha256:")));
}

/// dockerTools images of makes' own derivations only: no package is resolved.
const OWN_PACKAGES: &str = r#"{ inputs, makeDerivation, ... }:
let
  busybox = makeDerivation {
    name = "busybox";
    builder = ''
      mkdir -p $out/bin
      cp ${/bin/busybox} $out/bin/busybox
      ln -s busybox $out/bin/sh
    '';
  };
in {
  inputs.nixpkgs = ./packages;
  jobs."/stream" = inputs.nixpkgs.dockerTools.streamLayeredImage {
    name = "own";
    contents = [ busybox ];
    config.Cmd = [ "/bin/sh" "-c" "echo own" ];
  };
  jobs."/single" = inputs.nixpkgs.dockerTools.buildImage {
    name = "own-single";
    copyToRoot = [ busybox ];
    runAsRoot = ''
      #!/bin/sh
      busybox mkdir -p /srv
      echo made-by-root > /srv/mark
    '';
    config.Cmd = [ "/bin/sh" "-c" "busybox cat /srv/mark" ];
  };
}
"#;

#[test]
fn an_unprivileged_user_builds_the_same_docker_tools_images() {
    let is_root = crate::common::running_as_root();
    if !is_root || !have_tool("setpriv") {
        eprintln!("note: skipping: needs root to switch to an unprivileged user");
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("own");
    write_project(&project, OWN_PACKAGES);
    std::fs::create_dir_all(project.join("packages")).expect("mkdir");
    std::fs::write(project.join("packages/default.nix"), "{ ... }: { }\n").expect("write");
    let as_root = Sandbox::new();
    for job in ["/stream", "/single"] {
        let expected = as_root.build(&project, job);
        let result = sandbox.build_as_nobody(&project, job);
        assert_eq!(result.file_name(), expected.file_name(), "{job}");
        assert_eq!(sha256_of(&result), sha256_of(&expected), "{job}");
    }
    // The stream, run by that user, writes the image.
    let stream = as_root.build(&project, "/stream");
    let out = run(Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(&stream));
    let saved = sandbox.dir.path().join("own.tar");
    std::fs::write(&saved, &out.stdout).expect("write");
    if have_tool("umoci") && have_tool("runc") {
        assert_eq!(
            run_image(
                &sandbox,
                &format!("docker-archive:{}", saved.display()),
                "own"
            ),
            "own\n"
        );
    }
}

/// A project pinned to makes `release` (through makes.lock.nix) whose `/deploy` job is `job`.
fn pinned_project(dir: &Path, release: &str, job: &str) {
    write_project(
        dir,
        &format!(
            r#"{{ deployContainer, deployContainerImage, inputs, ... }}:
let
  image = inputs.nixpkgs.dockerTools.buildImage {{ name = "x"; }};
  credentials = {{ token = "T"; user = "U"; }};
in {{
  jobs."/deploy" = {job};
}}
"#
        ),
    );
    std::fs::write(
        dir.join("makes.lock.nix"),
        format!("{{ makesSrc = builtins.fetchGit {{ url = \"https://github.com/fluidattacks/makes\"; ref = \"refs/tags/{release}\"; }}; }}\n"),
    )
    .expect("write makes.lock.nix");
}

#[test]
fn the_deploy_arguments_take_the_form_of_the_projects_release() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("pinned");
    for (release, job, expected) in [
        (
            "24.02",
            r#"deployContainer { containerImage = image; inherit credentials; name = "d"; registry = "ghcr.io"; setup = [ ]; sign = false; tag = "org/x:1"; }"#,
            Ok("ghcr.io/org/x:1"),
        ),
        (
            "24.12",
            r#"deployContainer { image = "ghcr.io/org/x:2"; inherit credentials; name = "d"; setup = [ ]; sign = false; src = image; }"#,
            Ok("ghcr.io/org/x:2"),
        ),
        (
            "22.11",
            r#"deployContainerImage { containerImage = image; inherit credentials; name = "d"; registry = "ghcr.io"; setup = [ ]; tag = "org/x:3"; }"#,
            Ok("ghcr.io/org/x:3"),
        ),
        (
            "22.11",
            r#"deployContainerImage { containerImage = image; inherit credentials; name = "d"; registry = "ghcr.io"; setup = [ ]; sign = false; tag = "org/x:3"; }"#,
            Err("unexpected argument 'sign'"),
        ),
        (
            "21.12",
            r#"deployContainerImage { containerImage = image; name = "d"; registry = "ghcr.io"; tag = "org/x:4"; }"#,
            Err("the makes argument 'deployContainerImage' of release 21.12 is not supported yet"),
        ),
    ] {
        pinned_project(&dir, release, job);
        let out = sandbox
            .makes()
            .arg("--project")
            .arg(&dir)
            .args(["show", "/deploy"])
            .output()
            .expect("makes runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match expected {
            // makes' script: the reference is in its entrypoint, replaced.
            Ok(reference) => {
                assert_success(&out);
                assert!(stdout.contains(reference), "{release}: {stdout}");
            }
            Err(message) => {
                assert_eq!(out.status.code(), Some(1), "{release}: {stdout}");
                assert!(stderr.contains(message), "{release}: {stderr}");
            }
        }
    }
}
