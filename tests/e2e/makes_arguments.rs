//! makes' whole argument surface and every release's top-level options: a module naming every
//! argument of every release loads; an argument not implemented fails where it is used; the
//! pure helpers give what makes' own definitions give under the real Nix (recorded by
//! fixtures/makes-arguments/oracle/regenerate.sh); each release's modules list the jobs makes
//! lists.

use crate::common::{fixture, run, Sandbox};
use std::path::Path;
use std::process::Output;

fn makes(sandbox: &Sandbox, project: &Path, args: &[&str]) -> Output {
    run(sandbox.makes().arg("--project").arg(project).args(args))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn show(sandbox: &Sandbox, project: &Path, job: &str) -> serde_json::Value {
    let out = makes(sandbox, project, &["show", job]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("show prints JSON")
}

#[test]
fn a_module_naming_every_argument_of_every_release_loads() {
    let sandbox = Sandbox::new();
    let out = makes(&sandbox, &fixture("makes-arguments"), &["--list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "/make-env-vars\n/results\n/templates\n/to-bash-array\n/to-bash-map\n/uses-options\n"
    );
}

#[test]
fn the_pure_helpers_give_what_makes_definitions_give() {
    let sandbox = Sandbox::new();
    let project = fixture("makes-arguments");
    let doc = show(&sandbox, &project, "/results");
    let ours: serde_json::Value =
        serde_json::from_str(doc["env"]["envResults"].as_str().expect("a string")).expect("JSON");
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.join("oracle/expected.json")).expect("expected.json"),
    )
    .expect("JSON");
    let (ours, expected) = (
        ours.as_object().expect("set"),
        expected.as_object().expect("set"),
    );
    assert_eq!(ours.len(), expected.len());
    for (name, value) in expected {
        assert_eq!(ours.get(name), Some(value), "{name}");
    }
}

#[test]
fn the_recorded_oracle_is_what_nix_gives_for_makes_definitions() {
    // The recording must be current: with Nix installed, evaluate makes' definitions again.
    if !crate::common::have_tool("nix-instantiate") {
        return;
    }
    let oracle = fixture("makes-arguments/oracle");
    let out = run(std::process::Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(oracle.join("makes-args.nix")));
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(oracle.join("expected.json")).expect("recording"))
            .expect("JSON");
    assert_eq!(
        live, recorded,
        "run fixtures/makes-arguments/oracle/regenerate.sh"
    );
}

#[test]
fn the_project_helpers_read_the_project() {
    let sandbox = Sandbox::new();
    let doc = show(&sandbox, &fixture("makes-arguments"), "/results");
    let project: serde_json::Value =
        serde_json::from_str(doc["env"]["envProject"].as_str().expect("a string")).expect("JSON");
    assert_eq!(project["lsDirs"], serde_json::json!(["one", "two"]));
    assert_eq!(
        project["matching"],
        serde_json::json!(["/src/one/f.py", "/src/two/g.py"])
    );
    assert_eq!(
        project["stateDirs"]["global"],
        "$HOME_IMPURE/.cache/makes/state"
    );
    assert_eq!(project["system"], "x86_64-linux");
    assert_eq!(
        project["yaml"],
        serde_json::json!({ "a": 1, "list": ["x", "y"] })
    );
}

#[test]
fn the_template_helpers_are_templates_as_makes_names_them() {
    let sandbox = Sandbox::new();
    let doc = show(&sandbox, &fixture("makes-arguments"), "/templates");
    let env = &doc["env"];
    for (var, suffix) in [
        ("envArray", "-make-template-for-to-bash-array"),
        ("envMap", "-make-template-for-as-bash-map"),
        ("envVars", "-make-template-for-make-env-vars-for-example"),
        ("envLst", "-list.lst"),
        ("envParallel", "-make-derivation-parallel-for-p"),
        ("envYaml", "-data.yaml"),
        ("envToml", "-data.toml"),
        ("envJsonFromYaml", "-to-file-json-from-file-yaml"),
        ("envLibGit", "-make-template-for-lib-git"),
        ("envManagePorts", "-make-template-for-manage-ports"),
        ("envPatchShebangs", "-make-template-for-patch-shebangs"),
        ("envSsl", "-make-ssl-certificate-for-cert"),
        ("envScriptParallel", "-make-script-parallel-for-both"),
    ] {
        let path = env[var].as_str().expect("a store path");
        assert!(
            path.starts_with("/nix/store/") && path.ends_with(suffix),
            "{var}: {path}"
        );
    }
}

