//! makes' module jobs built and run as makes builds them (fixtures/module-jobs): `/formatBash`
//! formats in place (and only checks on a CI provider, failing), `/lintBash` fails its build
//! on a script shellcheck rejects, `/helloWorld`, `/envVars/<name>`, `/pipeline/<name>`
//! running its jobs' actions, and `__all__` building every job. Tools come from makes' own
//! package set, here the stand-in nixpkgs (fixtures/module-jobs-nixpkgs: Debian's shfmt,
//! shellcheck and find wrapped, the host's bash).

use crate::common::{assert_success, copy_tree, fixture, have_tool, run, Sandbox};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNFORMATTED: &str =
    "#!/usr/bin/env bash\nif [ -n \"$1\" ]\nthen\n        echo \"$1\"   |   cat\nfi\n";
const FORMATTED: &str = "#!/usr/bin/env bash\nif [ -n \"$1\" ]; then\n  echo \"$1\" | cat\nfi\n";

/// Whether the tools these tests wrap are here (scripts/test.sh installs them).
fn tools() -> bool {
    ["nix-build", "shfmt", "shellcheck"]
        .iter()
        .all(|t| have_tool(t))
}

/// A copy of the fixture project (outside git: every file is the project's).
fn project(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.path().join("project");
    copy_tree(&fixture("module-jobs"), &dir);
    std::fs::write(dir.join("scripts/tidy.sh"), UNFORMATTED).expect("write");
    dir
}

/// `makes ARGS` in `project`, with Nix building the stand-in packages and no CI provider.
fn makes_in(sandbox: &Sandbox, project: &Path) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env(
        "NIX_CONFIG",
        "substituters =\nbuild-users-group =\nsandbox = false",
    )
    .env("MAKES_NIXPKGS", fixture("module-jobs-nixpkgs"))
    .current_dir(project)
    .args(["--packages", "nix"]);
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("makes runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn format_bash_formats_in_place_and_fails_on_a_ci_provider() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let script = project.join("scripts/tidy.sh");

    // On a CI provider makes' formatBash also shows the difference (shfmt -d), and fails.
    let out = output(
        makes_in(&sandbox, &project)
            .env("CI", "true")
            .args([".", "/formatBash"]),
    );
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("+if [ -n \"$1\" ]; then"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::write(&script, UNFORMATTED).expect("write");

    // Elsewhere it formats the file in place.
    let out = output(makes_in(&sandbox, &project).args([".", "/formatBash"]));
    assert_success(&out);
    assert!(
        stderr(&out).contains("[INFO] Formatting bash code"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&script).expect("read"), FORMATTED);

    // A formatted tree passes on a CI provider too.
    let out = output(
        makes_in(&sandbox, &project)
            .env("CI", "true")
            .args([".", "/formatBash"]),
    );
    assert_success(&out);
}

#[test]
fn lint_bash_fails_its_build_on_a_script_shellcheck_rejects() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let out = output(makes_in(&sandbox, &project).args(["--no-run", ".", "/lintBash"]));
    assert_success(&out);

    std::fs::write(
        project.join("scripts/bad.sh"),
        "#!/usr/bin/env bash\nx=$(ls)\necho $x\n",
    )
    .expect("write");
    let out = output(makes_in(&sandbox, &project).args(["--no-run", ".", "/lintBash"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("lint-bash"), "{err}");
    assert!(err.contains("bad.sh"), "{err}");
    assert!(err.contains("SC2086"), "{err}");
}

#[test]
fn hello_world_and_a_pipeline_run_their_jobs_with_arguments() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let out = output(makes_in(&sandbox, &project).args([".", "/helloWorld", "a", "b c"]));
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("[INFO] Hello from Makes! tester."), "{err}");
    assert!(
        err.contains("[INFO] You called us with CLI arguments: [ a b c ]."),
        "{err}"
    );

    let out = output(makes_in(&sandbox, &project).args([".", "/pipeline/check"]));
    assert_success(&out);
    let err = stderr(&out);
    assert!(
        err.contains("[INFO] Running job: /helloWorld__from__pipeline"),
        "{err}"
    );
    assert!(
        err.contains("You called us with CLI arguments: [ from pipeline ]."),
        "{err}"
    );
    assert!(
        err.contains("[INFO] Running job: /envVars/example"),
        "{err}"
    );
    // A template's action (makeTemplate's `withAction`) prints it.
    assert!(
        err.contains("info Making environment variables for example:"),
        "{err}"
    );
}

