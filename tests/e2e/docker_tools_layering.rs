//! dockerTools' `layeringPipeline` on the stand-in package set: a `buildLayeredImage` whose
//! pipeline cuts busybox (and what it needs) out of the graph and ranks the rest by nixpkgs'
//! popularity contest, and a `streamLayeredImage` with nixpkgs' default pipeline written out.
//! The layers hold the store paths the pipeline says, in its order, read back from the archive;
//! the images run under runc; `makes show` shows the pipeline with its packages as store paths
//! (without building them: the paths `makes show` gives packages).
//!
//! The expected layers are traced by hand through nixpkgs' `flatten_references_graph` on the
//! stand-in's graph: greeter refers to busybox and greeting; busybox and greeting refer to
//! nothing.

use crate::common::{layer_store_paths, run, run_image, write_project, Sandbox};
use crate::docker_tools::{build, makes, tools};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const PROJECT: &str = r#"{ inputs, ... }:
let
  pkgs = inputs.nixpkgs;
in {
  jobs."/split" = pkgs.dockerTools.buildLayeredImage {
    name = "split";
    tag = "1";
    contents = [ pkgs.busybox pkgs.greeter ];
    config.Entrypoint = [ "/bin/sh" "-c" "greet; echo split" ];
    # maxLayers does not bound a pipeline's layers, as in nixpkgs.
    maxLayers = 2;
    layeringPipeline = [
      [ "subcomponent_out" [ pkgs.busybox ] ]
      [ "over" "rest" [ "pipe" [ [ "popularity_contest" ] [ "reverse" ] ] ] ]
    ];
  };
  jobs."/stream" = pkgs.dockerTools.streamLayeredImage {
    name = "stream";
    tag = "1";
    contents = [ pkgs.busybox pkgs.greeter ];
    config.Cmd = [ "/bin/sh" "-c" "greet; echo stream" ];
    layeringPipeline = [ [ "popularity_contest" ] [ "limit_layers" 2 ] ];
  };
  jobs."/bad" = pkgs.dockerTools.buildLayeredImage {
    name = "bad";
    contents = [ pkgs.greeter ];
    layeringPipeline = [ [ "split_paths" [ pkgs.greeter ] ] [ "over" "common" [ "flatten" ] ] ];
  };
}
"#;

/// Each layer's store paths by package name (the hash dropped), bottom first.
fn layer_names(archive: &Path) -> Vec<BTreeSet<String>> {
    layer_store_paths(archive)
        .into_iter()
        .map(|(_, paths)| {
            paths
                .into_iter()
                .map(|p| p.split_once('-').map(|(_, n)| n.to_owned()).unwrap_or(p))
                .collect()
        })
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn layering_pipeline_decides_the_layers() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("pipeline");
    write_project(&project, PROJECT);

    // subcomponent_out busybox: main is busybox alone (it refers to nothing), rest is greeter
    // and greeting. Their popularity contest puts greeting (below greeter) first, reversed
    // greeter first. Then the customisation layer: four layers, though maxLayers = 2.
    let split = build(&sandbox, &project, "/split");
    assert_eq!(
        layer_names(&split),
        vec![
            set(&["busybox-1.36.1"]),
            set(&["greeter-1.0"]),
            set(&["greeting-1.0"]),
            set(&[]),
        ]
    );
    assert_eq!(
        run_image(
            &sandbox,
            &format!("oci-archive:{}", split.display()),
            "split"
        ),
        "hello from the stand-in nixpkgs\nsplit\n"
    );

    // Another store, the same bytes.
    let again = Sandbox::new();
    assert_eq!(
        std::fs::read(build(&again, &project, "/split")).expect("read"),
        std::fs::read(&split).expect("read"),
        "the same image from another store"
    );

    // nixpkgs' default pipeline with 2 layers: busybox and greeting are equally popular (2:
    // under greeter), busybox first by name; the limit merges greeting and greeter.
    let stream = build(&sandbox, &project, "/stream");
    let saved = sandbox.dir.path().join("stream.tar");
    let streamed = Command::new(&stream)
        .stdout(std::fs::File::create(&saved).expect("create"))
        .status()
        .expect("the stream runs");
    assert!(streamed.success());
    let raw = run(Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("oci-archive:{}", saved.display())));
    let raw: serde_json::Value = serde_json::from_slice(&raw.stdout).expect("json");
    let layers = raw["layers"].as_array().expect("layers");
    assert_eq!(
        layers.len(),
        3,
        "two store layers and the customisation: {raw}"
    );
    assert_eq!(
        run_image(
            &sandbox,
            &format!("docker-archive:{}", saved.display()),
            "stream"
        ),
        "hello from the stand-in nixpkgs\nstream\n"
    );
    let unpacked = sandbox.dir.path().join("stream-layers");
    std::fs::create_dir_all(&unpacked).expect("mkdir");
    run(Command::new("tar")
        .arg("-xf")
        .arg(&saved)
        .arg("-C")
        .arg(&unpacked));
    let store_names = |digest: &str| -> BTreeSet<String> {
        let blob = unpacked
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        let mut tar = tar::Archive::new(std::fs::File::open(&blob).expect("a layer blob"));
        let mut names = BTreeSet::new();
        for e in tar.entries().expect("entries") {
            let e = e.expect("entry");
            let p = e.path().expect("path").to_string_lossy().into_owned();
            let parts: Vec<&str> = p.trim_end_matches('/').split('/').collect();
            if parts.len() == 3 && parts[..2] == ["nix", "store"] {
                names.insert(
                    parts[2]
                        .split_once('-')
                        .map_or(String::new(), |(_, n)| n.to_owned()),
                );
            }
        }
        names
    };
    let got: Vec<BTreeSet<String>> = layers
        .iter()
        .map(|l| store_names(l["digest"].as_str().expect("a digest")))
        .collect();
    assert_eq!(
        got,
        vec![
            set(&["busybox-1.36.1"]),
            set(&["greeter-1.0", "greeting-1.0"]),
            set(&[]),
        ]
    );

    // `makes show` shows the pipeline as nixpkgs' program reads it, packages as store paths.
    let shown = run(sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["show", "/split"]));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    let pipeline = &shown["layeringPipeline"];
    assert_eq!(pipeline[0][0], "subcomponent_out", "{shown}");
    assert!(
        pipeline[0][1][0]
            .as_str()
            .is_some_and(|p| p.starts_with("/nix/store/") && p.contains("-busybox")),
        "{shown}"
    );
    assert_eq!(
        pipeline[1],
        serde_json::json!([
            "over",
            "rest",
            ["pipe", [["popularity_contest"], ["reverse"]]]
        ])
    );

    // `over` a result the split did not give (greeter is the only root: all is `main`) is
    // an error naming the step, as nixpkgs' program fails on it.
    let out = makes(&sandbox)
        .arg("--project")
        .arg(&project)
        .arg("/bad")
        .output()
        .expect("makes runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("layeringPipeline, step 2 > over 'common': there is no 'common' result here (there are: main)"),
        "{err}"
    );
}