/// What `script` prints in bash.
fn bash(script: &str) -> String {
    stdout(&run(std::process::Command::new("bash")
        .arg("-c")
        .arg(script)))
}

/// `source DIR/template` in bash, with `/nix/store` moved to where the sandbox's store is.
fn source_template(sandbox: &Sandbox, dir: &Path) -> String {
    format!(
        "source <(sed 's|/nix/store|{}|g' '{}/template')",
        sandbox.store().join("store").display(),
        dir.display()
    )
}

#[test]
fn the_bash_templates_give_bash_what_makes_gives_it() {
    let sandbox = Sandbox::new();
    let project = fixture("makes-arguments");
    let array = source_template(&sandbox, &sandbox.build_dir(&project, "/to-bash-array"));
    let map = source_template(&sandbox, &sandbox.build_dir(&project, "/to-bash-map"));
    let vars = source_template(&sandbox, &sandbox.build_dir(&project, "/make-env-vars"));
    let printed = bash(&format!(
        "f() {{ {array} local arr; printf '<%s>\\n' \"${{arr[@]}}\"; }}; f"
    ));
    assert_eq!(printed, "<a b>\n<it's>\n<c>\n");
    let printed = bash(&format!(
        "f() {{ {map} m; for k in A 'B C'; do printf '%s=%s\\n' \"$k\" \"${{m[$k]}}\"; done; }}; f"
    ));
    assert_eq!(printed, "A=1\nB C=it's\n");
    let printed = bash(&format!(
        "info() {{ :; }}; {vars}; printf '%s|%s\\n' \"$VAR\" \"$OTHER\""
    ));
    assert_eq!(printed, "a value|it's\n");
}

