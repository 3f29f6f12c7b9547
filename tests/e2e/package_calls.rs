//! Functions of a package set called by its backend (fixtures/package-calls): with backend
//! "nix" Nix makes the calls (`stdenv.mkDerivation`, `overrideAttrs` with a function written
//! in the project, `linkFarm`, `fetchurl`) and gets the store paths Nix itself gets for the
//! same Nix code; `makes lock` records them, and without Nix the lock file and a binary
//! cache give the same image. Package sets answer `?` and `or` as Nix; without a backend,
//! a call names the function, where it is called, and the ways out.

use crate::common::{
    assert_success, copy_tree, fixture, layer_store_paths, run, run_image, Sandbox,
};
use crate::nix_packages::{nix_and_image_tools, path_without_nix, signed_cache};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Nix builds the stand-in packages from the host's files, without build users.
const NIX_CONFIG: &str = "substituters =\nbuild-users-group =\nsandbox = false";

/// A copy of the fixture with the stand-in nixpkgs beside its makes.nix.
fn project(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.path().join("project");
    copy_tree(&fixture("package-calls"), &dir);
    copy_tree(
        &fixture("nix-packages").join("stand-in-nixpkgs"),
        &dir.join("stand-in-nixpkgs"),
    );
    dir
}

fn makes_with_nix(sandbox: &Sandbox, project: &Path) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env("NIX_CONFIG", NIX_CONFIG)
        .args(["--packages", "nix", "--project"])
        .arg(project);
    cmd
}

fn makes_from_lock(sandbox: &Sandbox, project: &Path, cache: &str, key: &str) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env("PATH", path_without_nix(sandbox))
        .args(["--packages", "lock", "--option", "substituters", cache])
        .args(["--option", "trusted-public-keys", key, "--project"])
        .arg(project);
    cmd
}

fn printed_path(out: &Output) -> PathBuf {
    assert_success(out);
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end())
}

/// What Nix itself makes of `expr` (Nix code in the project directory, `pkgs` bound to the
/// stand-in): the JSON of its strict value.
fn nix_eval(project: &Path, expr: &str) -> serde_json::Value {
    let expr = format!("let pkgs = import ./stand-in-nixpkgs {{ }}; in {expr}");
    let out = run(Command::new("nix-instantiate")
        .current_dir(project)
        .env("NIX_CONFIG", NIX_CONFIG)
        .args(["--eval", "--strict", "--json", "--expr", &expr]));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The `ANSWERS` of the job /answers as `makes show` prints it.
fn shown_answers(out: &Output) -> serde_json::Value {
    assert_success(out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let env = doc["config"]["Env"][0].as_str().expect("an Env entry");
    serde_json::from_str(env.strip_prefix("ANSWERS=").expect("ANSWERS")).expect("JSON answers")
}

#[test]
fn calls_build_with_nix_and_from_the_lock_to_the_same_image() {
    if !nix_and_image_tools() {
        return;
    }
    let with_nix = Sandbox::new();
    let project = project(&with_nix);
    let reference = printed_path(
        &makes_with_nix(&with_nix, &project)
            .arg("/tool")
            .output()
            .expect("runs"),
    );
    // The override runs, with the project file and the packages its function captured.
    let stdout = run_image(
        &with_nix,
        &format!("oci-archive:{}", reference.display()),
        "nix",
    );
    assert_eq!(
        stdout,
        "made by stdenv.mkDerivation\na message from the project\nhello from the stand-in nixpkgs\n"
    );
    // The store paths are those Nix gets for the same Nix code.
    let expected = nix_eval(
        &project,
        "map (p: p.outPath) (with import ./packages.nix { inherit pkgs; }; [ farm renamed ])",
    );
    let in_image: Vec<String> = layer_store_paths(&reference)
        .into_iter()
        .flat_map(|(_, paths)| paths)
        .collect();
    for path in expected.as_array().expect("a list") {
        let base = path
            .as_str()
            .and_then(|p| p.strip_prefix("/nix/store/"))
            .expect("a store path");
        assert!(
            in_image.iter().any(|p| p == base),
            "{base} not in {in_image:?}"
        );
    }

    // makes lock records the calls; without Nix, the same image from a binary cache.
    assert_success(
        &makes_with_nix(&with_nix, &project)
            .arg("lock")
            .output()
            .expect("runs"),
    );
    let lock_file = project.join("makes.lock.json");
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&lock_file).expect("lock")).expect("JSON");
    let called: Vec<&serde_json::Value> = lock["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["attrPath"][0] == "stdenv" || p["attrPath"][0] == "linkFarm")
        .collect();
    assert_eq!(called.len(), 2, "{lock:#}");
    assert_eq!(called[1]["attrPath"][1], "mkDerivation");
    assert_eq!(called[1]["attrPath"][3], "overrideAttrs");
    assert!(called[1]["attrPath"][4]["call"].is_string());
    let (cache, key) = signed_cache(with_nix.dir.path(), &lock_file, "makes-e2e-calls");
    let server = crate::cache_harness::CacheServer::start(&cache);
    let without = Sandbox::new();
    let archive = printed_path(
        &makes_from_lock(&without, &project, &server.url, &key)
            .arg("/tool")
            .output()
            .expect("runs"),
    );
    assert_eq!(
        std::fs::read(&archive).expect("archive"),
        std::fs::read(&reference).expect("reference"),
        "the image built from the lock differs from the one built with Nix"
    );

    // A project file the call reads changed: the lock no longer records that call.
    std::fs::write(project.join("message.txt"), "another message\n").expect("edit");
    let out = makes_from_lock(&without, &project, &server.url, &key)
        .arg("/tool")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot call 'stdenv.mkDerivation'") && stderr.contains("does not lock"),
        "{stderr}"
    );
}

