//! makes' Python environments (`makePythonPypiEnvironment`, `makePythonVersion`) with the
//! project of `fixtures/python-env`: its `sources.yaml` names two wheels and an sdist that a
//! package index on 127.0.0.1 serves; makes fetches them (checked against their sha256) and pip
//! installs them offline in the sandbox, into an environment that a makeScript job and an
//! image (run with runc) import. The interpreter is the stand-in package set's `python311`.
//! `fixtures/python-pyproject` uses the arguments of 24.x: makePythonPyprojectPackage,
//! makePythonVscodeSettings and pythonOverrideUtils.

use crate::common::{
    assert_success, copy_tree, fixture, have_tool, run_image, write_project, Sandbox,
};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A package index: serves the files of `fixtures/python-env/index` over HTTP/1.0 on
/// 127.0.0.1; counts the requests.
struct PackageIndex {
    port: u16,
    requests: Arc<AtomicUsize>,
}

impl PackageIndex {
    fn start() -> PackageIndex {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = listener.local_addr().expect("address").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let dir = fixture("python-env").join("index");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                serve(stream, &dir);
            }
        });
        PackageIndex { port, requests }
    }
}

fn serve(mut stream: TcpStream, dir: &Path) {
    let mut request_line = String::new();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // The headers, up to the empty line.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let name = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/');
    let file = match name.strip_prefix("simple/") {
        // A legacy (PEP 503) index page: links to the package's files, relative to the page.
        Some(package) => simple_index_page(dir, package.trim_end_matches('/')),
        None => (!name.contains('/') && !name.is_empty())
            .then(|| std::fs::read(dir.join(name)).ok())
            .flatten(),
    };
    let _ = match file {
        Some(body) => stream
            .write_all(
                format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .and_then(|()| stream.write_all(&body)),
        None => stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    };
}

/// The simple index page of `package`: a link to each file of `dir` named after it.
fn simple_index_page(dir: &Path, package: &str) -> Option<Vec<u8>> {
    if package.is_empty() || package.contains('/') {
        return None;
    }
    let mut links = String::from("<html><body>\n");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(&format!("{package}-")))
        .collect();
    files.sort();
    for file in files {
        links.push_str(&format!(
            "<a href=\"../../{file}#sha256=0\">{file}</a><br/>\n"
        ));
    }
    links.push_str("</body></html>\n");
    Some(links.into_bytes())
}

/// The stand-in package set with the host's bash and coreutils, which makeScript's scripts
/// (run on the host) need; everything else, python311 included, is the stand-in's.
fn script_nixpkgs(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.path().join("nixpkgs");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let stand_in = fixture("nix-packages").join("stand-in-nixpkgs");
    std::fs::write(
        dir.join("default.nix"),
        format!(
            r#"args:
let
  mk = name: script: derivation {{
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" script ];
    PATH = "/usr/bin:/bin";
  }};
in import {stand_in} (args // {{
  overlays = (args.overlays or [ ]) ++ [ (self: super: {{
    bash = mk "bash-host" "mkdir -p $out/bin; cp /bin/bash $out/bin/bash";
    # makePythonVscodeSettings runs its script with python310: any Python 3.9+ runs it.
    python310 = super.python311;
    coreutils = mk "coreutils-host" "mkdir -p $out/bin; for t in cat echo mkdir mktemp rm ls; do cp $(command -v $t) $out/bin/; done";
  }}) ];
}})
"#,
            stand_in = stand_in.display()
        ),
    )
    .expect("write");
    dir
}

/// A copy of the fixture project whose sources point at `index`.
fn project(sandbox: &Sandbox, index: &PackageIndex) -> PathBuf {
    let project = sandbox.dir.path().join("python-env");
    copy_tree(&fixture("python-env"), &project);
    let sources = project.join("sources.yaml");
    let text = std::fs::read_to_string(&sources).expect("sources.yaml");
    let text = text.replace("127.0.0.1:8731", &format!("127.0.0.1:{}", index.port));
    std::fs::write(&sources, text).expect("write sources.yaml");
    project
}

