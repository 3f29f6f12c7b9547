//! `fromImage` given as a local image archive: an OCI archive (makes' own) or a docker
//! archive (`docker save` format, written here by skopeo), also gzipped.

use crate::common::{have_tool, run, run_image, write_project, Sandbox};
use crate::registry::BASE;
use std::process::Command;

fn derived(archive: &str) -> String {
    format!(
        r#"{{ makeContainerImage, makeDerivation, ... }}:
{{
  jobs."/derived" = makeContainerImage {{
    name = "derived";
    fromImage = ./{archive};
    layers = [
      (makeDerivation {{
        name = "app";
        builder = ''
          mkdir -p $out/bin
          printf '#!/bin/sh\necho "$FROM_BASE $(cat /etc/from-base)"\n' > $out/bin/app
          chmod +x $out/bin/app
        '';
      }})
    ];
    config.Entrypoint = [ "/bin/app" ];
  }};
}}
"#
    )
}

fn diff_ids(reference: &str) -> Vec<serde_json::Value> {
    let out = run(Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(reference));
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    config["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn oci_and_docker_archives_are_accepted_as_from_image() {
    if !["skopeo", "umoci", "runc"].iter().all(|t| have_tool(t)) {
        return;
    }
    let sandbox = Sandbox::new();
    let base_project = sandbox.dir.path().join("base");
    write_project(&base_project, BASE);
    let base = sandbox.build(&base_project, "/base");
    let base_diff_ids = diff_ids(&format!("oci-archive:{}", base.display()));
    assert!(!base_diff_ids.is_empty());

    for (kind, file) in [
        ("oci", "base-oci.tar"),
        ("docker", "base-docker.tar"),
        ("docker-gz", "base-docker.tar.gz"),
    ] {
        let project = sandbox.dir.path().join(format!("derived-{kind}"));
        write_project(&project, &derived(file));
        let archive = project.join(file);
        if kind == "oci" {
            std::fs::copy(&base, &archive).expect("copy the archive");
        } else if kind == "docker" {
            run(Command::new("skopeo")
                .arg("copy")
                .arg(format!("oci-archive:{}", base.display()))
                .arg(format!("docker-archive:{}:base:1", archive.display())));
        } else {
            // nixpkgs' dockerTools takes a gzipped docker archive (`docker save | gzip`).
            let tar = project.join("base-docker.tar");
            run(Command::new("skopeo")
                .arg("copy")
                .arg(format!("oci-archive:{}", base.display()))
                .arg(format!("docker-archive:{}:base:1", tar.display())));
            run(Command::new("gzip").arg(&tar));
        }
        let result = sandbox.build(&project, "/derived");
        let ids = diff_ids(&format!("oci-archive:{}", result.display()));
        assert_eq!(
            &ids[..base_diff_ids.len()],
            &base_diff_ids[..],
            "{kind}: the base layers come first"
        );
        let out = run_image(&sandbox, &format!("oci-archive:{}", result.display()), kind);
        assert_eq!(out, "yes base-file\n", "{kind}: base Env and files");
    }
}

/// A single-layer image whose runAsRoot creates a user, chowns a directory and deletes a file
/// of its base image.
/// Builds the registry tests' base image, then the project `makes_nix` (in `dir`) whose
/// `/derived` job takes it as `./base-oci.tar`; returns both archives.
fn build_on_base(
    sandbox: &Sandbox,
    dir: &str,
    makes_nix: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let base_project = sandbox.dir.path().join("base");
    write_project(&base_project, BASE);
    let base = sandbox.build(&base_project, "/base");
    let project = sandbox.dir.path().join(dir);
    write_project(&project, makes_nix);
    std::fs::copy(&base, project.join("base-oci.tar")).expect("copy the base");
    let result = sandbox.build(&project, "/derived");
    (base, result)
}

const RUN_AS_ROOT_ON_BASE: &str = r##"{ makeContainerImage, ... }:
{
  jobs."/derived" = makeContainerImage {
    layered = false;
    name = "on-base";
    fromImage = ./base-oci.tar;
    runAsRoot = ''
      #!/bin/sh
      echo "app:x:1000:1000::/srv:/bin/sh" >> /etc/passwd
      busybox mkdir -p /srv
      busybox chown 1000:1000 /srv
      busybox rm /etc/from-base
    '';
    config.Cmd = [ "/bin/sh" "-c" "busybox ls /etc/from-base 2>/dev/null || echo gone; busybox stat -c %u /srv; busybox grep -c app /etc/passwd" ];
  };
}
"##;

#[test]
fn run_as_root_on_a_base_image_changes_and_deletes_its_files() {
    let is_root = crate::common::running_as_root();
    if !is_root || !["skopeo", "umoci", "runc"].iter().all(|t| have_tool(t)) {
        eprintln!("note: skipping: needs root (chown to another user) and the image tools");
        return;
    }
    let sandbox = Sandbox::new();
    let (base, result) = build_on_base(&sandbox, "on-base", RUN_AS_ROOT_ON_BASE);
    let base_diff_ids = diff_ids(&format!("oci-archive:{}", base.display()));
    let ids = diff_ids(&format!("oci-archive:{}", result.display()));
    assert_eq!(
        ids.len(),
        base_diff_ids.len() + 1,
        "the base layers and one more"
    );
    assert_eq!(&ids[..base_diff_ids.len()], &base_diff_ids[..]);

    // The new layer holds the changes and a whiteout for the deleted file, not the base's files.
    let layout = sandbox.dir.path().join("inspect");
    run(Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci-archive:{}", result.display()))
        .arg(format!("oci:{}:x", layout.display())));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index"))
            .expect("json");
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .expect("digest")
        .trim_start_matches("sha256:")
        .to_owned();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(layout.join("blobs/sha256").join(manifest_digest)).expect("manifest"),
    )
    .expect("json");
    let last = manifest["layers"]
        .as_array()
        .and_then(|l| l.last())
        .expect("a layer")["digest"]
        .as_str()
        .expect("digest")
        .trim_start_matches("sha256:")
        .to_owned();
    let listing = run(Command::new("sh").arg("-c").arg(format!(
        "gzip -dc {} | tar -t",
        layout.join("blobs/sha256").join(last).display()
    )));
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(
        listing
            .lines()
            .any(|l| l.trim_end_matches('/') == "etc/.wh.from-base"),
        "{listing}"
    );
    assert!(listing.lines().any(|l| l == "etc/passwd"), "{listing}");
    assert!(
        !listing.lines().any(|l| l.starts_with("bin/busybox")),
        "unchanged base files stay out: {listing}"
    );

    assert_eq!(
        run_image(
            &sandbox,
            &format!("oci-archive:{}", result.display()),
            "on-base"
        ),
        "gone\n1000\n1\n"
    );
}

