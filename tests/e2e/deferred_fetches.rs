//! Sources fetched at build time, with the real binary: a `builtins.fetchTarball` or
//! `builtins.fetchurl` pinned by its `sha256` and used only as a path is shown without any
//! download (`makes show` lists it under `fetches`), downloaded by the build that needs it
//! (over HTTP from 127.0.0.1) and checked then: a download that differs from its pin is
//! refused naming the URL and both hashes. A fetched tree read during evaluation (`import`) is
//! downloaded at that point, as Nix does. The store paths are Nix's, recorded without network
//! by fixtures/deferred-fetch/record.sh (`nix-store --add-fixed` of the unpacked tree).

use crate::cache_harness::CacheServer;
use crate::common::{assert_success, fixture, have_tool, write_project, Sandbox};
use std::path::{Path, PathBuf};
use std::process::Output;

/// One line of expected.txt: the pinning hash and the store path Nix gives.
struct Pinned {
    sha256: String,
    path: String,
}

/// The tarball's (`fetchTarball`) and the file's (`fetchurl`) pins, as recorded.
fn recorded() -> (Pinned, Pinned) {
    let text = std::fs::read_to_string(fixture("deferred-fetch").join("expected.txt"))
        .expect("expected.txt");
    let line = |kind: &str| {
        let fields: Vec<&str> = text
            .lines()
            .find(|l| l.starts_with(&format!("{kind} ")))
            .unwrap_or_else(|| panic!("no '{kind}' line in expected.txt"))
            .split(' ')
            .collect();
        Pinned {
            sha256: fields[1].to_owned(),
            path: fields[2].to_owned(),
        }
    };
    (line("tarball"), line("file"))
}

/// A project fetching `BASE/greeter.tar.gz` (or `BASE/TARBALL`) as a tree and as a file,
/// pinned by the recorded hashes, and using them as paths (`/raw`, a plain derivation;
/// `/tpl`, makes' makeTemplate) or reading the tree during evaluation (`/read`, an `import`;
/// `/filtered`, a `builtins.path` copy with a filter).
fn write_fetching_project(dir: &Path, base: &str, tarball: &str) {
    let (tree, file) = recorded();
    write_project(
        dir,
        &format!(
            r#"{{ makeTemplate, ... }}:
let
  src = builtins.fetchTarball {{ url = "{base}/{tarball}"; sha256 = "{tree}"; }};
  archive = builtins.fetchurl {{ url = "{base}/{tarball}"; sha256 = "{file}"; }};
in {{
  jobs."/raw" = derivation {{
    name = "raw";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    inherit src archive;
    args = [ "-c" "PATH=/usr/bin:/bin; cat $src/hello.txt > $out; $src/bin/greet >> $out; wc -c < $archive >> $out" ];
  }};
  jobs."/tpl" = makeTemplate {{ name = "tpl"; template = "src is __argSrc__"; replace.__argSrc__ = src; }};
  jobs."/read" = makeTemplate {{ name = "read"; template = (import src).greeting; }};
  jobs."/filtered" = makeTemplate {{
    name = "filtered";
    template = "copy is __argCopy__";
    replace.__argCopy__ = builtins.path {{ path = src; filter = p: t: baseNameOf p != "bin"; name = "filtered"; }};
  }};
}}
"#,
            tree = tree.sha256,
            file = file.sha256,
        ),
    );
}

/// A base URL nothing answers on: a port that was free a moment ago.
fn unreachable_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A server of the fixture's tarballs.
fn serve_tarballs(sandbox: &Sandbox) -> CacheServer {
    let dir = sandbox.dir.path().join("served");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for name in ["greeter.tar.gz", "impostor.tar.gz"] {
        std::fs::copy(fixture("deferred-fetch").join(name), dir.join(name)).expect("copy");
    }
    CacheServer::start(&dir)
}

fn makes_in(sandbox: &Sandbox, project: &Path, args: &[&str]) -> Output {
    sandbox
        .makes()
        .arg("--project")
        .arg(project)
        .args(args)
        .output()
        .expect("makes runs")
}