#[test]
fn env_vars_export_their_mapping_to_a_job_sourcing_them() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    std::fs::write(
        project.join("makes.nix"),
        std::fs::read_to_string(fixture("module-jobs/makes.nix"))
            .expect("read")
            .replacen(
                "{\n  envVars",
                "{ makeScript, outputs, ... }: {\n  jobs.\"/greet\" = makeScript {\n    name = \"greet\";\n    searchPaths.source = [ outputs.\"/envVars/example\" ];\n    entrypoint = ''echo \"$GREETING $TARGET\"'';\n  };\n  envVars",
                1,
            ),
    )
    .expect("write");
    let out = run(makes_in(&sandbox, &project).args([".", "/greet"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello modules\n");

    // Run itself, the template's action prints it on stderr, as makes' `withAction` does.
    let out = run(makes_in(&sandbox, &project).args([".", "/envVars/example"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let err = stderr(&out);
    assert!(
        err.contains("info Making environment variables for example:"),
        "{err}"
    );
    assert!(
        err.contains("-make-template-for-as-bash-map/template map"),
        "{err}"
    );
}

#[test]
fn a_template_without_action_and_a_dev_shell_only_build() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("plain");
    crate::common::write_project(
        &project,
        r#"{ makeTemplate, ... }: {
  dev.shell.bin = [ ];
  jobs."/quiet" = makeTemplate { name = "quiet"; template = "text"; withAction = false; };
  jobs."/loud" = makeTemplate { name = "loud"; template = "text"; };
}"#,
    );
    for (job, action) in [("/dev/shell", false), ("/quiet", false), ("/loud", true)] {
        // `-q`: the action's own stderr only, without makes' progress lines.
        let out = run(sandbox.makes().current_dir(&project).args(["-q", ".", job]));
        let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if action {
            assert_eq!(printed, "", "{job}");
            assert_eq!(stderr(&out), "text\n", "{job}");
        } else {
            let result = PathBuf::from(&printed);
            assert!(result.join("template").is_file(), "{job}: {printed}");
            assert!(!result.join("makes-action.sh").exists(), "{job}");
        }
    }
}

#[test]
fn all_builds_every_job_and_is_not_listed() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let listed = run(makes_in(&sandbox, &project).arg("--list"));
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert_eq!(
        listed,
        "/envVars/example\n/formatBash\n/helloWorld\n/lintBash\n/pipeline/check\n"
    );

    let out = run(makes_in(&sandbox, &project).args(["--no-run", ".", "__all__"]));
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let all: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
    let names: Vec<&String> = all.as_object().expect("an object").keys().collect();
    assert_eq!(
        names,
        [
            "/envVars/example",
            "/formatBash",
            "/helloWorld",
            "/lintBash",
            "/pipeline/check"
        ]
    );
    // Every job's output is built.
    for (name, out) in all.as_object().expect("an object") {
        let base = out
            .as_str()
            .expect("a path")
            .trim_start_matches("/nix/store/");
        assert!(
            sandbox.store().join("store").join(base).exists(),
            "{name}: {base} is not built"
        );
    }
}

#[test]
fn a_module_job_whose_tool_the_package_set_lacks_shows_and_fails_naming_it() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    std::fs::write(project.join("makes.nix"), "{ lintNix.enable = true; }\n").expect("write");
    // `show` resolves no package: the spec names statix of makes' package set.
    let doc = run(sandbox
        .makes()
        .current_dir(&project)
        .args(["show", "/lintNix"]));
    let doc: serde_json::Value = serde_json::from_slice(&doc.stdout).expect("JSON");
    assert_eq!(doc["name"], "lint-nix-for-builtin");
    assert!(doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .any(|p| p["package"] == "statix"));
    // Running it says which package the set lacks.
    let out = output(makes_in(&sandbox, &project).args([".", "/lintNix"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("attribute 'statix' missing"),
        "{}",
        stderr(&out)
    );
}

/// A git repository holding `makes.nix` and `files`, all tracked (makes' Python formatter and
/// REUSE read git).
fn git_project(sandbox: &Sandbox, name: &str, makes_nix: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = sandbox.dir.path().join(name);
    crate::common::write_project(&dir, makes_nix);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    git_add(&dir);
    dir
}

fn git_add(dir: &Path) {
    for args in [&["init", "-q"][..], &["add", "-A"]] {
        run(Command::new("git").args(args).current_dir(dir));
    }
}

/// Whether the Python tools the stand-in wraps are here.
fn python_tools() -> bool {
    tools()
        && ["git", "black", "isort", "bandit", "reuse"]
            .iter()
            .all(|t| have_tool(t))
}

#[test]
fn format_python_runs_black_and_isort_with_makes_settings() {
    if !python_tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = git_project(
        &sandbox,
        "python",
        "{ formatPython.default.targets = [ \"/src\" ]; }\n",
        &[(
            "src/app.py",
            "import sys\nimport os\nx = {  'a':1,'b' : 2}\nprint(x, os, sys)\n",
        )],
    );
    let out = output(makes_in(&sandbox, &project).args([".", "/formatPython/default"]));
    assert_success(&out);
    assert_eq!(
        std::fs::read_to_string(project.join("src/app.py")).expect("read"),
        "import os\nimport sys\n\nx = {\"a\": 1, \"b\": 2}\nprint(x, os, sys)\n"
    );
}

#[test]
fn secure_python_with_bandit_fails_its_build_on_a_finding() {
    if !python_tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let makes_nix = "{ securePythonWithBandit.app.target = \"/src\"; }\n";
    let safe = git_project(
        &sandbox,
        "safe",
        makes_nix,
        &[("src/app.py", "print('fine')\n")],
    );
    let out =
        output(makes_in(&sandbox, &safe).args(["--no-run", ".", "/securePythonWithBandit/app"]));
    assert_success(&out);
    let unsafe_ = git_project(
        &sandbox,
        "unsafe",
        makes_nix,
        &[(
            "src/app.py",
            "import subprocess\nsubprocess.call(input(), shell=True)\n",
        )],
    );
    let out =
        output(makes_in(&sandbox, &unsafe_).args(["--no-run", ".", "/securePythonWithBandit/app"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("b602_subprocess_popen_with_shell_equals_true"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn test_license_checks_reuse_compliance() {
    if !python_tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let header = "# SPDX-FileCopyrightText: 2026 Tester\n# SPDX-License-Identifier: MIT\n";
    let project = git_project(
        &sandbox,
        "licensed",
        "{ testLicense.enable = true; }\n",
        &[("src/app.py", "print('fine')\n")],
    );
    let out = output(makes_in(&sandbox, &project).args([".", "/testLicense"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Some files are not properly licensed"),
        "{}",
        stderr(&out)
    );

    for file in ["makes.nix", "src/app.py"] {
        let path = project.join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, format!("{header}{text}")).expect("write");
    }
    std::fs::create_dir_all(project.join("LICENSES")).expect("mkdir");
    std::fs::write(project.join("LICENSES/MIT.txt"), "MIT License\n").expect("write");
    git_add(&project);
    let out = output(makes_in(&sandbox, &project).args([".", "/testLicense"]));
    assert_success(&out);
}

#[test]
fn format_nix_follows_the_release() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("nix-format");
    crate::common::write_project(&project, "{ formatNix.enable = true; }\n");
    let tool = |project: &Path| -> (String, Vec<String>) {
        let out = run(sandbox
            .makes()
            .current_dir(project)
            .args(["show", "/formatNix"]));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let packages = doc["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .filter_map(|p| p["package"].as_str().map(str::to_owned))
            .collect();
        (
            doc["name"].as_str().unwrap_or_default().to_owned(),
            packages,
        )
    };
    // 24.12 (no pin): the argument, with nixfmt.
    let (name, packages) = tool(&project);
    assert_eq!(name, "format-nix-for-builtin");
    assert!(packages.contains(&"nixfmt".to_owned()), "{packages:?}");
    // 21.12: the module's own script, with nixpkgs-fmt.
    std::fs::write(
        project.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit { url = \"https://github.com/fluidattacks/makes\"; ref = \"21.12\"; }; }\n",
    )
    .expect("write");
    let (name, packages) = tool(&project);
    assert_eq!(name, "format-nix");
    assert!(packages.contains(&"nixpkgs-fmt".to_owned()), "{packages:?}");
    // 23.06: the argument, with alejandra.
    std::fs::write(
        project.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit { url = \"https://github.com/fluidattacks/makes\"; ref = \"23.06\"; }; }\n",
    )
    .expect("write");
    let (name, packages) = tool(&project);
    assert_eq!(name, "format-nix-for-builtin");
    assert!(packages.contains(&"alejandra".to_owned()), "{packages:?}");
}

#[test]
fn an_unprivileged_user_runs_a_template_action_and_all() {
    if !crate::common::running_as_root() || !have_tool("setpriv") {
        eprintln!("note: skipping: needs root to switch to an unprivileged user");
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("plain");
    crate::common::write_project(
        &project,
        "{ makeTemplate, ... }: {\n  dev.shell.bin = [ ];\n  jobs.\"/loud\" = makeTemplate { name = \"loud\"; template = \"text\"; };\n}\n",
    );
    for dir in [sandbox.dir.path(), &project] {
        let mut perms = std::fs::metadata(dir).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o777);
        std::fs::set_permissions(dir, perms).expect("chmod");
    }
    let as_nobody = |job: &str| -> Output {
        run(sandbox
            .makes_as_nobody()
            .env("MAKES_STORE_DIR", sandbox.store())
            .args(["-q", ".", job])
            .current_dir(&project))
    };
    let out = as_nobody("/loud");
    assert_eq!(stderr(&out), "text\n");
    let out = as_nobody("__all__");
    let all = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let all: serde_json::Value =
        serde_json::from_slice(&std::fs::read(all).expect("read")).expect("JSON");
    let names: Vec<&String> = all.as_object().expect("an object").keys().collect();
    assert_eq!(names, ["/dev/shell", "/loud"]);
}

#[test]
fn a_gitlab_pipeline_writes_its_yaml_and_fails_until_it_is_up_to_date() {
    if !tools() || !have_tool("git") || !have_tool("yq") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = git_project(
        &sandbox,
        "gitlab",
        r#"{
  envVars.one.A = "1";
  pipelines.ci = {
    gitlabPath = "/.gitlab-ci.yml";
    jobs = [ { output = "/envVars/one"; args = [ "a b" ]; gitlabExtra.tags = [ "small" ]; } ];
  };
}
"#,
        &[],
    );
    let out = output(makes_in(&sandbox, &project).args([".", "/pipelineOnGitlab/ci"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("./.gitlab-ci.yml was not up to date"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(project.join(".gitlab-ci.yml")).expect("written"),
        "/envVars/one__a b:\n  image: ghcr.io/fluidattacks/makes:24.12\n  interruptible: true\n  \
         needs: []\n  script:\n    - m . /envVars/one 'a b'\n  tags:\n    - small\n  \
         variables:\n    GIT_DEPTH: 3\n    MAKES_GIT_DEPTH: 3\n"
    );
    let out = output(makes_in(&sandbox, &project).args([".", "/pipelineOnGitlab/ci"]));
    assert_success(&out);
}

#[test]
fn lint_markdown_fails_its_build_on_a_rule_mdl_reports() {
    if !tools() || !have_tool("git") || !have_tool("mdl") {
        return;
    }
    let sandbox = Sandbox::new();
    let makes_nix = "{ lintMarkdown.docs.targets = [ \"/README.md\" ]; }\n";
    let good = git_project(
        &sandbox,
        "good",
        makes_nix,
        &[("README.md", "# Title\n\nSome text.\n")],
    );
    let out = output(makes_in(&sandbox, &good).args(["--no-run", ".", "/lintMarkdown/docs"]));
    assert_success(&out);
    let bad = git_project(
        &sandbox,
        "bad",
        makes_nix,
        &[("README.md", "# Title\n## Next\ntext\n")],
    );
    let out = output(makes_in(&sandbox, &bad).args(["--no-run", ".", "/lintMarkdown/docs"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("MD022 Headers should be surrounded by blank lines"),
        "{}",
        stderr(&out)
    );
}