/// `makes ARGS` in `project`, packages built by Nix from the stand-in set.
fn makes_in(sandbox: &Sandbox, project: &Path) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env(
        "NIX_CONFIG",
        "substituters =\nbuild-users-group =\nsandbox = false",
    )
    .env("MAKES_NIXPKGS", script_nixpkgs(sandbox))
    .current_dir(project)
    .args(["--packages", "nix"]);
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("makes runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `makes --no-run . JOB`: the result path.
fn build(sandbox: &Sandbox, project: &Path, job: &str) -> PathBuf {
    let out = output(makes_in(sandbox, project).args(["--no-run", ".", job]));
    assert_success(&out);
    PathBuf::from(stdout(&out).trim())
}

/// The environment (venv) whose `bin` a search-paths template puts first on `PATH`.
fn venv_of(template: &Path) -> PathBuf {
    let text = std::fs::read_to_string(template.join("template")).expect("template");
    let line = text
        .lines()
        .find(|l| l.starts_with("export PATH="))
        .expect("a PATH export");
    let path = line
        .trim_start_matches("export PATH=\"")
        .split("/bin")
        .next()
        .expect("a path");
    PathBuf::from(path)
}

/// Whether the stand-in python311 can be made here: Nix, patchelf, and Debian's python3.11
/// with its venv wheels (scripts/test.sh installs them all).
fn stand_in_python_builds() -> bool {
    let debian_python =
        Path::new("/usr/bin/python3.11").exists() && Path::new("/usr/share/python-wheels").is_dir();
    if !debian_python {
        if std::env::var("MAKES_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("Debian's python3.11-venv is required (MAKES_REQUIRE_TOOLS=1)");
        }
        eprintln!("note: skipping: Debian's python3.11-venv is not installed");
        return false;
    }
    have_tool("nix-build") && have_tool("patchelf")
}

const EXPECTED: &str = "HELLO FIB(30) = 832040!\n";

#[test]
fn a_pypi_environment_is_fetched_installed_offline_and_imported_by_a_script_and_an_image() {
    if !stand_in_python_builds() {
        return;
    }
    let index = PackageIndex::start();
    let sandbox = Sandbox::new();
    let project = project(&sandbox, &index);

    // The job prints what the packages compute: numlib (a wheel needing greetlib, another
    // wheel) and shoutpkg (an sdist that pip builds with its in-tree backend).
    let out = output(makes_in(&sandbox, &project).args([".", "/report"]));
    assert_success(&out);
    assert_eq!(stdout(&out), EXPECTED);
    assert_eq!(
        index.requests.load(Ordering::SeqCst),
        3,
        "each file fetched once"
    );

    // The environment: a venv under the store holding exactly the closure, without pip.
    let env = build(&sandbox, &project, "/env");
    let venv = sandbox
        .store()
        .join("store")
        .join(venv_of(&env).file_name().expect("a name"));
    let site = venv.join("lib/python3.11/site-packages");
    let mut installed: Vec<String> = std::fs::read_dir(&site)
        .expect("site-packages")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dist-info"))
        .collect();
    installed.sort();
    assert_eq!(
        installed,
        [
            "greetlib-1.0.dist-info",
            "numlib-2.0.dist-info",
            "setuptools-66.1.1.dist-info",
            "shoutpkg-0.3.dist-info"
        ],
        "the closure (and the setuptools that venv installs), and no pip"
    );

    // Built once: a second run fetches nothing and builds nothing.
    let again = output(makes_in(&sandbox, &project).args([".", "/report"]));
    assert_success(&again);
    assert_eq!(stdout(&again), EXPECTED);
    assert_eq!(index.requests.load(Ordering::SeqCst), 3);

    let image = build(&sandbox, &project, "/image");
    if have_tool("skopeo") && have_tool("umoci") && have_tool("runc") {
        let printed = run_image(
            &sandbox,
            &format!("oci-archive:{}", image.display()),
            "python-env",
        );
        assert_eq!(printed, EXPECTED);
    }

    // Another store, another copy of the project: the same store paths and image bytes.
    let other = Sandbox::new();
    let other_project = self::project(&other, &index);
    let other_env = build(&other, &other_project, "/env");
    assert_eq!(env.file_name(), other_env.file_name());
    assert_eq!(venv_of(&env), venv_of(&other_env));
    let other_image = build(&other, &other_project, "/image");
    assert_eq!(image.file_name(), other_image.file_name());
    assert_eq!(
        std::fs::read(&image).expect("image"),
        std::fs::read(&other_image).expect("other image"),
        "byte-identical image archives"
    );
}

#[test]
fn a_wrong_sha256_in_the_sources_is_refused_naming_the_url_and_both_hashes() {
    if !stand_in_python_builds() {
        return;
    }
    let index = PackageIndex::start();
    let sandbox = Sandbox::new();
    let project = project(&sandbox, &index);
    let sources = project.join("sources.yaml");
    let right = "e9fbab8dbf6ecb6c712fa4b73bac4dd8036720e404faefc7af44625bae0a1798";
    let wrong = "abababababababababababababababababababababababababababababababab";
    let text = std::fs::read_to_string(&sources).expect("sources.yaml");
    std::fs::write(&sources, text.replace(right, wrong)).expect("write");
    let out = output(makes_in(&sandbox, &project).args(["--no-run", ".", "/env"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let url = format!(
        "http://127.0.0.1:{}/numlib-2.0-py3-none-any.whl",
        index.port
    );
    assert!(stderr.contains(&url), "names the url: {stderr}");
    let nix32 = |hex: &str| {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        makes_store::nixbase32::encode(&bytes)
    };
    assert!(
        stderr.contains(&nix32(wrong)) && stderr.contains(&nix32(right)),
        "names both hashes: {stderr}"
    );
    let fetched = std::fs::read_dir(sandbox.store().join("store"))
        .expect("store")
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with("numlib-2.0-py3-none-any.whl")
        });
    assert!(!fetched, "nothing of the refused download in the store");
}

#[test]
fn makes_python_arguments_follow_the_pinned_release() {
    let sandbox = Sandbox::new();
    let show = |release: &str, body: &str| {
        let project = sandbox.dir.path().join(format!("p{release}"));
        write_project(
            &project,
            &format!("{{ makePythonPypiEnvironment, makePythonVersion, ... }}: {{ jobs.\"/x\" = {body}; }}"),
        );
        let rev = match release {
            "21.10" => "3dde5c1540dac1d7a10b8649adb7a8f3ba5dbd84",
            "22.10" => "d87b5349b52f6ecab42e956a1860687f314cf8fc",
            _ => "c8411a419165a5e360b95fc078d0ce461ae8dcdd",
        };
        std::fs::write(
            project.join("makes.lock.nix"),
            format!(
                "{{ makesSrc = builtins.fetchGit {{ url = \"https://github.com/fluidattacks/makes\"; ref = \"refs/tags/{release}\"; rev = \"{rev}\"; }}; }}"
            ),
        )
        .expect("lock");
        output(
            sandbox
                .makes()
                .arg("--project")
                .arg(&project)
                .args(["show", "/x"]),
        )
    };
    // `searchPaths` became `searchPathsBuild`/`searchPathsRuntime` in 21.11.
    let call = "makePythonPypiEnvironment { name = \"e\"; searchPaths = { }; sourcesRaw = { closure = { }; links = [ ]; python = \"3.9\"; }; }";
    let old = show("21.10", call);
    let old_err = String::from_utf8_lossy(&old.stderr);
    assert!(!old_err.contains("unexpected argument"), "{old_err}");
    let new = show("23.06", call);
    let new_err = String::from_utf8_lossy(&new.stderr);
    assert_eq!(new.status.code(), Some(1));
    assert!(
        new_err.contains("unexpected argument 'searchPaths'"),
        "{new_err}"
    );
    // An environment of Python 3.8 (23.06 knows it) puts its site-packages on PYTHONPATH.
    let py38 = show(
        "23.06",
        "makePythonPypiEnvironment { name = \"e\"; sourcesRaw = { closure = { }; links = [ ]; python = \"3.8\"; }; }",
    );
    assert!(
        stdout(&py38).contains("-e/lib/python3.8/site-packages"),
        "{}",
        String::from_utf8_lossy(&py38.stderr)
    );
    // Python 3.11 exists from 22.11 on; 3.6 only before 22.03.
    let py311 = show("22.10", "makePythonVersion \"3.11\"");
    assert_eq!(py311.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&py311.stderr).contains(
            "makePythonVersion: makes 22.10 has no python '3.11': it offers 3.7, 3.8, 3.9, 3.10"
        ),
        "{}",
        String::from_utf8_lossy(&py311.stderr)
    );
}

#[test]
fn makes_24_python_arguments_build_the_pyproject_package_and_its_settings() {
    if !stand_in_python_builds() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("python-pyproject");
    copy_tree(&fixture("python-pyproject"), &project);

    // The package (name from pyproject.toml, version from its __init__.py) built into a
    // wheel offline with the project's own PEP 517 backend, imported through `env.runtime`.
    let out = output(makes_in(&sandbox, &project).args([".", "/wordcount", "one two three"]));
    assert_success(&out);
    assert_eq!(stdout(&out), "1.2.0 3\n");

    // makePythonVscodeSettings writes the settings pointing at the environment.
    let out = output(makes_in(&sandbox, &project).args([".", "/vscode"]));
    assert_success(&out);
    let settings: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.join(".vscode/settings.json")).expect("settings"),
    )
    .expect("JSON");
    let interpreter = settings["python.defaultInterpreterPath"]
        .as_str()
        .expect("a path");
    assert!(
        interpreter.starts_with("/nix/store/")
            && interpreter.ends_with("-python3.11-wordcount-1.2.0/bin/python"),
        "{interpreter}"
    );
    assert_eq!(settings["python.testing.pytestEnabled"], true);

    // pythonOverrideUtils over packages answering overridePythonAttrs.
    let out = output(makes_in(&sandbox, &project).args(["--no-run", ".", "/overrides"]));
    assert_success(&out);
    let result = std::fs::read_to_string(stdout(&out).trim()).expect("result");
    assert_eq!(
        result,
        r#"{"a":false,"b":false,"composed":12,"replaced":"c"}"#
    );
}

