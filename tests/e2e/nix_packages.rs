//! Packages from a package set: fixtures/nix-packages takes its packages from a
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

/// Nix and the tools that read and run images are installed (else the test is skipped, or
/// fails under MAKES_REQUIRE_TOOLS=1).
pub fn nix_and_image_tools() -> bool {
    ["nix-build", "skopeo", "umoci", "runc"]
        .iter()
        .all(|t| have_tool(t))
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
    if !nix_and_image_tools() {
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

/// A PATH with every program of the current one except Nix's (`nix`, `nix-build`, ...).
pub fn path_without_nix(sandbox: &Sandbox) -> String {
    let bin = sandbox.dir.path().join("bin-without-nix");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with("nix") || bin.join(&name).exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(entry.path(), bin.join(&name));
        }
    }
    bin.display().to_string()
}

/// A binary cache made by Nix (`nix copy --to file://...?secret-key=...`) of every path
/// `makes.lock.json` locks; returns the cache directory and its public key.
pub fn signed_cache(dir: &Path, lock_file: &Path, key_name: &str) -> (PathBuf, String) {
    let cache = dir.join("cache");
    let (sk, pk) = (dir.join("key.sec"), dir.join("key.pub"));
    run(Command::new("nix-store")
        .args(["--generate-binary-cache-key", key_name])
        .arg(&sk)
        .arg(&pk));
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lock_file).expect("lock")).expect("JSON");
    let paths: Vec<&String> = lock["paths"].as_object().expect("paths").keys().collect();
    run(Command::new("nix")
        .args([
            "--extra-experimental-features",
            "nix-command",
            "copy",
            "--to",
        ])
        .arg(format!(
            "file://{}?secret-key={}",
            cache.display(),
            sk.display()
        ))
        .args(paths));
    let key = std::fs::read_to_string(&pk).expect("public key");
    (cache, key.trim().to_owned())
}

/// `makes --packages lock` without Nix on PATH, substituting from `cache_url`.
fn makes_from_lock(
    sandbox: &Sandbox,
    project: &Path,
    cache_url: &str,
    key: &str,
) -> std::process::Output {
    sandbox
        .makes()
        .env("PATH", path_without_nix(sandbox))
        .args(["--packages", "lock", "--option", "substituters", cache_url])
        .args(["--option", "trusted-public-keys", key])
        .arg("--project")
        .arg(project)
        .arg("/greeter")
        .output()
        .expect("makes runs")
}

/// The base name of the locked output of `attr` (e.g. `greeter`).
fn locked_output(lock_file: &Path, attr: &str) -> makes_store::StorePath {
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lock_file).expect("lock")).expect("JSON");
    let entry = lock["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["attrPath"] == serde_json::json!([attr]))
        .expect("locked");
    let path = entry["outputs"]["out"].as_str().expect("out path");
    makes_store::StorePath::parse(path).expect("store path")
}

#[test]
fn without_nix_the_lock_file_and_a_signed_cache_give_the_same_image() {
    if !nix_and_image_tools() {
        return;
    }
    // With Nix: the image, and the lock file.
    let with_nix = Sandbox::new();
    let project = project(&with_nix);
    let reference = build(
        makes_with_nix(&with_nix).args(["--packages", "nix"]),
        &project,
        "/greeter",
    );
    run(makes_with_nix(&with_nix)
        .arg("--project")
        .arg(&project)
        .arg("lock"));
    let lock_file = project.join("makes.lock.json");
    let (cache, key) = signed_cache(with_nix.dir.path(), &lock_file, "makes-e2e-1");
    let server = crate::cache_harness::CacheServer::start(&cache);

    // Without Nix, in a new store: substituted, then built to the same bytes.
    let without = Sandbox::new();
    let out = makes_from_lock(&without, &project, &server.url, &key);
    assert_success(&out);
    let archive = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
    assert_eq!(
        std::fs::read(&archive).expect("archive"),
        std::fs::read(&reference).expect("reference"),
        "the image built from the lock differs from the one built with Nix"
    );
    let requests = server.requests();
    let greeter = locked_output(&lock_file, "greeter");
    assert!(
        requests
            .iter()
            .any(|r| r.contains(&format!("{}.narinfo", greeter.hash))),
        "{requests:?}"
    );
    let stdout = run_image(
        &without,
        &format!("oci-archive:{}", archive.display()),
        "lock",
    );
    assert_eq!(stdout, "hello from the stand-in nixpkgs\n");

    // A second build downloads nothing.
    let before = server.requests().len();
    assert_success(&makes_from_lock(&without, &project, &server.url, &key));
    assert_eq!(server.requests().len(), before);

    // The cache and its key from makes.conf instead of --option.
    let configured = Sandbox::new();
    let config = configured.dir.path().join("config");
    std::fs::create_dir_all(config.join("makes")).expect("config dir");
    std::fs::write(
        config.join("makes/makes.conf"),
        format!(
            "# binary caches\nsubstituters = {}\ntrusted-public-keys = {key}\n",
            server.url
        ),
    )
    .expect("makes.conf");
    let out = configured
        .makes()
        .env("PATH", path_without_nix(&configured))
        .env("XDG_CONFIG_HOME", &config)
        .args(["--packages", "lock", "--project"])
        .arg(&project)
        .arg("/greeter")
        .output()
        .expect("makes runs");
    assert_success(&out);
    let archive = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
    assert_eq!(
        std::fs::read(&archive).expect("archive"),
        std::fs::read(&reference).expect("reference")
    );
}

