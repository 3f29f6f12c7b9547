//! dockerTools attributes beyond the common ones, on the stand-in package set: `buildImage`'s
//! `keepContentsDirlinks` (contents joined through the root's links to directories, as
//! `rsync --keep-dirlinks` copies) and `includeNixDB` (a Nix database of the contents' closure
//! that the real `nix-store` reads and verifies), run under runc and byte-identical across two
//! stores.

use crate::common::{assert_success, fixture, have_tool, run, run_image, write_project, Sandbox};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Nix builds the stand-in packages, which copy host tools: no substituters, no sandbox.
const NIX_CONFIG: &str = "substituters =\nsandbox = false";

fn tools() -> bool {
    ["nix-build", "skopeo", "umoci", "runc"]
        .iter()
        .all(|t| have_tool(t))
}

fn build(sandbox: &Sandbox, project: &Path, job: &str) -> PathBuf {
    let out = sandbox
        .makes()
        .env("NIX_CONFIG", NIX_CONFIG)
        .env(
            "MAKES_NIXPKGS",
            fixture("nix-packages").join("stand-in-nixpkgs"),
        )
        .args(["--packages", "nix", "--project"])
        .arg(project)
        .arg(job)
        .output()
        .expect("makes runs");
    assert_success(&out);
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end())
}

/// A base whose `/lib` links to `usr/lib`, and a content with a `lib` directory of its own.
const DIRLINKS: &str = r#"{ inputs, makeDerivation, ... }:
let
  pkgs = inputs.nixpkgs;
  base = makeDerivation {
    name = "base";
    builder = ''
      mkdir -p $out/usr/lib
      echo a > $out/usr/lib/a
      ln -s usr/lib $out/lib
    '';
  };
  extra = makeDerivation {
    name = "extra";
    builder = ''
      mkdir -p $out/lib
      echo b > $out/lib/b
    '';
  };
  image = keep: pkgs.dockerTools.buildImage {
    name = "dirlinks";
    tag = "1";
    copyToRoot = [ pkgs.busybox base extra ];
    keepContentsDirlinks = keep;
    config.Cmd = [ "/bin/sh" "-c" "ls /usr/lib; cat /usr/lib/b 2>/dev/null || echo no-b; test -L /lib && echo lib-is-a-link" ];
  };
in {
  jobs."/kept" = image true;
  jobs."/plain" = image false;
}
"#;

fn sha256_of(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&out.stdout)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn keep_contents_dirlinks_copies_through_links_to_directories() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("dirlinks");
    write_project(&project, DIRLINKS);

    let kept = build(&sandbox, &project, "/kept");
    assert_eq!(
        run_image(&sandbox, &format!("oci-archive:{}", kept.display()), "kept"),
        "a\nb\nb\nlib-is-a-link\n",
        "extra's lib/b went through /lib into /usr/lib"
    );
    let plain = build(&sandbox, &project, "/plain");
    assert_eq!(
        run_image(
            &sandbox,
            &format!("oci-archive:{}", plain.display()),
            "plain"
        ),
        "a\nno-b\nlib-is-a-link\n",
        "without keepContentsDirlinks the link is kept and extra's lib is not copied through it"
    );

    let again = Sandbox::new();
    assert_eq!(
        sha256_of(&build(&again, &project, "/kept")),
        sha256_of(&kept)
    );
}

/// The stand-in's greeter (which refers to busybox and greeting) with a Nix database.
const NIX_DB: &str = r#"{ inputs, ... }:
let
  pkgs = inputs.nixpkgs;
in {
  jobs."/single" = pkgs.dockerTools.buildImage {
    name = "with-db";
    tag = "1";
    copyToRoot = [ pkgs.busybox pkgs.greeter ];
    includeNixDB = true;
    config.Cmd = [ "/bin/sh" "-c" "greet; ls /nix/var/nix/gcroots/docker" ];
  };
  jobs."/layered" = pkgs.dockerTools.buildLayeredImage {
    name = "with-db-layered";
    tag = "1";
    contents = [ pkgs.busybox pkgs.greeter ];
    includeNixDB = true;
    config.Cmd = [ "/bin/sh" "-c" "greet; ls /nix/var/nix/gcroots/docker" ];
  };
}
"#;

