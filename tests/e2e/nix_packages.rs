//! Issue 7, packages from a package set: fixtures/nix-packages takes its packages from a
//! stand-in for nixpkgs (plain derivations that depend on each other). With backend "nix"
//! the real Nix builds them; `makes lock` records them; with Nix hidden and only the lock
//! file, the same image is built by substitution from a real signed binary cache.

use crate::common::{
    assert_success, copy_tree, fixture, have_tool, layer_store_paths, run, run_image, Sandbox,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the fixture (lock files are written into it).
pub fn project(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.path().join("project");
    copy_tree(&fixture("nix-packages"), &dir);
    dir
}

/// `makes` with Nix's substituters off (the stand-in packages are built, never fetched).
pub fn makes_with_nix(sandbox: &Sandbox) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env("NIX_CONFIG", "substituters =");
    cmd
}

fn build(cmd: &mut Command, project: &Path, job: &str) -> PathBuf {
    let out = cmd
        .arg("--project")
        .arg(project)
        .arg(job)
        .output()
        .expect("makes runs");
    assert_success(&out);
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    PathBuf::from(stdout.trim_end())
}

/// The store paths (base names) of the closure of `path` in Nix's store.
fn nix_closure(path: &str) -> BTreeSet<String> {
    let out = run(Command::new("nix-store").args(["--query", "--requisites", path]));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_start_matches("/nix/store/").to_owned())
        .collect()
}

fn nix_out_path(project: &Path, attr: &str) -> String {
    let expr = format!(
        "(import {}/stand-in-nixpkgs {{ }}).{attr}.outPath",
        project.display()
    );
    let out = run(Command::new("nix-instantiate").args(["--eval", "--json", "--expr", &expr]));
    serde_json::from_slice(&out.stdout).expect("a JSON string")
}

#[test]
fn nix_backend_builds_the_packages_and_the_image_runs() {
    if !(have_tool("nix-build") && have_tool("skopeo") && have_tool("umoci") && have_tool("runc")) {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let archive = build(
        makes_with_nix(&sandbox).args(["--packages", "nix"]),
        &project,
        "/greeter",
    );
    // The entrypoint runs the stand-in's greeter, which needs busybox and greeting.
    let stdout = run_image(
        &sandbox,
        &format!("oci-archive:{}", archive.display()),
        "nix",
    );
    assert_eq!(stdout, "hello from the stand-in nixpkgs\n");

    // The image holds the closures Nix computed, each path exactly once.
    let mut expected = BTreeSet::new();
    for attr in ["greeter", "tools.lister", "manual.doc", "bash"] {
        expected.extend(nix_closure(&nix_out_path(&project, attr)));
    }
    let layers = layer_store_paths(&archive);
    let mut seen = BTreeSet::new();
    for (_, paths) in &layers {
        for p in paths {
            assert!(seen.insert(p.clone()), "{p} is in two layers");
        }
    }
    assert!(
        expected.is_subset(&seen),
        "missing from the image: {:?}",
        expected.difference(&seen).collect::<Vec<_>>()
    );
    // Besides the packages (bash is the shebang of the script): only the script itself.
    let extra: Vec<&String> = seen.difference(&expected).collect();
    assert!(
        extra.iter().all(|p| p.ends_with("-hello")),
        "unexpected paths: {extra:?}"
    );
}

#[test]
fn show_keeps_package_references_symbolic_without_nix_or_lock() {
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    // No Nix on PATH, no lock file: show still reads and validates the whole job.
    let out = sandbox
        .makes()
        .env("PATH", "/nonexistent")
        .arg("--project")
        .arg(&project)
        .args(["show", "/greeter"])
        .output()
        .expect("runs");
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        doc["contents"][0],
        serde_json::json!({
            "package": "greeter",
            "packageSet": "path:./stand-in-nixpkgs",
            "output": "out",
            "outPath": null,
        })
    );
    assert_eq!(doc["contents"][1]["package"], "tools.lister");
    assert!(doc["contents"][2]
        .as_str()
        .is_some_and(|p| p.ends_with("-hello")));
    let used: Vec<&str> = doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| p["package"].as_str().expect("name"))
        .collect();
    // bash is the runtimeShell of writeShellScriptBin.
    // Unresolved, `manual.doc` cannot be told from a package named `doc` in a set `manual`.
    assert_eq!(used, ["bash", "greeter", "manual.doc", "tools.lister"]);
    assert_eq!(doc["outPath"], serde_json::Value::Null);
}

#[test]
fn makes_lock_records_each_package_and_its_closure_as_nix_does() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let out = run(makes_with_nix(&sandbox)
        .arg("--project")
        .arg(&project)
        .arg("lock"));
    let lock_path = project.join("makes.lock.json");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        lock_path.display().to_string()
    );
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&lock_path).expect("lock file")).expect("JSON");
    assert_eq!(lock["version"], 1);
    let packages = lock["packages"].as_array().expect("packages");
    let names: Vec<String> = packages
        .iter()
        .map(|p| {
            let path: Vec<&str> = p["attrPath"]
                .as_array()
                .expect("attrPath")
                .iter()
                .map(|s| s.as_str().expect("name"))
                .collect();
            path.join(".")
        })
        .collect();
    assert_eq!(names, ["bash", "greeter", "manual", "tools.lister"]);
    for p in packages {
        assert_eq!(p["set"], "path:./stand-in-nixpkgs");
    }
    let manual = &packages[2];
    assert_eq!(manual["name"], "manual-2.0");
    assert_eq!(manual["outputName"], "out");
    // Only the output the job uses is locked.
    assert_eq!(
        manual["outputs"],
        serde_json::json!({ "doc": nix_out_path(&project, "manual.doc") })
    );
    // Every closure path, with what Nix says of it.
    let paths = lock["paths"].as_object().expect("paths");
    let mut expected = BTreeSet::new();
    for attr in ["greeter", "tools.lister", "manual.doc", "bash"] {
        expected.extend(nix_closure(&nix_out_path(&project, attr)));
    }
    let locked: BTreeSet<String> = paths
        .keys()
        .map(|p| p.trim_start_matches("/nix/store/").to_owned())
        .collect();
    assert_eq!(locked, expected);
    for (path, info) in paths {
        let hash = run(Command::new("nix-store").args(["--query", "--hash", path]));
        assert_eq!(
            info["narHash"].as_str(),
            Some(String::from_utf8_lossy(&hash.stdout).trim()),
            "{path}"
        );
        let size = run(Command::new("nix-store").args(["--query", "--size", path]));
        assert_eq!(
            info["narSize"].to_string(),
            String::from_utf8_lossy(&size.stdout).trim(),
            "{path}"
        );
        let refs = run(Command::new("nix-store").args(["--query", "--references", path]));
        let mut refs: Vec<String> = String::from_utf8_lossy(&refs.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        refs.sort();
        assert_eq!(info["references"], serde_json::json!(refs), "{path}");
    }
    // Locking again gives the same bytes.
    let before = std::fs::read(&lock_path).expect("lock");
    run(makes_with_nix(&sandbox)
        .arg("--project")
        .arg(&project)
        .arg("lock"));
    assert_eq!(std::fs::read(&lock_path).expect("lock"), before);
}