const FAKECHROOT_ON_BASE: &str = r##"{ makeContainerImage, makeDerivation, ... }:
let
  tools = makeDerivation {
    name = "tools";
    builder = ''
      mkdir -p $out/bin
      cp ${/bin/busybox} $out/bin/busybox
    '';
  };
in {
  jobs."/derived" = makeContainerImage {
    name = "fakechroot-on-base";
    fromImage = ./base-oci.tar;
    layers = [ tools ];
    enableFakechroot = true;
    # As in nixpkgs, the chroot is the customisation root (contents and store), not the base.
    fakeRootCommands = ''
      #!${tools}/bin/busybox sh
      ${tools}/bin/busybox mkdir -p /data
      ${tools}/bin/busybox chown 1000:1000 /data
      test -e /etc/from-base && exit 1 || true
    '';
    config.Cmd = [ "/bin/sh" "-c" "busybox stat -c %u /data; cat /etc/from-base" ];
  };
}
"##;

#[test]
fn fake_root_commands_with_fakechroot_on_a_base_image() {
    let is_root = crate::common::running_as_root();
    if !is_root || !["skopeo", "umoci", "runc"].iter().all(|t| have_tool(t)) {
        eprintln!("note: skipping: needs root (chown to another user) and the image tools");
        return;
    }
    let sandbox = Sandbox::new();
    let (_, result) = build_on_base(&sandbox, "fakechroot-on-base", FAKECHROOT_ON_BASE);
    // The base's shell and file, the owner fakeRootCommands set.
    assert_eq!(
        run_image(
            &sandbox,
            &format!("oci-archive:{}", result.display()),
            "fakechroot-on-base"
        ),
        "1000\nbase-file\n"
    );
}
