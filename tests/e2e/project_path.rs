//! `projectPath "/sub"` gives the store path Nix gives for that part of the project with
//! `.git` left out: `builtins.path { name = "sub"; path = ./sub; filter = ...; }` (compared with
//! nix-instantiate when it is installed, and with makes' own `builtins.path` always).

use crate::common::{run, write_project, Sandbox};
use std::process::Command;

#[test]
fn project_path_is_the_filtered_store_path_nix_gives() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("proj");
    write_project(
        &project,
        "{ makeDerivation, projectPath, ... }: { jobs.\"/d\" = makeDerivation { name = \"d\"; env.envSrc = projectPath \"/sub\"; env.envRoot = projectPath \"/\"; builder = \"touch $out\"; }; }",
    );
    std::fs::create_dir_all(project.join("sub/.git")).expect("dirs");
    std::fs::create_dir_all(project.join(".git")).expect("dirs");
    std::fs::write(project.join("sub/.git/HEAD"), "ref: x\n").expect("file");
    std::fs::write(project.join(".git/HEAD"), "ref: y\n").expect("file");
    std::fs::write(project.join("sub/code.txt"), "code\n").expect("file");
    let shown = run(sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["show", "/d"]));
    let spec: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    let src = spec["env"]["envSrc"].as_str().expect("envSrc").to_owned();
    let root = spec["env"]["envRoot"].as_str().expect("envRoot").to_owned();
    assert!(
        src.ends_with("-sub") && root.ends_with("-src"),
        "{src} {root}"
    );

    let expr = |rel: &str, name: &str| {
        format!(
            "[ (builtins.path {{ name = \"{name}\"; path = {}{rel}; filter = p: t: baseNameOf p != \".git\"; }}) ]",
            project.display()
        )
    };
    for (rel, name, want) in [("/sub", "sub", &src), ("", "src", &root)] {
        let ours = run(sandbox
            .makes()
            .args(["eval", "--strict", "--expr", &expr(rel, name)]));
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout).trim(),
            format!("[ \"{want}\" ]")
        );
        let nix = Command::new("nix-instantiate")
            .env("NIX_REMOTE", "dummy://")
            .args(["--eval", "--strict", "--expr", &expr(rel, name)])
            .output();
        if let Ok(out) = nix {
            if out.status.success() {
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout).trim(),
                    format!("[ \"{want}\" ]"),
                    "Nix 2.8 agrees"
                );
            }
        }
    }
}