#[test]
fn a_link_whose_name_is_not_a_file_name_is_refused() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("escape");
    write_project(
        &project,
        r#"{ makePythonPypiEnvironment, ... }: {
  jobs."/env" = makePythonPypiEnvironment {
    name = "escape";
    sourcesRaw = {
      closure.x = "1.0";
      links = [ {
        name = "../x-1.0-py3-none-any.whl";
        sha256 = "0dcb7a622458b0c0d5b61275b923137839f8ffb3ef6b841f2056a55ca310e028";
        url = "http://127.0.0.1:1/x-1.0-py3-none-any.whl";
      } ];
      python = "3.11";
    };
  };
}"#,
    );
    let out = output(
        sandbox
            .makes()
            .arg("--project")
            .arg(&project)
            .args(["show", "/env"]),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is named '../x-1.0-py3-none-any.whl', which is not a file name"),
        "{stderr}"
    );
}

/// A copy of the poetry project (fixtures/python-poetry) whose lock points at `index`.
fn poetry_project(sandbox: &Sandbox, index: &PackageIndex) -> PathBuf {
    let project = sandbox.dir.path().join("python-poetry");
    copy_tree(&fixture("python-poetry"), &project);
    for file in ["pyproject.toml", "poetry.lock"] {
        let path = project.join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        let text = text.replace("127.0.0.1:8731", &format!("127.0.0.1:{}", index.port));
        std::fs::write(&path, text).expect("write");
    }
    project
}

