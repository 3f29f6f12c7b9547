//! Plain derivations built without Nix, and Nix's fetch built-ins, with the real binary: a
//! makes.nix job that is a `builtins.derivation` (depending on another one, `passAsFile`),
//! built by makes' sandbox at Nix's output path, also as an unprivileged user; a niv-style
//! `sources.nix` whose `fetchTarball { url; sha256; }` of a `file://` tarball is fetched
//! once and then found offline; `fetchGit` of a local bare repository with Nix's attributes;
//! `builtins.fetchurl` and `<nix/fetchurl.nix>`. Where `nix-instantiate` is installed, every
//! store path is compared with the one Nix gives.

use crate::common::{assert_success, have_tool, running_as_root, write_project, Sandbox};
use std::path::Path;
use std::process::Command;

fn nix_installed() -> bool {
    have_tool("nix-instantiate")
}

/// What `nix-instantiate --eval --strict` prints for `expr` in `dir` (read-write, so that
/// derivations depending on `drvPath`s can be instantiated).
fn nix_eval(dir: &Path, expr: &str) -> String {
    let out = Command::new("nix-instantiate")
        .current_dir(dir)
        .args(["--eval", "--strict", "--read-write-mode", "--expr", expr])
        .output()
        .expect("nix-instantiate runs");
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn makes_eval(sandbox: &Sandbox, dir: &Path, expr: &str) -> String {
    let out = sandbox
        .makes()
        .current_dir(dir)
        .args(["eval", "--strict", "--expr", expr])
        .output()
        .expect("makes runs");
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const RAW_PROJECT: &str = r#"{ ... }:
let
  greeting = derivation {
    name = "greeting";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "echo hello from a plain derivation > $out" ];
  };
in {
  jobs."/raw" = derivation {
    name = "raw";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    inherit greeting;
    passAsFile = [ "note" ];
    note = "passed as a file";
    args = [ "-c" "PATH=/usr/bin:/bin; cat $greeting $notePath > $out; echo \" $HOME\" >> $out" ];
  };
}
"#;

#[test]
fn a_plain_derivation_job_builds_at_nixs_output_path() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    write_project(&project, RAW_PROJECT);
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["--no-run", "/raw"])
        .output()
        .expect("makes runs");
    assert_success(&out);
    let result = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        std::fs::read_to_string(&result).expect("the output"),
        "hello from a plain derivation\npassed as a file /homeless-shelter\n"
    );
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["show", "/raw"])
        .output()
        .expect("makes runs");
    assert_success(&out);
    let show: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(show["kind"], "derivation");
    assert_eq!(show["outputs"]["out"]["path"], show["outPath"]);
    assert_eq!(
        show["env"]["notePath"],
        serde_json::Value::Null,
        "passAsFile is the builder's"
    );
    assert_eq!(show["env"]["note"], "passed as a file");
    if nix_installed() {
        let nix = nix_eval(&project, r#"(import ./makes.nix { }).jobs."/raw".drvPath"#);
        assert_eq!(
            nix.trim().trim_matches('"'),
            show["drvPath"],
            "Nix's drvPath"
        );
        let nix = nix_eval(&project, r#"(import ./makes.nix { }).jobs."/raw".outPath"#);
        let name = Path::new(&result).file_name().expect("a name");
        assert!(
            nix.trim()
                .trim_matches('"')
                .ends_with(&*name.to_string_lossy()),
            "Nix gives {nix}, makes built {result}"
        );
    }
}

#[test]
fn an_unprivileged_user_builds_a_plain_derivation_the_same() {
    if !running_as_root() || !have_tool("setpriv") {
        eprintln!("note: skipping: needs root to switch to an unprivileged user");
        return;
    }
    let as_root = Sandbox::new();
    let project = as_root.dir.path().join("project");
    write_project(&project, RAW_PROJECT);
    let expr = r#"(import ./makes.nix { }).jobs."/raw""#;
    let run = |cmd: &mut Command| {
        let out = cmd.output().expect("makes runs");
        assert_success(&out);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let expected = run(as_root.makes().current_dir(&project).args([
        "instantiate",
        "--realise",
        "--expr",
        expr,
    ]));

    let sandbox = Sandbox::new();
    let mut perms = std::fs::metadata(sandbox.dir.path())
        .expect("meta")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o777);
    std::fs::set_permissions(sandbox.dir.path(), perms).expect("chmod");
    let mut perms = std::fs::metadata(as_root.dir.path())
        .expect("meta")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(as_root.dir.path(), perms).expect("chmod");
    let got = run(sandbox.makes_as_nobody().current_dir(&project).args([
        "instantiate",
        "--realise",
        "--expr",
        expr,
    ]));
    assert_eq!(got, expected, "the same output path");
    let read = |s: &Sandbox| {
        let base = Path::new(&got).file_name().expect("a name").to_owned();
        std::fs::read(s.store().join("store").join(&base))
            .or_else(|_| std::fs::read(s.cache().join("makes/store/store").join(&base)))
            .expect("the built output")
    };
    assert_eq!(read(&sandbox), read(&as_root));
}

/// A gzipped tarball of one directory `pkg/` holding `a.txt` and an executable `bin/run`.
fn write_tarball(path: &Path) {
    let file = std::fs::File::create(path).expect("create");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: &str, mode: u32, body: &[u8], kind: tar::EntryType| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(body.len() as u64);
        header.set_mtime(1_600_000_000);
        tar.append_data(&mut header, name, body).expect("append");
    };
    add("pkg/", 0o755, b"", tar::EntryType::Directory);
    add(
        "pkg/a.txt",
        0o644,
        b"from the tarball\n",
        tar::EntryType::Regular,
    );
    add("pkg/bin/", 0o755, b"", tar::EntryType::Directory);
    add(
        "pkg/bin/run",
        0o755,
        b"#!/bin/sh\necho run\n",
        tar::EntryType::Regular,
    );
    tar.into_inner().expect("tar").finish().expect("gzip");
}

