//! Patterns of the corpus's last rows, each as a small project of its own: a makes pin at a
//! commit between two release tags (the Node.js versions and `shouldIgnoreScripts` of that
//! release), a checkout of makes itself (its own version's rules), nixpkgs' `lib.getOutput` on
//! a package `makes show` does not resolve, and a package's output read during evaluation.

use crate::common::{write_project, Sandbox};
use std::path::Path;
use std::process::Output;

fn makes(sandbox: &Sandbox, project: &Path, args: &[&str]) -> Output {
    sandbox
        .makes()
        .arg("--project")
        .arg(project)
        .args(args)
        .output()
        .expect("makes starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Node.js modules as projects of makes 21.10-23.07 write them: Node.js 14, scripts ignored.
const NODE_PROJECT: &str = r#"{ makeNodeJsModules, ... }: {
  jobs."/node14" = makeNodeJsModules {
    name = "x";
    nodeJsVersion = "14";
    packageJson = ./package.json;
    packageLockJson = ./package-lock.json;
    shouldIgnoreScripts = true;
  };
}"#;

fn node_project(dir: &Path) {
    write_project(dir, NODE_PROJECT);
    std::fs::write(dir.join("package.json"), "{}\n").expect("write");
    std::fs::write(
        dir.join("package-lock.json"),
        "{ \"lockfileVersion\": 2, \"dependencies\": {} }\n",
    )
    .expect("write");
}

#[test]
fn a_pin_at_a_commit_between_tags_gets_the_release_below_it() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("pinned");
    node_project(&dir);
    // Without a pin: the latest rules, whose form (node2nix's, from 24.01) has no
    // `shouldIgnoreScripts`.
    let out = makes(&sandbox, &dir, &["show", "/node14"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unexpected argument 'shouldIgnoreScripts'"),
        "{}",
        text(&out.stderr)
    );
    // A commit of makes' main branch 16 commits after the tag 23.04.
    std::fs::write(
        dir.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit {\n  url = \"https://github.com/fluidattacks/makes\";\n  \
         ref = \"refs/heads/main\";\n  rev = \"91ee9fef013a9e3ad31fa4aac504eb62fd9639d1\";\n}; }\n",
    )
    .expect("write");
    let out = makes(&sandbox, &dir, &["--list", "--verbose"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "the rules of makes 23.04 apply: makes.lock.nix pins makes at commit \
             91ee9fef013a9e3ad31fa4aac504eb62fd9639d1, after the tag 23.04"
        ),
        "{}",
        text(&out.stderr)
    );
    let out = makes(&sandbox, &dir, &["show", "/node14"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(spec["name"], "make-node-js-modules-for-x");
    assert_eq!(spec["env"]["envShouldIgnoreScripts"], "1", "{spec}");
}

#[test]
fn a_checkout_of_makes_itself_gets_its_own_version() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("makes-itself");
    node_project(&dir);
    std::fs::create_dir_all(dir.join("src/evaluator")).expect("mkdir");
    std::fs::write(dir.join("src/evaluator/default.nix"), "{ }: { }\n").expect("write");
    std::fs::write(
        dir.join("default.nix"),
        "let makesVersion = \"22.02\"; in { inherit makesVersion; }\n",
    )
    .expect("write");
    let out = makes(&sandbox, &dir, &["--list", "--verbose"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the rules of makes 22.02 apply: a checkout of makes itself"),
        "{}",
        text(&out.stderr)
    );
    let out = makes(&sandbox, &dir, &["show", "/node14"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn get_output_of_an_unresolved_package_selects_the_output_as_nix_does() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("get-output");
    // nixpkgs' lib.getOutput, word for word.
    write_project(
        &dir,
        r#"{ __nixpkgs__, makeScript, ... }:
let
  getOutput = output: pkg:
    if ! pkg ? outputSpecified || ! pkg.outputSpecified
    then pkg.${output} or pkg.out or pkg
    else pkg;
in {
  jobs."/tool" = makeScript {
    name = "tool";
    entrypoint = "jq --version";
    searchPaths.bin = [ (getOutput "bin" __nixpkgs__.jq) ];
  };
}"#,
    );
    let out = makes(&sandbox, &dir, &["show", "/tool"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let packages: Vec<&str> = spec["packages"]
        .as_array()
        .expect("the packages it uses")
        .iter()
        .filter_map(|p| p["package"].as_str())
        .collect();
    assert!(packages.contains(&"jq.bin"), "the bin output: {spec}");
}

#[test]
fn reading_a_fetch_during_evaluation_says_it_is_not_built() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("read-fetch");
    write_project(
        &dir,
        r#"{ __nixpkgs__, makeScript, ... }:
let
  data = builtins.readFile (__nixpkgs__.fetchurl {
    url = "https://example.org/data.yaml";
    sha256 = "sha256-oVYZfTK1HLnMIbP1A55J20Lmhx+FTqdVDQzsc6tODNg=";
  });
in {
  jobs."/data" = makeScript {
    name = "data";
    entrypoint = "echo ${data}";
  };
}"#,
    );
    let out = makes(&sandbox, &dir, &["show", "/data"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is the output of 'fetchurl', which is not built")
            && stderr.contains("import from derivation"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// makes' own modules run Node.js tools with the version their release offers:
/// `lintGitCommitMsg` of 22.09 runs commitlint on Node.js 14 (24.02's on 21, which 22.09's
/// makeNodeJsVersion would refuse).
#[test]
fn a_module_of_an_older_release_uses_that_releases_node() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("commit-msg");
    write_project(
        &dir,
        "{ ... }: { lintGitCommitMsg = { enable = true; branch = \"main\"; }; }\n",
    );
    std::fs::write(
        dir.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit { url = \"https://github.com/fluidattacks/makes\"; \
         ref = \"refs/tags/22.09\"; }; }\n",
    )
    .expect("write");
    let out = makes(&sandbox, &dir, &["show", "/lintGitCommitMsg"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let spec = text(&out.stdout);
    assert!(spec.contains("nodejs-14"), "Node.js 14: {spec}");
}