/// The `.dist-info` directories of a venv's site-packages.
fn dist_infos(venv: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(venv.join("lib/python3.11/site-packages"))
        .expect("site-packages")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dist-info"))
        .collect();
    found.sort();
    found
}

#[test]
fn a_poetry_lock_gives_the_environment_poetry2nix_gives_installed_offline() {
    if !stand_in_python_builds() {
        return;
    }
    let index = PackageIndex::start();
    let sandbox = Sandbox::new();
    let project = poetry_project(&sandbox, &index);

    // makePythonEnvironment (24.02): the project's dependencies (the dev group's too) and what
    // the lock says they need; `winonly` is needed on Windows only (pip skips its line) and
    // `unneeded` by nothing: neither is fetched.
    let out = output(makes_in(&sandbox, &project).args([".", "/report"]));
    assert_success(&out);
    assert_eq!(stdout(&out), EXPECTED);
    assert_eq!(
        index.requests.load(Ordering::SeqCst),
        3,
        "the three needed files, once"
    );

    let env = build(&sandbox, &project, "/env");
    let venv = sandbox
        .store()
        .join("store")
        .join(venv_of(&env).file_name().expect("a name"));
    assert_eq!(
        dist_infos(&venv),
        [
            "greetlib-1.0.dist-info",
            "numlib-2.0.dist-info",
            "setuptools-66.1.1.dist-info",
            "shoutpkg-0.3.dist-info"
        ]
    );

    // makePythonPoetryEnvironment with an override leaving a package out: the venv itself.
    let without = build(&sandbox, &project, "/without-dev");
    let without = sandbox
        .store()
        .join("store")
        .join(without.file_name().expect("a name"));
    assert_eq!(
        dist_infos(&without),
        [
            "greetlib-1.0.dist-info",
            "numlib-2.0.dist-info",
            "setuptools-66.1.1.dist-info"
        ]
    );

    // A package from PyPI: the best wheel for CPython 3.11 on x86_64 Linux (before abi3, pure
    // Python, musllinux and the sdist), from PyPI's predictable URL. No such package exists:
    // the download fails (offline or not), naming the URL.
    let out = output(makes_in(&sandbox, &project).args(["--no-run", ".", "/from-pypi"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "https://files.pythonhosted.org/packages/cp311/m/Makes_Absent/makes_absent-0.0.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
        ),
        "{err}"
    );

    // A Python version makes 24.02 does not offer.
    let out = output(makes_in(&sandbox, &project).args(["show", "/old-python"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "makePythonEnvironment: makes 24.02 has no python '3.8': it offers 3.9, 3.10, 3.11, 3.12"
        ),
        "{err}"
    );
}

/// A copy of fixtures/python-poetry-sources whose lock names `index` and a git repository
/// made from its `gitpkg-src` (committed on `main`).
fn poetry_sources_project(sandbox: &Sandbox, index: &PackageIndex) -> PathBuf {
    let project = sandbox.dir.path().join("python-poetry-sources");
    copy_tree(&fixture("python-poetry-sources"), &project);
    let repo = sandbox.dir.path().join("gitpkg.git");
    copy_tree(&project.join("gitpkg-src"), &repo);
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args([
                "-c",
                "user.name=makes",
                "-c",
                "user.email=makes@example.com",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert_success(&out);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "gitpkg"]);
    let commit = git(&["rev-parse", "HEAD"]);
    for file in [
        "pyproject.toml",
        "poetry.lock",
        "legacy/pyproject.toml",
        "legacy/poetry.lock",
    ] {
        let path = project.join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        let text = text
            .replace("127.0.0.1:8731", &format!("127.0.0.1:{}", index.port))
            .replace("/GIT-REPOSITORY", &repo.display().to_string())
            .replace("GIT-COMMIT", &commit);
        std::fs::write(&path, text).expect("write");
    }
    project
}

#[test]
fn poetry_file_directory_git_and_legacy_sources_are_installed() {
    if !stand_in_python_builds() || !have_tool("git") {
        return;
    }
    let index = PackageIndex::start();
    let sandbox = Sandbox::new();
    let project = poetry_sources_project(&sandbox, &index);

    // numlib from the project's wheel (`file`), greetlib (which it needs) from the index,
    // dirpkg built from the project's directory, gitpkg from the locked commit of the git
    // repository: the script imports all four.
    let out = output(makes_in(&sandbox, &project).args([".", "/report"]));
    assert_success(&out);
    assert_eq!(
        stdout(&out),
        "hello fib(10) = 55 from a directory from git\n"
    );
    assert_eq!(index.requests.load(Ordering::SeqCst), 1, "greetlib only");
    let env = build(&sandbox, &project, "/env");
    let venv = sandbox
        .store()
        .join("store")
        .join(env.file_name().expect("a name"));
    assert_eq!(
        dist_infos(&venv),
        [
            "dirpkg-0.1.dist-info",
            "gitpkg-0.2.dist-info",
            "greetlib-1.0.dist-info",
            "numlib-2.0.dist-info",
            "setuptools-66.1.1.dist-info",
        ]
    );

    // A legacy index: the file its page links, fetched against the lock's hash.
    let before = index.requests.load(Ordering::SeqCst);
    let legacy = build(&sandbox, &project, "/legacy");
    let legacy = sandbox
        .store()
        .join("store")
        .join(legacy.file_name().expect("a name"));
    assert_eq!(
        dist_infos(&legacy),
        ["greetlib-1.0.dist-info", "setuptools-66.1.1.dist-info"]
    );
    assert!(
        index.requests.load(Ordering::SeqCst) > before,
        "the index page was read"
    );

    // A path leading out of the project directory: refused, naming it.
    let out = output(makes_in(&sandbox, &project).args(["show", "/outside"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "the directory source of 'dirpkg' (../libs/dirpkg) is outside the project directory"
        ),
        "{err}"
    );
}
