//! makes' own helpers around scripts: `makeSearchPaths` and `makeTemplate` (makeScript, which
//! needs bash from a package set, is tested with the stand-in nixpkgs in nix_packages.rs).

use crate::common::{run, write_project, Sandbox};
use std::process::Command;

/// Runs `job`, which must fail with exit code 1 and nothing on stdout; returns stderr.
fn failing_job(sandbox: &Sandbox, project: &std::path::Path, job: &str) -> String {
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(project)
        .arg(job)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{job}");
    assert!(out.stdout.is_empty(), "{job}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const PROJECT: &str = r#"{ makeTemplate, makeSearchPaths, makeDerivation, toFileJson, ... }:
let
  tool = makeDerivation {
    name = "tool";
    builder = ''
      mkdir -p $out/bin $out/share
      printf '#!/bin/sh\necho tool ran\n' > $out/bin/tool
      chmod +x $out/bin/tool
    '';
  };
in {
  jobs."/paths" = makeSearchPaths {
    bin = [ tool ];
    export = [ [ "MY_VAR" tool "/share" ] ];
  };
  jobs."/template" = makeTemplate {
    name = "greeting";
    template = "hello __argWho__ from __argTool__";
    replace = { __argWho__ = "world"; __argTool__ = tool; };
    replaceBase64.__argSecret__ = "s3cr3t";
    searchPaths.bin = [ tool ];
  };
  jobs."/json" = toFileJson "settings.json" { b = [ 1 "two" 3.0 0.5 ]; a = tool; };
  jobs."/unused" = makeTemplate { name = "u"; template = "x"; replace.__argUnused__ = "y"; };
  jobs."/left" = makeTemplate { name = "l"; template = "x __argLeft__"; };
  jobs."/invalid" = makeTemplate { name = "i"; template = "x __bad__"; replace.__bad__ = "y"; };
}
"#;

#[test]
fn make_search_paths_and_make_template_write_their_template() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("helpers");
    write_project(
        &project,
        &PROJECT.replace("__argTool__\";", "__argTool__ __argSecret__\";"),
    );
    let paths = sandbox.build_dir(&project, "/paths");
    // Sourced, it puts the tool on PATH and exports the variable (the store is not at
    // /nix/store on this host: the template's paths are moved to where it is).
    let store = sandbox.store().join("store");
    let out = run(Command::new("bash").arg("-c").arg(format!(
        "PATH=/usr/bin:/bin; source <(sed 's|/nix/store|{}|g' {}/template); tool; echo \"$MY_VAR\"",
        store.display(),
        paths.display()
    )));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "tool ran");
    assert!(
        lines[1].starts_with(&store.display().to_string()) && lines[1].ends_with("-tool/share"),
        "{stdout}"
    );

    let template = sandbox.build_dir(&project, "/template");
    let text = std::fs::read_to_string(template.join("template")).expect("template");
    let (head, body) = text
        .split_once("\n\n")
        .expect("source line, blank line, text");
    assert!(
        head.starts_with("source \"/nix/store/")
            && head.ends_with("-make-template-for-make-search-paths/template\""),
        "{text}"
    );
    assert!(body.starts_with("hello world from /nix/store/"), "{text}");
    // replaceBase64 gives the value base64-encoded.
    assert!(body.ends_with("-tool czNjcjN0\n"), "{text}");

    // toFileJson: the file itself, builtins.toJSON of the value (store paths as strings).
    let out = run(sandbox.makes().arg("--project").arg(&project).arg("/json"));
    let file = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
    assert!(
        file.to_string_lossy().ends_with("-settings.json"),
        "{file:?}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("a file")).expect("JSON");
    // Whole floats as Nix 2.8 writes them: `3`, not `3.0`.
    assert_eq!(json["b"], serde_json::json!([1, "two", 3, 0.5]));
    assert!(json["a"].as_str().is_some_and(|p| p.ends_with("-tool")));

    for (job, message) in [
        ("/unused", "argument is not being used: __argUnused__"),
        ("/left", "__argLeft__ is not replaced"),
        ("/invalid", "invalid placeholder '__bad__'"),
    ] {
        let stderr = failing_job(&sandbox, &project, job);
        assert!(stderr.contains(message), "{job}: {stderr}");
        assert!(stderr.contains("makes.nix:"), "{job}: {stderr}");
    }
}

#[test]
fn fetch_url_downloads_to_nix_s_path_and_checks_the_hash() {
    let sandbox = Sandbox::new();
    let files = sandbox.dir.path().join("files");
    std::fs::create_dir_all(&files).expect("dir");
    std::fs::write(files.join("hello-fetch.txt"), "hello fetch\n").expect("file");
    let server = crate::cache_harness::CacheServer::start(&files);
    let project = sandbox.dir.path().join("fetch");
    let good = "4c735370fbf3a79b08ebb5ef3fc7d3a91e0206181d6ae94ee4fe5a88882a4f1d";
    write_project(
        &project,
        &format!(
            r#"{{ fetchUrl, ... }}: {{
  jobs."/file" = fetchUrl {{ url = "{url}/hello-fetch.txt"; sha256 = "{good}"; }};
  jobs."/bad" = fetchUrl {{ url = "{url}/hello-fetch.txt"; sha256 = "{bad}"; }};
  jobs."/missing" = fetchUrl {{ url = "{url}/nope.txt"; sha256 = "{good}"; }};
}}"#,
            url = server.url,
            bad = "0".repeat(64),
        ),
    );
    let out = run(sandbox.makes().arg("--project").arg(&project).arg("/file"));
    let file = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
    // The path `nix-store --add-fixed sha256` gives the same file: Nix's fetchurl path.
    assert!(
        file.ends_with("dsdqjxybqg95ghwphs88dqqyrl5l5fn2-hello-fetch.txt"),
        "{file:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("file"),
        "hello fetch\n"
    );

    for (job, message) in [("/bad", "hash mismatch"), ("/missing", "HTTP 404")] {
        let stderr = failing_job(&sandbox, &project, job);
        assert!(stderr.contains(message), "{job}: {stderr}");
        assert!(stderr.contains(&server.url), "{job}: {stderr}");
        // Nothing half-written: the store holds the good file only.
        let entries: Vec<String> = std::fs::read_dir(sandbox.store().join("store"))
            .expect("store")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with("hello-fetch.txt") || n.ends_with("nope.txt"))
            .collect();
        assert_eq!(
            entries,
            ["dsdqjxybqg95ghwphs88dqqyrl5l5fn2-hello-fetch.txt"],
            "{job}"
        );
    }
}

