//! `builtins.derivation` outputs used inside makes' own functions (fixtures/derivation-inputs):
//! in a makeDerivation's and a makeScript's `searchPaths.bin`, a makeTemplate's and a
//! makeScript's `replace` (one output of two), an image's contents and config, makes' own
//! `symlinkJoin`'s paths. makes builds them from their `.drv` with its own sandbox before
//! what uses them, at the output path `nix-instantiate` gives. A derivation taking an output
//! of makes is built after it.

use crate::common::{
    assert_success, fixture, have_tool, host_tools_nixpkgs, layer_store_paths, run, run_image,
    write_project, Sandbox,
};
use std::path::PathBuf;
use std::process::Command;

/// What `nix-instantiate` 2.8 gives `(import ./tool.nix).outPath` on x86_64-linux.
const RECORDED_TOOL_OUT: &str = "/nix/store/bxq7bi0gymcg6fya6zi8zpqzvf4ak2kr-tool-1.0";

/// The tool's output path: Nix's live when `nix-instantiate` is installed (read only: it
/// writes nothing to /nix/store), else the recording (of x86_64-linux).
fn nix_tool_out() -> Option<String> {
    if have_tool("nix-instantiate") {
        let out = run(Command::new("nix-instantiate")
            .current_dir(fixture("derivation-inputs"))
            .args([
                "--readonly-mode",
                "--eval",
                "-E",
                "(import ./tool.nix).outPath",
            ]));
        let printed = String::from_utf8_lossy(&out.stdout);
        return Some(printed.trim().trim_matches('"').to_owned());
    }
    (std::env::consts::ARCH == "x86_64").then(|| RECORDED_TOOL_OUT.to_owned())
}

/// Where makes' store of `sandbox` keeps `store_path`.
fn in_makes_store(sandbox: &Sandbox, store_path: &str) -> PathBuf {
    let base = store_path.rsplit('/').next().unwrap_or_default();
    sandbox.store().join("store").join(base)
}

#[test]
fn a_derivation_in_search_paths_is_built_by_makes_at_nix_s_output_path() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .makes()
        .args(["--packages", "lock", "--project"])
        .arg(fixture("derivation-inputs"))
        .arg("/drv")
        .output()
        .expect("makes runs");
    assert_success(&out);
    let result = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
    assert_eq!(
        std::fs::read_to_string(&result).expect("the result"),
        "hi from tool\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-tool-1.0.drv"), "{stderr}");
    if let Some(tool) = nix_tool_out() {
        let built = in_makes_store(&sandbox, &tool).join("bin/tool");
        assert!(
            built.is_file(),
            "{} was not built by makes",
            built.display()
        );
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(tool, RECORDED_TOOL_OUT, "the recording is stale");
        }
    }
}

#[test]
fn one_output_of_a_derivation_given_to_make_template_is_built() {
    let sandbox = Sandbox::new();
    let result = sandbox.build(&fixture("derivation-inputs"), "/template");
    assert_eq!(
        std::fs::read_to_string(&result).expect("the result"),
        "the doc output\n"
    );
}

#[test]
fn symlink_join_links_the_outputs_of_derivations_makes_built() {
    let sandbox = Sandbox::new();
    let joined = sandbox.build_dir(&fixture("derivation-inputs"), "/joined");
    for (link, target_end) in [
        ("bin/tool", "-tool-1.0/bin/tool"),
        ("note", "-notes-doc/note"),
    ] {
        let target = std::fs::read_link(joined.join(link)).expect("a link");
        let target = target.to_string_lossy().into_owned();
        assert!(target.ends_with(target_end), "{link} -> {target}");
        let in_store = target.strip_prefix("/nix/store/").expect("a store path");
        let built = sandbox.store().join("store").join(in_store);
        assert!(built.is_file(), "{} was not built", built.display());
    }
}

#[test]
fn a_derivation_using_an_output_of_makes_is_built_after_it() {
    let sandbox = Sandbox::new();
    let result = sandbox.build(&fixture("derivation-inputs"), "/made-into-derivation");
    assert_eq!(
        std::fs::read_to_string(&result).expect("the result"),
        "made by makes\n"
    );
}

#[test]
fn a_make_script_with_a_derivation_in_search_paths_runs_it() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let makes_set = host_tools_nixpkgs(&sandbox);
    let out = sandbox
        .makes()
        .env(
            "NIX_CONFIG",
            "substituters =\nbuild-users-group =\nsandbox = false",
        )
        .env("MAKES_NIXPKGS", &makes_set)
        .current_dir(fixture("derivation-inputs"))
        .args(["--packages", "nix", ".", "/script"])
        .output()
        .expect("makes runs");
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hi from tool\nthe doc output\n"
    );
}

#[test]
fn an_image_holds_a_derivation_in_its_contents_and_runs_it() {
    let sandbox = Sandbox::new();
    let result = sandbox.build(&fixture("derivation-inputs"), "/image");
    let in_layers: Vec<String> = layer_store_paths(&result)
        .into_iter()
        .flat_map(|(_, paths)| paths)
        .collect();
    assert!(
        in_layers.iter().any(|p| p.ends_with("-busybox-static")),
        "{in_layers:?}"
    );
    if !(have_tool("skopeo") && have_tool("umoci") && have_tool("runc")) {
        return;
    }
    assert_eq!(
        run_image(
            &sandbox,
            &format!("oci-archive:{}", result.display()),
            "derivation-contents"
        ),
        "hello from a derivation\n"
    );
}

#[test]
fn a_context_naming_a_derivation_never_instantiated_is_an_error() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("p");
    write_project(
        &project,
        r#"{ makeDerivation, ... }: {
  jobs."/x" = makeDerivation {
    name = "x";
    builder = builtins.appendContext "echo > $out"
      { "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-gone.drv" = { outputs = [ "out" ]; }; };
  };
}"#,
    );
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/x")
        .output()
        .expect("makes runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-gone.drv"),
        "{stderr}"
    );
}

#[test]
fn an_unprivileged_user_builds_the_same_image_of_a_derivation() {
    if !crate::common::running_as_root() || !have_tool("setpriv") {
        eprintln!("note: skipping: needs root to switch to an unprivileged user");
        return;
    }
    let as_root = Sandbox::new();
    let expected = as_root.build(&fixture("derivation-inputs"), "/image");
    let sandbox = Sandbox::new();
    let result = sandbox.build_as_nobody(&fixture("derivation-inputs"), "/image");
    assert_eq!(
        result.file_name(),
        expected.file_name(),
        "the same store path"
    );
    assert_eq!(
        std::fs::read(result).expect("result"),
        std::fs::read(expected).expect("expected")
    );
}