fn show(sandbox: &Sandbox, project: &Path, job: &str) -> serde_json::Value {
    let out = makes_in(sandbox, project, &["show", job]);
    assert_success(&out);
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Where `store_path` is in the sandbox's store.
fn in_store(sandbox: &Sandbox, store_path: &str) -> PathBuf {
    let base = Path::new(store_path).file_name().expect("a base name");
    sandbox.store().join("store").join(base)
}

/// The `fetches` of a shown job, as `(url, outPath)`.
fn fetches(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["fetches"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|f| {
                    (
                        f["url"].as_str().unwrap_or_default().to_owned(),
                        f["outPath"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_pinned_source_used_as_a_path_is_shown_offline_then_fetched_by_the_build() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    let (tree, file) = recorded();

    // No server yet: the jobs show, naming what their build will fetch, and nothing is fetched.
    let offline = unreachable_base();
    write_fetching_project(&project, &offline, "greeter.tar.gz");
    let url = format!("{offline}/greeter.tar.gz");
    let raw = show(&sandbox, &project, "/raw");
    assert_eq!(
        raw["env"]["src"],
        tree.path.as_str(),
        "Nix's path of the tree"
    );
    assert_eq!(
        raw["env"]["archive"],
        file.path.as_str(),
        "Nix's path of the file"
    );
    let mut want = vec![
        (url.clone(), tree.path.clone()),
        (url.clone(), file.path.clone()),
    ];
    want.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(fetches(&raw), want);
    let tpl = show(&sandbox, &project, "/tpl");
    assert_eq!(
        tpl["env"]["envText"],
        format!("src is {}", tree.path).as_str()
    );
    assert_eq!(fetches(&tpl), vec![(url, tree.path.clone())]);
    assert!(!in_store(&sandbox, &tree.path).exists(), "nothing fetched");
    assert!(!in_store(&sandbox, &file.path).exists(), "nothing fetched");

    // The build fetches both, at the same paths whatever the URL, and uses them.
    let server = serve_tarballs(&sandbox);
    write_fetching_project(&project, &server.url, "greeter.tar.gz");
    let out = makes_in(&sandbox, &project, &["--no-run", "/raw"]);
    assert_success(&out);
    let result = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let size = std::fs::metadata(fixture("deferred-fetch").join("greeter.tar.gz"))
        .expect("tarball")
        .len();
    assert_eq!(
        std::fs::read_to_string(&result).expect("output"),
        format!("hello from a tarball fetched at build time\ngreet\n{size}\n")
    );
    assert_eq!(
        server.requests(),
        vec!["/greeter.tar.gz", "/greeter.tar.gz"],
        "the tree and the file, once each"
    );
    assert!(in_store(&sandbox, &tree.path).join("bin/greet").exists());
    assert!(in_store(&sandbox, &file.path).is_file());

    // Fetched once: another job using the tree builds without a download, and shows none.
    let out = makes_in(&sandbox, &project, &["--no-run", "/tpl"]);
    assert_success(&out);
    let result = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        std::fs::read_to_string(Path::new(&result).join("template")).expect("template"),
        format!("src is {}\n", tree.path)
    );
    assert_eq!(server.requests().len(), 2);
    assert!(show(&sandbox, &project, "/tpl").get("fetches").is_none());
}

#[test]
fn a_deferred_download_that_differs_from_its_pin_is_refused() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    let (tree, _) = recorded();
    let server = serve_tarballs(&sandbox);
    write_fetching_project(&project, &server.url, "impostor.tar.gz");
    let out = makes_in(&sandbox, &project, &["--no-run", "/tpl"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let url = format!("{}/impostor.tar.gz", server.url);
    assert!(stderr.contains(&url), "names the URL: {stderr}");
    assert!(
        stderr.contains(&format!("expected sha256:{}", tree.sha256)),
        "names the pinned hash: {stderr}"
    );
    assert!(
        stderr.contains(", got sha256:"),
        "names the hash found: {stderr}"
    );
    assert!(!in_store(&sandbox, &tree.path).exists(), "nothing kept");
}

#[test]
fn a_fetched_tree_read_during_evaluation_is_fetched_then() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    let (tree, _) = recorded();

    // Unreachable, the read fails at evaluation, naming the download.
    let offline = unreachable_base();
    write_fetching_project(&project, &offline, "greeter.tar.gz");
    let out = makes_in(&sandbox, &project, &["show", "/read"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("unable to download '{offline}/greeter.tar.gz'")),
        "{stderr}"
    );

    // Served, `makes show` fetches it to read it: once, checked against the pin.
    let server = serve_tarballs(&sandbox);
    write_fetching_project(&project, &server.url, "greeter.tar.gz");
    let doc = show(&sandbox, &project, "/read");
    assert_eq!(
        doc["env"]["envText"],
        "hello from a tarball fetched at build time\n"
    );
    assert_eq!(server.requests(), vec!["/greeter.tar.gz"]);
    assert!(doc.get("fetches").is_none(), "nothing left to fetch");
    assert!(in_store(&sandbox, &tree.path).join("default.nix").exists());
    show(&sandbox, &project, "/read");
    assert_eq!(
        server.requests().len(),
        1,
        "found in the store the next time"
    );

    // A read of a download that differs from its pin is refused as the build refuses it.
    write_fetching_project(&project, &server.url, "impostor.tar.gz");
    let other = Sandbox::new();
    let out = makes_in(&other, &project, &["show", "/read"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "hash mismatch in file downloaded from '{}/impostor.tar.gz'",
            server.url
        )) && stderr.contains(&format!("specified: sha256:{}", tree.sha256)),
        "{stderr}"
    );
}

#[test]
fn a_fetched_tree_copied_with_a_filter_is_fetched_then_and_copied_as_nix_copies_it() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    let server = serve_tarballs(&sandbox);
    write_fetching_project(&project, &server.url, "greeter.tar.gz");
    let filtered = std::fs::read_to_string(fixture("deferred-fetch").join("expected.txt"))
        .expect("expected.txt")
        .lines()
        .find_map(|l| l.strip_prefix("filtered - "))
        .expect("a filtered line")
        .to_owned();
    let doc = show(&sandbox, &project, "/filtered");
    assert_eq!(
        doc["env"]["envText"],
        format!("copy is {filtered}").as_str(),
        "Nix's path of the filtered copy"
    );
    assert_eq!(server.requests(), vec!["/greeter.tar.gz"]);
    let copy = in_store(&sandbox, &filtered);
    assert!(copy.join("hello.txt").is_file());
    assert!(!copy.join("bin").exists(), "the filter left bin/ out");
}

#[test]
fn the_recorded_paths_are_the_ones_nix_gives() {
    // The recording must be current: with Nix installed, record it again and compare.
    if !(have_tool("nix-store") && have_tool("nix-instantiate")) {
        eprintln!("note: skipping: nix-store is needed to record Nix's paths");
        return;
    }
    let sandbox = Sandbox::new();
    let again = sandbox.dir.path().join("expected.txt");
    let out = std::process::Command::new(fixture("deferred-fetch").join("record.sh"))
        .arg(&again)
        .output()
        .expect("record.sh runs");
    assert_success(&out);
    assert_eq!(
        std::fs::read_to_string(&again).expect("recorded"),
        std::fs::read_to_string(fixture("deferred-fetch").join("expected.txt")).expect("recorded"),
        "run fixtures/deferred-fetch/record.sh"
    );
}