#[test]
fn the_default_package_set_is_makes_own_never_nix_path() {
    if !nix_and_image_tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("default-set");
    crate::common::write_project(
        &project,
        r#"{ inputs, makeContainerImage, __nixpkgs__, ... }: {
  jobs."/greeter" = makeContainerImage {
    layers = [ inputs.nixpkgs.greeter __nixpkgs__.tools.lister ];
    config.Entrypoint = [ "${inputs.nixpkgs.greeter}/bin/greet" ];
  };
}"#,
    );
    let stand_in = fixture("nix-packages").join("stand-in-nixpkgs");
    let archive = build(
        makes_with_nix(&sandbox)
            .env("NIX_PATH", "nixpkgs=/nonexistent")
            .env("MAKES_NIXPKGS", &stand_in)
            .args(["--packages", "nix"]),
        &project,
        "/greeter",
    );
    let stdout = run_image(
        &sandbox,
        &format!("oci-archive:{}", archive.display()),
        "default",
    );
    assert_eq!(stdout, "hello from the stand-in nixpkgs\n");

    // Without the setting, NIX_PATH's <nixpkgs> is not it: makes' pinned nixpkgs is.
    let out = run(sandbox
        .makes()
        .env("NIX_PATH", format!("nixpkgs={}", stand_in.display()))
        .arg("--project")
        .arg(&project)
        .args(["show", "/greeter"]));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        doc["contents"][0]["packageSet"]
            .as_str()
            .is_some_and(|s| s.starts_with("github:nixos/nixpkgs/")),
        "{doc}"
    );
}

#[test]
fn fetch_nixpkgs_pins_the_set_it_names() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("pinned");
    crate::common::write_project(
        &project,
        r#"{ inputs, fetchNixpkgs, makeContainerImage, ... }: {
  inputs.nixpkgs = fetchNixpkgs {
    rev = "0123456789abcdef0123456789abcdef01234567";
    sha256 = "0000000000000000000000000000000000000000000000000000";
    allowUnfree = false;
  };
  jobs."/python" = makeContainerImage {
    layers = [ inputs.nixpkgs.python3Packages.requests inputs.nixpkgs.pkgsStatic.busybox ];
  };
}"#,
    );
    let out = run(sandbox
        .makes()
        .env("PATH", "/nonexistent")
        .arg("--project")
        .arg(&project)
        .args(["show", "/python"]));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let set = "github:nixos/nixpkgs/0123456789abcdef0123456789abcdef01234567?sha256=0000000000000000000000000000000000000000000000000000 allowUnfree=false";
    assert_eq!(doc["contents"][0]["package"], "python3Packages.requests");
    assert_eq!(doc["contents"][0]["packageSet"], set);
    assert_eq!(doc["contents"][1]["package"], "pkgsStatic.busybox");

    // Overlays are part of the set's identity: a function by its source, a file by its path.
    std::fs::write(
        project.join("makes.nix"),
        r#"{ inputs, fetchNixpkgs, makeContainerImage, ... }: {
  inputs.nixpkgs = fetchNixpkgs {
    rev = "r";
    sha256 = "s";
    overlays = [ (self: super: { }) ./overlay.nix ];
  };
  jobs."/x" = makeContainerImage { layers = [ inputs.nixpkgs.hello ]; };
}"#,
    )
    .expect("write");
    let out = run(sandbox
        .makes()
        .env("PATH", "/nonexistent")
        .arg("--project")
        .arg(&project)
        .args(["show", "/x"]));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let set = doc["contents"][0]["packageSet"].as_str().expect("set");
    assert!(
        set.starts_with("github:nixos/nixpkgs/r?sha256=s overlay=sha256:")
            && set.ends_with(" overlay=./overlay.nix"),
        "{set}"
    );
}