/// The nix-base32 SHA-256 of the NAR of the tarball's tree, as `nix-hash` computes it from
/// a first, unpinned fetch; empty without `nix-hash`.
fn tarball_nar_hash(sandbox: &Sandbox, dir: &Path, url: &str) -> String {
    let path = makes_eval(sandbox, dir, &format!(r#"builtins.fetchTarball "{url}""#));
    let base = Path::new(path.trim().trim_matches('"'))
        .file_name()
        .expect("a name")
        .to_owned();
    let real = sandbox.store().join("store").join(base);
    match Command::new("nix-hash")
        .args(["--type", "sha256", "--base32"])
        .arg(&real)
        .output()
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => String::new(),
    }
}

#[test]
fn niv_style_sources_fetch_a_tarball_by_hash_then_offline() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    std::fs::create_dir_all(project.join("nix")).expect("mkdir");
    let tarball = sandbox.dir.path().join("pkg.tar.gz");
    write_tarball(&tarball);
    let url = format!("file://{}", tarball.display());
    let sha256 = tarball_nar_hash(&sandbox, &project, &url);
    if sha256.is_empty() {
        eprintln!("note: skipping: nix-hash is needed to hash the tarball's tree");
        return;
    }
    std::fs::write(
        project.join("nix/sources.json"),
        format!(r#"{{ "pkg": {{ "url": "{url}", "sha256": "{sha256}", "type": "tarball" }} }}"#),
    )
    .expect("sources.json");
    // niv's own sources.nix reads the JSON and fetches each tarball with its hash.
    std::fs::write(
        project.join("nix/sources.nix"),
        r#"let
  spec = builtins.fromJSON (builtins.readFile ./sources.json);
  fetch = name: s: builtins.fetchTarball { name = "${name}-src"; inherit (s) url sha256; };
in builtins.mapAttrs fetch spec
"#,
    )
    .expect("sources.nix");
    write_project(
        &project,
        r#"{ ... }:
let sources = import ./nix/sources.nix; in {
  jobs."/vendored" = derivation {
    name = "vendored";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    src = sources.pkg;
    args = [ "-c" "PATH=/usr/bin:/bin; cat $src/a.txt > $out; $src/bin/run >> $out" ];
  };
}
"#,
    );
    let build = |sandbox: &Sandbox| {
        sandbox
            .makes()
            .arg("--project")
            .arg(&project)
            .args(["--no-run", "/vendored"])
            .output()
            .expect("makes runs")
    };
    let out = build(&sandbox);
    assert_success(&out);
    let result = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        std::fs::read_to_string(&result).expect("output"),
        "from the tarball\nrun\n"
    );
    let source = makes_eval(&sandbox, &project, "(import ./nix/sources.nix).pkg");
    if nix_installed() {
        assert_eq!(
            source,
            nix_eval(&project, "(import ./nix/sources.nix).pkg"),
            "the source path Nix gives"
        );
    }
    // Pinned by its hash and in the store: found again without the tarball.
    std::fs::remove_file(&tarball).expect("rm");
    let again = makes_eval(&sandbox, &project, "(import ./nix/sources.nix).pkg");
    assert_eq!(again, source);

    // A wrong hash names the URL and both hashes, and leaves no result.
    let wrong = format!(
        "builtins.fetchTarball {{ url = \"{url}x\"; sha256 = \"{}\"; }}",
        "0".repeat(52)
    );
    let out = sandbox
        .makes()
        .current_dir(&project)
        .args(["eval", "--expr", &wrong])
        .output()
        .expect("makes runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{url}x")), "{stderr}");
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_AUTHOR_DATE", "1600000000 +0000")
        .env("GIT_COMMITTER_DATE", "1600000000 +0000")
        .output()
        .expect("git runs");
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn fetch_git_of_a_local_bare_repository_gives_nixs_attributes() {
    if !have_tool("git") {
        eprintln!("note: skipping: git is not installed");
        return;
    }
    let sandbox = Sandbox::new();
    let root = sandbox.dir.path();
    git(root, &["init", "--quiet", "--bare", "repo.git"]);
    git(root, &["clone", "--quiet", "repo.git", "work"]);
    let work = root.join("work");
    std::fs::write(work.join("one.txt"), "one\n").expect("write");
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "one"]);
    std::fs::write(work.join("two.txt"), "two\n").expect("write");
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "two"]);
    git(&work, &["push", "--quiet", "origin", "HEAD:main"]);
    let head = git(&work, &["rev-parse", "HEAD"]);
    let first = git(&work, &["rev-parse", "HEAD~1"]);
    let bare = root.join("repo.git");
    let expr = format!(
        r#"let g = builtins.fetchGit {{ url = "file://{}"; ref = "main"; }};
             old = builtins.fetchGit {{ url = {}; ref = "main"; rev = "{first}"; }};
         in {{ inherit (g) rev shortRev revCount lastModified lastModifiedDate narHash submodules outPath;
               old = old.outPath; oldCount = old.revCount;
               text = builtins.readFile "${{g}}/two.txt"; }}"#,
        bare.display(),
        bare.display()
    );
    let got = makes_eval(&sandbox, root, &expr);
    assert!(got.contains(&format!("rev = \"{head}\"")), "{got}");
    assert!(
        got.contains("revCount = 2;") && got.contains("oldCount = 1;"),
        "{got}"
    );
    assert!(got.contains("lastModified = 1600000000;"), "{got}");
    assert!(
        got.contains("lastModifiedDate = \"20200913122640\";"),
        "{got}"
    );
    assert!(got.contains("text = \"two\\n\";"), "{got}");
    if nix_installed() {
        assert_eq!(got, nix_eval(root, &expr), "Nix's attributes and paths");
    }
}

