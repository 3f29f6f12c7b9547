//! dockerTools attributes beyond the common ones, on the stand-in package set: `buildImage`'s
//! `keepContentsDirlinks` (contents joined through the root's links to directories, as
//! `rsync --keep-dirlinks` copies), run under runc and byte-identical across two stores.

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
