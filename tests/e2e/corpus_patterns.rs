//! What real projects of the corpus (tests/corpus) showed, each as a small fixture of its own
//! (fixtures/corpus-patterns/): a pin at no release tag, module arguments makes does not pass,
//! lib of a pinned nixpkgs offline, nixpkgs functions called, a package set listed by
//! `mapAttrs`, a deploy job's `setup`, a package set mapped and updated but never listed.

use crate::common::{copy_tree, fixture, have_tool, run, Sandbox};
use crate::registry_harness::{Registry, RegistryConfig};
use std::path::Path;
use std::process::{Command, Output};

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

#[test]
fn a_package_set_is_listed_by_its_backend_and_never_silently_empty() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    copy_tree(&fixture("corpus-patterns/package-set-listing"), &project);
    copy_tree(
        &fixture("nix-packages").join("stand-in-nixpkgs"),
        &project.join("stand-in-nixpkgs"),
    );
    // No backend: the listing is an error naming the set and where it is listed.
    let out = makes(&sandbox, &project, &["show", "/listed"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot list the attributes of a set: the names of 'tools' of the package set path:./stand-in-nixpkgs are not known"),
        "{stderr}"
    );
    // `mapAttrs` keeps the set unlisted: the error is where `attrNames` lists the result.
    assert!(stderr.contains("makes.nix:14:45"), "{stderr}");
    assert!(stderr.contains("--packages nix"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    if !have_tool("nix-instantiate") {
        return;
    }
    // Backend nix: the names are the set's own, and `with` finds the packages in the result.
    let out = sandbox
        .makes()
        .env(
            "NIX_CONFIG",
            "substituters =\nbuild-users-group =\nsandbox = false",
        )
        .args(["--packages", "nix", "--project"])
        .arg(&project)
        .arg("/listed")
        .output()
        .expect("makes starts");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let built = std::fs::read_to_string(text(&out.stdout).trim()).expect("the built file");
    let lines: Vec<&str> = built.lines().collect();
    assert_eq!(lines[0], "lister");
    assert!(
        lines[1].starts_with("/nix/store/") && lines[1].ends_with("-lister-0.1"),
        "{built}"
    );
    assert_eq!(lines[2], "set-listed");
}

#[test]
fn a_deploy_jobs_setup_is_sourced_before_the_push() {
    let sandbox = Sandbox::new();
    let project = fixture("corpus-patterns/deploy-setup");
    let out = makes(&sandbox, &project, &["show", "/deployContainer/app"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).expect("show prints JSON");
    let setup = spec["setup"].as_array().expect("setup is listed");
    assert_eq!(setup.len(), 2, "{spec}");
    assert!(
        setup[0]
            .as_str()
            .is_some_and(|p| p.ends_with("-registry-secrets")),
        "{spec}"
    );
    if !["docker-registry", "htpasswd", "skopeo"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    let registry = Registry::start(RegistryConfig {
        htpasswd: Some(("makes", "setup-pass")),
        ..RegistryConfig::default()
    });
    let host = registry.host();
    let secrets = sandbox.dir.path().join("secrets");
    std::fs::create_dir_all(&secrets).expect("mkdir");
    let deploy = |secrets_dir: &Path| {
        sandbox
            .makes()
            .env("MAKES_INSECURE_REGISTRIES", &host)
            .env("REGISTRY_HOST", &host)
            .env("SECRETS_DIR", secrets_dir)
            .arg("--project")
            .arg(&project)
            .arg("/deployContainer/app")
            .output()
            .expect("makes starts")
    };
    // A setup script that fails stops the job before the push, and says so.
    let failed = deploy(&sandbox.dir.path().join("no-secrets"));
    assert!(!failed.status.success());
    let stderr = text(&failed.stderr);
    assert!(stderr.contains("the deploy job's setup failed"), "{stderr}");
    assert!(
        stderr.contains("Loading the registry credentials"),
        "{stderr}"
    );
    // The credentials and the tag come from the setup: none is in the caller's environment.
    std::fs::write(secrets.join("token"), "setup-pass").expect("write the token");
    let deployed = deploy(&secrets);
    assert!(deployed.status.success(), "{}", text(&deployed.stderr));
    let line = text(&deployed.stdout).trim().to_owned();
    let (reference, digest) = line.split_once('@').expect("REF@DIGEST on stdout");
    assert_eq!(reference, format!("{host}/app:from-setup-for-makes"));
    let inspected = run(Command::new("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            "--creds",
            "makes:setup-pass",
        ])
        .arg(format!("docker://{reference}")));
    let inspected: serde_json::Value =
        serde_json::from_slice(&inspected.stdout).expect("skopeo prints JSON");
    assert_eq!(inspected["Digest"].as_str(), Some(digest));
}

#[test]
fn a_mapped_package_set_is_selected_from_without_listing_its_names() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    copy_tree(&fixture("corpus-patterns/opaque-package-sets"), &project);
    copy_tree(
        &fixture("nix-packages").join("stand-in-nixpkgs"),
        &project.join("stand-in-nixpkgs"),
    );
    // No backend: `mapAttrs` over the set and `//` with it keep it unlisted, and the function
    // that makes a copy of itself per level is handed over once.
    let out = makes(&sandbox, &project, &["show", "/opaque"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("hello.overrideAttrs"), "{shown}");
    if !have_tool("nix-instantiate") {
        return;
    }
    // Backend nix: the packages are those Nix gives for the same code, and `?` asks the set.
    let out = sandbox
        .makes()
        .env(
            "NIX_CONFIG",
            "substituters =\nbuild-users-group =\nsandbox = false",
        )
        .args(["--packages", "nix", "--project"])
        .arg(&project)
        .arg("/opaque")
        .output()
        .expect("makes starts");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let built = std::fs::read_to_string(text(&out.stdout).trim()).expect("the built file");
    let nix = Command::new("nix-instantiate")
        .current_dir(&project)
        .args(["--eval", "--strict", "--json", "--expr"])
        .arg(
            r#"let o = import ./overrides.nix (import ./stand-in-nixpkgs { }); in
            [ "${o.hello}" "${o.greeter2}" (if o ? absent then "absent-present" else "absent-missing") ]"#,
        )
        .output()
        .expect("nix-instantiate starts");
    assert!(nix.status.success(), "{}", text(&nix.stderr));
    let expected: Vec<String> = serde_json::from_slice(&nix.stdout).expect("a JSON list");
    assert_eq!(built.lines().collect::<Vec<_>>(), expected, "{built}");
    assert!(expected[0].ends_with("-hello-2.12"), "{expected:?}");
}