#[test]
fn package_sets_answer_has_attr_and_or_as_nix_does() {
    if !nix_and_image_tools() {
        return;
    }
    let with_nix = Sandbox::new();
    let project = project(&with_nix);
    let expected = nix_eval(&project, "import ./answers.nix { inherit pkgs; }");
    assert_eq!(expected[0], false, "{expected}");
    let shown = shown_answers(
        &makes_with_nix(&with_nix, &project)
            .args(["show", "/answers"])
            .output()
            .expect("runs"),
    );
    assert_eq!(shown, expected);

    // The lock file keeps the answers: the same without Nix.
    assert_success(
        &makes_with_nix(&with_nix, &project)
            .args(["lock", "/answers"])
            .output()
            .expect("runs"),
    );
    let lock_file = project.join("makes.lock.json");
    let (cache, key) = signed_cache(with_nix.dir.path(), &lock_file, "makes-e2e-answers");
    let server = crate::cache_harness::CacheServer::start(&cache);
    let without = Sandbox::new();
    let shown = shown_answers(
        &makes_from_lock(&without, &project, &server.url, &key)
            .args(["show", "/answers"])
            .output()
            .expect("runs"),
    );
    assert_eq!(shown, expected);
}

#[test]
fn without_a_backend_a_call_names_the_function_its_place_and_the_ways_out() {
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let out = sandbox
        .makes()
        .env("PATH", "/nonexistent")
        .arg("--project")
        .arg(&project)
        .arg("/tool")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for wanted in [
        "cannot call 'stdenv.mkDerivation' of the package set path:./stand-in-nixpkgs",
        "packages.nix:6:",
        "install Nix",
        "run `makes lock` where Nix is installed",
        "MAKES_NIXPKGS",
    ] {
        assert!(stderr.contains(wanted), "{wanted:?} not in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");

    // show needs no backend: the call stays a symbolic reference.
    let out = sandbox
        .makes()
        .env("PATH", "/nonexistent")
        .arg("--project")
        .arg(&project)
        .args(["show", "/tool"])
        .output()
        .expect("runs");
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let packages: Vec<&str> = doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| p["package"].as_str())
        .collect();
    assert!(
        packages.contains(&"linkFarm (…) (…)")
            && packages.contains(&"stdenv.mkDerivation (…).overrideAttrs (…)"),
        "{packages:?}"
    );
}

#[test]
fn the_corpus_pattern_of_nixpkgs_function_calls_builds_with_nix() {
    if !nix_and_image_tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("calls");
    copy_tree(&fixture("corpus-patterns/nixpkgs-function-calls"), &project);
    let stand_in = fixture("nix-packages").join("stand-in-nixpkgs");
    for (job, name) in [("/derivation", "-x"), ("/override", "-hello-2.12")] {
        let out = sandbox
            .makes()
            .env("NIX_CONFIG", NIX_CONFIG)
            .env("MAKES_NIXPKGS", &stand_in)
            .args(["--packages", "nix", "--project"])
            .arg(&project)
            .arg(job)
            .output()
            .expect("runs");
        let path = printed_path(&out);
        assert!(
            path.to_string_lossy().ends_with(name),
            "{job}: {}",
            path.display()
        );
    }
}

#[test]
fn listing_jobs_asks_nix_nothing_about_packages() {
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    // A Nix that logs what it is asked (and answers only --version).
    let bin = sandbox.dir.path().join("logging-nix");
    std::fs::create_dir_all(&bin).expect("bin");
    let log = sandbox.dir.path().join("nix-calls.log");
    let fake = bin.join("nix-instantiate");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\n[ \"$1\" = --version ] && echo 'nix-instantiate (Nix) 2.8.0'\n",
            log.display()
        ),
    )
    .expect("fake nix");
    let mut perms = std::fs::metadata(&fake).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake, perms).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sandbox
        .makes()
        .env("PATH", path)
        .arg("--project")
        .arg(&project)
        .arg("--list")
        .output()
        .expect("runs");
    assert_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/answers\n/tool\n");
    let asked = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        asked.lines().all(|l| l == "--version"),
        "--list asked Nix: {asked}"
    );
}