#[test]
fn fetchurl_and_nix_fetchurl_give_nixs_paths() {
    let sandbox = Sandbox::new();
    let root = sandbox.dir.path();
    let file = root.join("data.txt");
    std::fs::write(&file, "downloaded\n").expect("write");
    // sha256 of "downloaded\n", nix-base32.
    let hash = makes_eval(
        &sandbox,
        root,
        r#"builtins.hashString "sha256" "downloaded\n""#,
    );
    let hash = hash.trim().trim_matches('"');
    let expr = format!(
        r#"{{ plain = builtins.fetchurl "file://{f}";
             named = builtins.fetchurl {{ url = "file://{f}"; name = "renamed"; sha256 = "{hash}"; }};
             nix = (import <nix/fetchurl.nix> {{ url = "file://{f}"; sha256 = "{hash}"; }}).outPath; }}"#,
        f = file.display()
    );
    let got = makes_eval(&sandbox, root, &expr);
    if nix_installed() {
        assert_eq!(got, nix_eval(root, &expr), "Nix's store paths");
    }
    // `<nix/fetchurl.nix>` is built by makes' own builtin:fetchurl.
    let out = sandbox
        .makes()
        .current_dir(root)
        .args(["instantiate", "--realise", "--expr"])
        .arg(format!(
            r#"import <nix/fetchurl.nix> {{ url = "file://{}"; sha256 = "{hash}"; }}"#,
            file.display()
        ))
        .output()
        .expect("makes runs");
    assert_success(&out);
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(got.contains(&path), "{path} is the outPath in {got}");
    let base = Path::new(&path).file_name().expect("a name");
    assert_eq!(
        std::fs::read_to_string(sandbox.store().join("store").join(base)).expect("fetched"),
        "downloaded\n"
    );
}