#[test]
fn options_are_the_module_systems_option_sets() {
    let sandbox = Sandbox::new();
    let project = fixture("makes-arguments");
    let out = makes(&sandbox, &project, &["/uses-options"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = stdout(&out).trim().to_owned();
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
    )
    .expect("JSON");
    assert_eq!(
        written,
        serde_json::json!({
            "type": "option",
            "loc": ["jobs"],
            "isDefined": true,
            "definitions": 1,
            "lintNix": false,
            "read": false,
            "jobs": true,
        })
    );
}

#[test]
fn makes_24_12_modules_list_their_jobs() {
    let sandbox = Sandbox::new();
    let project = fixture("makes-modules/release-24.12");
    let out = makes(&sandbox, &project, &["--list", "--verbose"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "/deployContainer/app\n/dev/shell\n/envVars/example\n/envVars/other\n/from-config\n\
         /image\n/lintNix\n\
         /pipeline/ci\n/pipelineOnGitlab/ci\n/secretsForEnvFromSops/dev\n/testTerraform/infra\n\
         /uses-env-vars\n"
    );
    assert!(
        stderr(&out).contains("the rules of makes 24.12 apply"),
        "{}",
        stderr(&out)
    );
    let deploy = show(&sandbox, &project, "/deployContainer/app");
    assert_eq!(deploy["image"], "ghcr.io/org/app:1");
    assert_eq!(deploy["makesRelease"]["release"], "24.12");
    let from_config = show(&sandbox, &project, "/from-config");
    assert_eq!(from_config["env"]["envVar"], "other");
    assert_eq!(from_config["env"]["envAnswer"], "42");
}

#[test]
fn module_jobs_show_their_specs() {
    let sandbox = Sandbox::new();
    let project = fixture("makes-modules/release-24.12");
    // makes' lintNix: a script with statix of makes' package set.
    let lint = show(&sandbox, &project, "/lintNix");
    assert_eq!(lint["name"], "lint-nix-for-builtin");
    let packages: Vec<&str> = lint["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| p["package"].as_str())
        .collect();
    assert!(packages.contains(&"statix"), "{packages:?}");
    // makeEnvVars' template, and a job sourcing it.
    let env_vars = show(&sandbox, &project, "/envVars/example");
    assert_eq!(
        env_vars["name"],
        "make-template-for-make-env-vars-for-example"
    );
    let uses = show(&sandbox, &project, "/uses-env-vars");
    assert_eq!(uses["name"], "uses");
}

#[test]
fn makes_24_02_nests_deploy_images_and_reads_inline_imports() {
    let sandbox = Sandbox::new();
    let project = fixture("makes-modules/release-24.02");
    let out = makes(&sandbox, &project, &["--list", "--verbose"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "/deployContainer/app\n/envVars/inline\n/formatPython\n/from-inline-function\n\
         /lintPython/dirOfModules/lib\n/lintPython/dirOfModules/lib/alpha\n\
         /lintPython/dirOfModules/lib/beta\n/lintPython/module/pkg\n"
    );
    assert!(
        stderr(&out).contains("the rules of makes 24.02 apply: makes.lock.nix pins the tag 24.02"),
        "{}",
        stderr(&out)
    );
    let deploy = show(&sandbox, &project, "/deployContainer/app");
    assert_eq!(deploy["image"], "ghcr.io/org/app:2");
    assert_eq!(deploy["credentials"]["user"], "USER_VAR");
}

#[test]
fn makes_21_12_options_extending_dir_and_deploy_container_image() {
    let sandbox = Sandbox::new();
    let project = fixture("makes-modules/release-21.12");
    let out = makes(&sandbox, &project, &["--list", "--verbose"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "/deployContainerImage/app\n/deployNomad/prod/web\n/helloWorld\n/legacy/job\n\
         /secureNixWithVulnix/all\n"
    );
    assert!(
        stderr(&out).contains("the rules of makes 21.12 apply"),
        "{}",
        stderr(&out)
    );
    let deploy = show(&sandbox, &project, "/deployContainerImage/app");
    assert_eq!(deploy["image"], "registry.example.com/org/app:3");
}

#[test]
fn a_project_without_makes_nix_is_an_empty_module() {
    let sandbox = Sandbox::new();
    let out = makes(
        &sandbox,
        &fixture("makes-modules/no-makes-nix"),
        &["--list"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "/hello\n");
}

#[test]
fn an_option_of_another_release_is_read_with_a_warning() {
    let sandbox = Sandbox::new();
    let dir = sandbox.cache().with_file_name("project");
    crate::common::write_project(&dir, "{\n  deployContainerImage.images = { };\n}\n");
    // Pinned at no tag (here: not at all), the rules are those of a release that has it.
    let out = makes(&sandbox, &dir, &["--list", "--verbose"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the rules of 24.01, the newest release with every module"),
        "{}",
        stderr(&out)
    );
    // Pinned at a tag that lacks it, it is still read, with a warning.
    std::fs::write(
        dir.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit { url = \"https://github.com/fluidattacks/makes\"; ref = \"refs/tags/24.12\"; }; }\n",
    )
    .expect("write makes.lock.nix");
    let out = makes(&sandbox, &dir, &["--list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("'deployContainerImage' is no option of makes 24.12"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn module_and_legacy_directories_stay_inside_the_project() {
    let sandbox = Sandbox::new();
    let dir = sandbox.cache().with_file_name("project");
    crate::common::write_project(
        &dir,
        "{\n  extendingMakesDirs = [ \"/../..\" ];\n  lintPython.dirsOfModules.x = { python = \"3.11\"; src = \"/../..\"; };\n}\n",
    );
    let out = makes(&sandbox, &dir, &["--list"]);
    assert_eq!(stdout(&out), "/lintPython/dirOfModules/x\n");
}