#[test]
fn a_lock_file_path_that_is_no_store_path_is_named_with_its_file_and_entry() {
    // No Nix and no cache: the lock file is read, and refused, before anything is resolved.
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let good = "/nix/store/p9lyihcj2i0crskix4310fgj57yhgs5c-greeter";
    let lock_file = project.join("makes.lock.json");
    for (reference, entry) in [
        ("/etc/passwd", format!("paths[{good:?}].references[0]")),
        (
            "/nix/store/p9lyihcj2i0crskix4310fgj57yhgs5c-../../x",
            format!("paths[{good:?}].references[0]"),
        ),
    ] {
        let lock = serde_json::json!({
            "version": 1,
            "packages": [{
                "set": "<nixpkgs>", "attrPath": ["greeter"], "name": "greeter",
                "outputName": "out", "outputs": { "out": good },
            }],
            "paths": { good: { "narHash": "sha256:0", "narSize": 1, "references": [reference] } },
        });
        std::fs::write(&lock_file, lock.to_string()).expect("lock written");
        let out = sandbox
            .makes()
            .env("PATH", path_without_nix(&sandbox))
            .args(["--packages", "lock", "--project"])
            .arg(&project)
            .arg("/greeter")
            .output()
            .expect("makes runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&lock_file.display().to_string())
                && stderr.contains(&entry)
                && stderr.contains("is not a store path")
                && stderr.contains("run `makes lock` again"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn bad_caches_fail_clearly_and_leave_nothing_in_the_store() {
    if !have_tool("nix-build") {
        return;
    }
    let with_nix = Sandbox::new();
    let project = project(&with_nix);
    run(makes_with_nix(&with_nix)
        .arg("--project")
        .arg(&project)
        .arg("lock"));
    let lock_file = project.join("makes.lock.json");
    let (cache, key) = signed_cache(with_nix.dir.path(), &lock_file, "makes-e2e-1");
    let greeter = locked_output(&lock_file, "greeter");
    let narinfo = |dir: &Path| dir.join(format!("{}.narinfo", greeter.hash));

    // A copy of the cache whose greeter NAR has one byte of its script changed (still a valid
    // xz file and a valid NAR: only the NAR hash can tell).
    let tampered = with_nix.dir.path().join("tampered");
    copy_tree(&cache, &tampered);
    let text = std::fs::read_to_string(narinfo(&tampered)).expect("narinfo");
    let url = text
        .lines()
        .find_map(|l| l.strip_prefix("URL: "))
        .expect("URL");
    let nar = tampered.join(url);
    let raw = run(Command::new("xz").arg("-dc").arg(&nar)).stdout;
    let at = raw
        .windows(6)
        .position(|w| w == b"exec /")
        .expect("the script in the NAR");
    let mut changed = raw.clone();
    changed[at + 1] = b'X';
    let raw_file = with_nix.dir.path().join("changed.nar");
    std::fs::write(&raw_file, changed).expect("write");
    let xz = run(Command::new("xz").arg("-c").arg(&raw_file)).stdout;
    std::fs::write(&nar, xz).expect("write");
    // A copy whose greeter narinfo carries a signature that does not verify.
    let bad_sig = with_nix.dir.path().join("bad-signature");
    copy_tree(&cache, &bad_sig);
    let text = std::fs::read_to_string(narinfo(&bad_sig)).expect("narinfo");
    let forged: String = text
        .lines()
        .map(|l| match l.strip_prefix("Sig: ") {
            Some(sig) => {
                let (name, b64) = sig.split_once(':').expect("NAME:SIG");
                let flipped = if b64.starts_with('A') { "B" } else { "A" };
                format!("Sig: {name}:{flipped}{}\n", &b64[1..])
            }
            None => format!("{l}\n"),
        })
        .collect();
    std::fs::write(narinfo(&bad_sig), forged).expect("write");
    let other_key = {
        let dir = with_nix.dir.path().join("other");
        std::fs::create_dir_all(&dir).expect("dir");
        signed_cache(&dir, &lock_file, "makes-e2e-other").1
    };

    let good = crate::cache_harness::CacheServer::start(&cache);
    let tampered = crate::cache_harness::CacheServer::start(&tampered);
    let bad_sig = crate::cache_harness::CacheServer::start(&bad_sig);
    let cases: [(&str, &str, &str, &[&str]); 4] = [
        (
            "tampered NAR",
            &tampered.url,
            &key,
            &["greeter", "does not match"],
        ),
        (
            "wrong signature",
            &bad_sig.url,
            &key,
            &["greeter", "signature"],
        ),
        ("untrusted key", &good.url, &other_key, &["untrusted"]),
        (
            "unreachable cache",
            "http://127.0.0.1:1",
            &key,
            &["127.0.0.1:1"],
        ),
    ];
    for (what, url, key, words) in cases {
        let sandbox = Sandbox::new();
        let out = makes_from_lock(&sandbox, &project, url, key);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(out.stdout.is_empty(), "{what}");
        for word in words {
            assert!(stderr.contains(word), "{what}: no '{word}' in {stderr}");
        }
        // Nothing of the failed path, no staging left, no record without contents.
        let store = makes_store::LocalStore::open(sandbox.store()).expect("store");
        crate::cache_harness::assert_nothing_left(&store, &[&greeter]);
    }
}

#[test]
fn make_script_runs_its_entrypoint_with_its_search_paths() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("script");
    let stand_in = fixture("nix-packages").join("stand-in-nixpkgs");
    crate::common::write_project(
        &project,
        &format!(
            r#"{{ inputs, makeScript, ... }}: {{
  inputs.nixpkgs = {};
  jobs."/hello" = makeScript {{
    name = "hello";
    aliases = [ "hi" ];
    replace.__argWho__ = "world";
    searchPaths.bin = [ inputs.nixpkgs.greeter ];
    entrypoint = ''
      info "Hello, __argWho__"
      echo "args: $*"
      echo "home: $HOME_IMPURE"
      test -d "$STATE"
      greet
    '';
  }};
}}"#,
            stand_in.display()
        ),
    );
    // makes' own set (bash, coreutils) is the host's tools; the greeter is the stand-in's.
    let makes_set = crate::common::host_tools_nixpkgs(&sandbox);
    let out = build(
        makes_with_nix(&sandbox)
            .env("MAKES_NIXPKGS", &makes_set)
            .args(["--packages", "nix", "--no-run"]),
        &project,
        "/hello",
    );
    let text = std::fs::read_to_string(out.join("bin/hello")).expect("the script");
    assert!(text.starts_with("#! /nix/store/"), "{text}");
    assert_eq!(
        std::fs::read(out.join("bin/hi")).expect("alias"),
        text.as_bytes()
    );
    let run_out = makes_with_nix(&sandbox)
        .env("MAKES_NIXPKGS", &makes_set)
        .current_dir(&project)
        .args(["--packages", "nix", ".", "/hello", "a", "b"])
        .output()
        .expect("makes runs");
    assert_success(&run_out);
    assert_eq!(
        String::from_utf8_lossy(&run_out.stdout),
        format!(
            "args: a b\nhome: {}\nhello from the stand-in nixpkgs\n",
            sandbox.dir.path().display()
        )
    );
    assert!(String::from_utf8_lossy(&run_out.stderr).contains("[INFO] Hello, world"));
}

#[test]
fn lib_is_nixpkgs_lib_evaluated_by_makes() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("lib");
    crate::common::write_project(
        &project,
        r#"{ inputs, lib, makeContainerImage, ... }: {
  jobs."/x" = makeContainerImage {
    name = lib.strings.toLower "ABC";
    tag = inputs.nixpkgs.lib.concatStringsSep "-" [ "a" "b" ];
    layers = lib.optionals true [ inputs.nixpkgs.greeter ];
  };
}"#,
    );
    let stand_in = fixture("nix-packages").join("stand-in-nixpkgs");
    // Neither Nix nor a lock file: lib is read from the set's lib/ by makes itself.
    let out = run(sandbox
        .makes()
        .env("PATH", "/nonexistent")
        .env("MAKES_NIXPKGS", &stand_in)
        .arg("--project")
        .arg(&project)
        .args(["show", "/x"]));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["name"], "abc");
    assert_eq!(doc["tag"], "a-b");
    assert_eq!(doc["contents"][0]["package"], "greeter");

    // Without Nix or the setting, the lib of makes' pinned nixpkgs names what it needs.
    let out = sandbox
        .makes()
        .env("PATH", "/nonexistent")
        .arg("--project")
        .arg(&project)
        .args(["show", "/x"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read nixpkgs' lib of the package set github:nixos/nixpkgs/"),
        "{stderr}"
    );
    assert!(stderr.contains("nixpkgs"), "{stderr}");
}