/// fixtures/package-calls-handed with the stand-in nixpkgs beside its makes.nix (also makes'
/// own set, so that makeScript's bash is a package of the same set).
fn handed_project(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.path().join("handed");
    copy_tree(&fixture("package-calls-handed"), &dir);
    copy_tree(
        &fixture("nix-packages").join("stand-in-nixpkgs"),
        &dir.join("stand-in-nixpkgs"),
    );
    dir
}

/// What `nix-store --query FLAG path` prints, trimmed.
fn nix_query(flag: &str, path: &str) -> String {
    let out = run(Command::new("nix-store").args(["--query", flag, path]));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn paths_makes_builds_are_handed_to_nix_and_locked_with_their_contents() {
    if !nix_and_image_tools() {
        return;
    }
    let with_nix = Sandbox::new();
    let project = handed_project(&with_nix);
    let stand_in = project.join("stand-in-nixpkgs");
    let nix_makes = |sandbox: &Sandbox| {
        let mut cmd = makes_with_nix(sandbox, &project);
        cmd.env("MAKES_NIXPKGS", &stand_in);
        cmd
    };

    // Nix makes the call with the script, the template and the project directory makes
    // built: it has them in its store, as makes has them.
    let call = printed_path(&nix_makes(&with_nix).arg("/call").output().expect("runs"));
    let call_name = call
        .file_name()
        .expect("a name")
        .to_string_lossy()
        .into_owned();
    let in_nix = format!("/nix/store/{call_name}");
    let references = nix_query("--references", &in_nix);
    let greet = references
        .lines()
        .find(|l| l.ends_with("-greet"))
        .unwrap_or_else(|| panic!("the call's output refers to makes' script: {references}"))
        .to_owned();
    let greet_in_makes = with_nix
        .store()
        .join("store")
        .join(greet.trim_start_matches("/nix/store/"));
    assert!(
        greet_in_makes.join("bin/greet").is_file(),
        "makes built {greet}"
    );
    // Nix has the same contents as makes' store.
    let makes_hash = format!(
        "sha256:{}",
        String::from_utf8_lossy(
            &run(Command::new("nix-hash")
                .args(["--type", "sha256", "--base32"])
                .arg(&greet_in_makes))
            .stdout
        )
        .trim()
    );
    assert_eq!(nix_query("--hash", &greet), makes_hash);
    assert!(makes_hash.starts_with("sha256:"), "{makes_hash}");

    // The image runs the script makes built from inside what Nix built.
    let reference = printed_path(&nix_makes(&with_nix).arg("/tool").output().expect("runs"));
    let stdout = run_image(
        &with_nix,
        &format!("oci-archive:{}", reference.display()),
        "handed",
    );
    assert_eq!(
        stdout,
        "a script makes built\na message from the project\na template makes wrote\n"
    );

    // makes lock records the call with the contents of the paths makes built for it.
    assert_success(&nix_makes(&with_nix).arg("lock").output().expect("runs"));
    let lock_file = project.join("makes.lock.json");
    let mut lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&lock_file).expect("lock")).expect("JSON");
    let (index, locked_call) = lock["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .enumerate()
        .find(|(_, p)| p["attrPath"][1] == "mkDerivation")
        .expect("the call is locked");
    let inputs = locked_call["inputs"].as_object().expect("inputs").clone();
    assert_eq!(
        inputs.len(),
        3,
        "script, template, project directory: {inputs:?}"
    );
    assert_eq!(inputs[&greet], makes_hash);

    // Without Nix, from a cache that lacks what makes builds itself: the same image.
    let handed: Vec<String> = inputs.keys().cloned().collect();
    let cache_lock = with_nix.dir.path().join("cache-lock.json");
    let mut cached = lock.clone();
    if let Some(paths) = cached["paths"].as_object_mut() {
        paths.retain(|p, _| !handed.contains(p));
    }
    std::fs::write(&cache_lock, serde_json::to_vec(&cached).expect("JSON")).expect("write");
    let (cache, key) = signed_cache(with_nix.dir.path(), &cache_lock, "makes-e2e-handed");
    let server = crate::cache_harness::CacheServer::start(&cache);
    let without = Sandbox::new();
    let from_lock = |sandbox: &Sandbox| {
        let mut cmd = makes_from_lock(sandbox, &project, &server.url, &key);
        cmd.env("MAKES_NIXPKGS", &stand_in);
        cmd
    };
    let archive = printed_path(&from_lock(&without).arg("/tool").output().expect("runs"));
    assert_eq!(
        std::fs::read(&archive).expect("archive"),
        std::fs::read(&reference).expect("reference"),
        "the image built from the lock differs from the one built with Nix"
    );

    // A lock that recorded other contents for a path makes builds: the call is refused.
    lock["packages"][index]["inputs"][&greet] =
        serde_json::Value::String(format!("sha256:{}", "0".repeat(52)));
    std::fs::write(&lock_file, serde_json::to_vec(&lock).expect("JSON")).expect("write");
    let again = Sandbox::new();
    let out = from_lock(&again).arg("/call").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("for other contents of") && stderr.contains(&greet),
        "{stderr}"
    );
}