/// `nix-store` of the host, on the store whose root is `rootfs` (as a chroot into the
/// container would see it).
fn nix_store_in(rootfs: &Path, args: &[&str]) -> String {
    let out = run(Command::new("nix-store")
        .arg("--store")
        .arg(format!("local?root={}", rootfs.display()))
        .args(args));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn nix_store_host(args: &[&str]) -> String {
    String::from_utf8_lossy(&run(Command::new("nix-store").args(args)).stdout).into_owned()
}

#[test]
fn include_nix_db_registers_the_contents_closure() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("nixdb");
    write_project(&project, NIX_DB);
    for (job, name) in [("/single", "db-single"), ("/layered", "db-layered")] {
        let image = build(&sandbox, &project, job);
        let output = run_image(&sandbox, &format!("oci-archive:{}", image.display()), name);
        let mut lines = output.lines();
        assert_eq!(lines.next(), Some("hello from the stand-in nixpkgs"));
        let roots: Vec<&str> = lines.collect();
        assert_eq!(roots.len(), 2, "a gcroot per content: {output}");
        assert!(roots
            .iter()
            .all(|r| r.ends_with("-busybox-1.36.1") || r.ends_with("-greeter-1.0")));

        let rootfs = sandbox
            .dir
            .path()
            .join(format!("bundle-{name}"))
            .join("rootfs");
        let greeter = std::fs::read_link(
            rootfs.join("nix/var/nix/gcroots/docker").join(
                roots
                    .iter()
                    .find(|r| r.ends_with("-greeter-1.0"))
                    .expect("greeter"),
            ),
        )
        .expect("a gcroot link");
        let greeter = greeter.to_str().expect("utf-8");
        // The database holds the closure with the references and hashes Nix itself recorded.
        for query in [
            ["-q", "--references", greeter],
            ["-q", "--requisites", greeter],
            ["-q", "--hash", greeter],
        ] {
            assert_eq!(
                nix_store_in(&rootfs, &query),
                nix_store_host(&query),
                "{query:?}"
            );
        }
        // Nix checks every registered path's contents against its NAR hash.
        let verify = Command::new("nix-store")
            .arg("--store")
            .arg(format!("local?root={}", rootfs.display()))
            .args(["--verify", "--check-contents"])
            .output()
            .expect("nix-store runs");
        assert_success(&verify);
        assert!(
            !String::from_utf8_lossy(&verify.stderr).contains("modified"),
            "{}",
            String::from_utf8_lossy(&verify.stderr)
        );

        let again = Sandbox::new();
        assert_eq!(
            sha256_of(&build(&again, &project, job)),
            sha256_of(&image),
            "{job}"
        );
    }
}

/// Both attributes on makes-built contents, without Nix: `makeContainerImage`'s single layer.
const NATIVE: &str = r#"{ makeContainerImage, makeDerivation, ... }:
let
  base = makeDerivation {
    name = "base";
    builder = ''
      mkdir -p $out/usr/lib
      echo a > $out/usr/lib/a
      ln -s usr/lib $out/lib
    '';
  };
  extra = makeDerivation {
    name = "extra";
    builder = ''
      mkdir -p $out/lib
      echo b > $out/lib/b
    '';
  };
in {
  jobs."/image" = makeContainerImage {
    layered = false;
    layers = [ base extra ];
    keepContentsDirlinks = true;
    includeNixDB = true;
  };
}
"#;

#[test]
fn an_unprivileged_user_builds_the_same_image_with_both_attributes() {
    if !crate::common::running_as_root() || !have_tool("setpriv") {
        eprintln!("note: skipping: needs root to switch to an unprivileged user");
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("native");
    write_project(&project, NATIVE);
    let as_root = Sandbox::new();
    let expected = as_root.build(&project, "/image");
    let result = sandbox.build_as_nobody(&project, "/image");
    assert_eq!(sha256_of(&result), sha256_of(&expected));
    // `makes show` says what was asked for.
    let shown = run(sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["show", "/image"]));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("show prints JSON");
    assert_eq!(
        (&shown["includeNixDB"], &shown["keepContentsDirlinks"]),
        (&serde_json::json!(true), &serde_json::json!(true))
    );
    // The one layer holds the entries joined through the link, and the database.
    if !have_tool("skopeo") || !have_tool("umoci") {
        return;
    }
    let layout = sandbox.dir.path().join("layout");
    let rootfs = sandbox.dir.path().join("rootfs");
    run(Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci-archive:{}", expected.display()))
        .arg(format!("oci:{}:x", layout.display())));
    run(Command::new("umoci")
        .args(["raw", "unpack", "--image"])
        .arg(format!("{}:x", layout.display()))
        .arg(&rootfs));
    let names = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(rootfs.join(dir))
            .expect(dir)
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("usr/lib"), ["a", "b"]);
    assert!(std::fs::symlink_metadata(rootfs.join("lib"))
        .expect("lib")
        .file_type()
        .is_symlink());
    assert_eq!(names("nix/var/nix/db"), ["db.sqlite", "schema"]);
    assert_eq!(names("nix/var/nix/gcroots/docker").len(), 2);
}
