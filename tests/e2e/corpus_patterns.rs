//! What real projects of the corpus (tests/corpus) showed, each as a small fixture of its own
//! (fixtures/corpus-patterns/): a pin at no release tag, module arguments makes does not pass,
//! lib of a pinned nixpkgs offline, nixpkgs functions called.

use crate::common::{fixture, Sandbox};
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

#[test]
fn a_pin_at_no_release_tag_gets_the_rules_of_the_release_the_project_was_written_for() {
    let sandbox = Sandbox::new();
    let project = fixture("corpus-patterns/untagged-pin");
    let out = makes(&sandbox, &project, &["--list", "--verbose"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "/deployContainer/app\n/formatPython/default\n/lintPython/dirOfModules/lib\n\
         /lintPython/dirOfModules/lib/alpha\n"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "makes.lock.nix pins makes at commit 1cde20d728032f9ab3bbd37e80a5531db6ff1b93, after \
             the tag 24.02: the rules of 24.02"
        ),
        "{stderr}"
    );
    // No warning that the modules belong to another release: they are the release's own.
    assert!(!stderr.contains("is no option of makes"), "{stderr}");
    let out = makes(&sandbox, &project, &["show", "/deployContainer/app"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).expect("show prints JSON");
    assert_eq!(spec["image"], "ghcr.io/org/app:2");
}

#[test]
fn module_arguments_makes_does_not_pass_fail_only_where_used() {
    let sandbox = Sandbox::new();
    let project = fixture("corpus-patterns/unpassed-argument");
    let out = makes(&sandbox, &project, &["--list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "/kept-default\n/secretsForAwsFromEnv/dev\n/uses-it\n"
    );
    // A formal with a default keeps it.
    let out = makes(&sandbox, &project, &["show", "/kept-default"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("default"));
    let out = makes(&sandbox, &project, &["show", "/uses-it"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("makes passes no argument 'secretsForAwsFromEnv' to modules"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn lib_of_a_pinned_nixpkgs_is_read_from_the_stand_in_when_the_source_is_not_at_hand() {
    let sandbox = Sandbox::new();
    let project = fixture("corpus-patterns/pinned-lib-offline");
    let stand_in = project.join("stand-in-lib");
    let stand_in = stand_in.to_str().expect("a UTF-8 path");
    let out = makes(
        &sandbox,
        &project,
        &["--option", "nixpkgs-lib", stand_in, "--list"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "/envVars/from-one\n/envVars/from-two\n");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("its lib is the option nixpkgs-lib's"),
        "{stderr}"
    );
    // Without it the source must be fetched (this pin cannot be): the error says what helps.
    let out = makes(&sandbox, &project, &["--list"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot read nixpkgs' lib"), "{stderr}");
    assert!(stderr.contains("nixpkgs-lib"), "{stderr}");
    // A directory that is no lib is refused at once.
    let out = makes(
        &sandbox,
        &project,
        &["--option", "nixpkgs-lib", "/nonexistent", "--list"],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no nixpkgs lib directory"));
}

#[test]
fn nixpkgs_functions_called_are_named_by_show() {
    let sandbox = Sandbox::new();
    let project = fixture("corpus-patterns/nixpkgs-function-calls");
    // show resolves nothing: a call is a reference its backend builds, named by the call.
    for (job, function) in [
        ("/derivation", "stdenv.mkDerivation (…)"),
        ("/image", "dockerTools.exportImage (…)"),
        ("/override", "hello.override (…)"),
    ] {
        let out = makes(&sandbox, &project, &["show", job]);
        assert!(out.status.success(), "{job}: {}", text(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(doc["kind"], "package", "{job}");
        assert_eq!(doc["reference"]["package"], function, "{job}");
    }
    // A native helper beside them still gives a spec.
    let out = makes(&sandbox, &project, &["show", "/package"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn platform_predicates_of_a_package_set_are_the_hosts() {
    let sandbox = Sandbox::new();
    let project = fixture("corpus-patterns/nixpkgs-function-calls");
    let out = makes(&sandbox, &project, &["show", "/platform"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let spec = text(&out.stdout);
    let expected = if cfg!(target_os = "linux") {
        "linux"
    } else {
        ""
    };
    assert!(spec.contains(&format!("\"{expected}\"")), "{spec}");
}