#[test]
fn fetch_gitlab_is_makes_fetch_archive_of_the_gitlab_archive() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    write_project(
        &project,
        r#"{ fetchGitlab, ... }: {
  jobs."/gl" = fetchGitlab { owner = "o"; repo = "r"; rev = "abc"; sha256 = "0000000000000000000000000000000000000000000000000000"; };
}
"#,
    );
    // fetchGitlab is an argument of makes 21.10 to 24.01.
    std::fs::write(
        project.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit { url = \"https://github.com/fluidattacks/makes\"; ref = \"refs/tags/23.07\"; }; }\n",
    )
    .expect("makes.lock.nix");
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["show", "/gl"])
        .output()
        .expect("makes runs");
    assert_success(&out);
    let show: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(show["kind"], "fetchArchive");
    assert_eq!(show["url"], "https://gitlab.com/o/r/-/archive/abc.tar.gz");
    assert_eq!(show["stripRoot"], true);
    assert_eq!(show["name"], "source");
}

#[test]
fn hostile_fetch_arguments_are_refused_naming_them() {
    let sandbox = Sandbox::new();
    let root = sandbox.dir.path();
    let marker = root.join("pwned");
    let cases = [
        (
            format!(
                r#"builtins.fetchGit {{ url = "file://{}"; ref = "--upload-pack=touch {}"; }}"#,
                root.display(),
                marker.display()
            ),
            "invalid Git branch/tag name",
        ),
        (
            r#"builtins.fetchGit { url = "file:///nonexistent"; rev = "not-a-rev"; }"#.to_owned(),
            "is not a Git revision",
        ),
        (
            r#"builtins.fetchurl { url = "file:///etc/hostname"; name = "../escape"; }"#.to_owned(),
            "../escape",
        ),
        (
            r#"builtins.fetchTarball { url = "ftp://example.org/x.tar.gz"; }"#.to_owned(),
            "only file://, http:// and https:// URLs",
        ),
        (
            r#"builtins.fetchurl { url = "file:///x"; hash = "sha256-AAAA"; }"#.to_owned(),
            "unsupported argument 'hash' to 'fetchurl'",
        ),
    ];
    for (expr, want) in cases {
        let out = sandbox
            .makes()
            .current_dir(root)
            .args(["eval", "--expr", &expr])
            .output()
            .expect("makes runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{expr}: {stderr}");
        assert!(stderr.contains(want), "{expr}: want {want:?} in {stderr}");
    }
    assert!(!marker.exists(), "a ref ran as a git option");
}

/// `cmd` with git allowed to use `file://` submodules, as a user's configuration would.
fn allowing_file_submodules(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "protocol.file.allow")
        .env("GIT_CONFIG_VALUE_0", "always")
}

#[test]
fn fetch_git_with_submodules_checks_them_out() {
    if !have_tool("git") {
        eprintln!("note: skipping: git is not installed");
        return;
    }
    let sandbox = Sandbox::new();
    let root = sandbox.dir.path();
    git(root, &["init", "--quiet", "sub"]);
    std::fs::write(root.join("sub/s.txt"), "in the submodule\n").expect("write");
    git(&root.join("sub"), &["add", "."]);
    git(&root.join("sub"), &["commit", "--quiet", "-m", "s"]);
    git(root, &["init", "--quiet", "main"]);
    let main = root.join("main");
    std::fs::write(main.join("t.txt"), "top\n").expect("write");
    git(&main, &["add", "."]);
    let sub = root.join("sub").display().to_string();
    git(
        &main,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "--quiet",
            &sub,
            "lib",
        ],
    );
    git(&main, &["commit", "--quiet", "-m", "top"]);
    let rev = git(&main, &["rev-parse", "HEAD"]);
    let fetch = |name: &str| {
        format!(
            r#"let g = builtins.fetchGit {{ url = {}; rev = "{rev}"; submodules = true; name = "{name}"; }};
               in {{ inherit (g) outPath narHash submodules revCount; text = builtins.readFile "${{g}}/lib/s.txt"; }}"#,
            main.display()
        )
    };
    let expr = fetch("source");
    let out = allowing_file_submodules(
        sandbox
            .makes()
            .current_dir(root)
            .args(["eval", "--strict", "--expr", &expr]),
    )
    .output()
    .expect("makes runs");
    assert_success(&out);
    let got = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(got.contains(r#"text = "in the submodule\n";"#), "{got}");
    assert!(got.contains("submodules = true;"), "{got}");
    if nix_installed() {
        let nix = allowing_file_submodules(
            Command::new("nix-instantiate")
                .current_dir(root)
                .args(["--eval", "--strict", "--expr", &expr]),
        )
        .output()
        .expect("nix-instantiate runs");
        assert_success(&nix);
        assert_eq!(got, String::from_utf8_lossy(&nix.stdout), "Nix's tree");
    }
    // Without that permission git refuses the submodule, and so does fetchGit.
    let out = sandbox
        .makes()
        .current_dir(root)
        .args(["eval", "--strict", "--expr", &fetch("other")])
        .output()
        .expect("makes runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