#[test]
fn fetch_archive_unpacks_to_nix_s_path_and_checks_the_nar_hash() {
    let sandbox = Sandbox::new();
    let tree = sandbox.dir.path().join("tree");
    std::fs::create_dir_all(tree.join("proj-1.0/bin")).expect("dirs");
    std::fs::write(tree.join("proj-1.0/README"), "hi\n").expect("file");
    let run_script = tree.join("proj-1.0/bin/run");
    std::fs::write(&run_script, "#!/bin/sh\necho run\n").expect("file");
    run(Command::new("chmod").arg("755").arg(&run_script));
    let files = sandbox.dir.path().join("files");
    std::fs::create_dir_all(&files).expect("dir");
    for (name, flag) in [("proj.tar.gz", "-z"), ("proj.tar.xz", "-J")] {
        run(Command::new("tar")
            .arg("-c")
            .arg(flag)
            .arg("-f")
            .arg(files.join(name))
            .arg("-C")
            .arg(&tree)
            .arg("proj-1.0"));
    }
    let server = crate::cache_harness::CacheServer::start(&files);
    // What `nix-prefetch-url --unpack` says of this tree, and the path Nix gives it.
    let hash = "094bnp8cglkhjjrmh71klab5n8md0vzjfayj4a4xbjp4p8nrnwl0";
    let project = sandbox.dir.path().join("archive");
    write_project(
        &project,
        &format!(
            r#"{{ fetchArchive, ... }}: {{
  jobs."/gz" = fetchArchive {{ url = "{url}/proj.tar.gz"; sha256 = "{hash}"; }};
  jobs."/xz" = fetchArchive {{ url = "{url}/proj.tar.xz"; sha256 = "{hash}"; }};
  jobs."/flat" = fetchArchive {{ url = "{url}/proj.tar.gz"; sha256 = "{hash}"; stripRoot = false; }};
}}"#,
            url = server.url,
        ),
    );
    for job in ["/gz", "/xz"] {
        let out = run(sandbox.makes().arg("--project").arg(&project).arg(job));
        let dir = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
        assert!(
            dir.ends_with("77xd7g3p8wx784ck4agqw4dj7794bzgn-source"),
            "{dir:?}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("README")).expect("README"),
            "hi\n"
        );
        let ran = run(&mut Command::new(dir.join("bin/run")));
        assert_eq!(String::from_utf8_lossy(&ran.stdout), "run\n");
    }
    // Without stripRoot the tree is another one: its NAR hash is not the pinned one (in a
    // new store: where the path is valid already, nothing is fetched, as in Nix).
    let fresh = Sandbox::new();
    let out = fresh
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/flat")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hash mismatch"));
}
