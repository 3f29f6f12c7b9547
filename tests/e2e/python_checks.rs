//! makes' Python checks built and run as makes builds them (fixtures/python-checks, makes
//! 24.02): `/lintPython/module/<name>` runs mypy, then prospector with makes' settings, and
//! fails its build on a finding of either; `/lintPython/imports/<name>` runs import-linter's
//! contracts; `/testPython/<name>` runs pytest and exits with its status. Before 24.01 a module
//! names its Python version, and a version the release does not offer is an error naming those
//! it does. The tools come from makes' package set, here fixtures/python-checks-nixpkgs: makes'
//! pinned mypy, prospector, import-linter and pytest, installed by
//! scripts/install-python-tools.sh and wrapped.

use crate::common::{assert_success, copy_tree, fixture, have_tool, write_project, Sandbox};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where scripts/install-python-tools.sh installs the tools the stand-in wraps.
const TOOLS: &str = "/usr/local/lib/makes-python-tools/bin";

/// Whether Nix and the wrapped tools are here (scripts/test.sh installs them).
fn tools() -> bool {
    let installed = ["mypy", "prospector", "lint-imports", "pytest"]
        .iter()
        .all(|t| Path::new(TOOLS).join(t).exists());
    if !installed {
        if std::env::var("MAKES_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{TOOLS} lacks makes' Python tools: run scripts/install-python-tools.sh");
        }
        eprintln!("note: skipping: run scripts/install-python-tools.sh for makes' Python tools");
        return false;
    }
    have_tool("nix-build") && have_tool("bash")
}

/// A copy of the fixture project (outside git: every file is the project's).
fn project(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.path().join("python-checks");
    copy_tree(&fixture("python-checks"), &dir);
    dir
}

/// `makes ARGS` in `project`, with Nix building the stand-in packages.
fn makes_in(sandbox: &Sandbox, project: &Path) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env(
        "NIX_CONFIG",
        "substituters =\nbuild-users-group =\nsandbox = false",
    )
    .env("MAKES_NIXPKGS", fixture("python-checks-nixpkgs"))
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

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The whole build log of a failed build, whose path the error names.
fn failed_build_log(out: &Output) -> String {
    let err = stderr(out);
    let path = err
        .split("last lines of ")
        .nth(1)
        .and_then(|rest| rest.split(".log:").next())
        .unwrap_or_else(|| panic!("a build log is named:\n{err}"));
    std::fs::read_to_string(format!("{path}.log")).expect("the build log")
}

/// Builds `job` only; asserts that it fails with exit code 1.
fn build_fails(sandbox: &Sandbox, project: &Path, job: &str) -> Output {
    let out = output(makes_in(sandbox, project).args(["--no-run", ".", job]));
    assert_eq!(out.status.code(), Some(1), "{job}: {}", stderr(&out));
    out
}

#[test]
fn lint_python_passes_a_clean_module_and_fails_on_what_mypy_or_prospector_finds() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);

    let out =
        output(makes_in(&sandbox, &project).args(["--no-run", ".", "/lintPython/module/greeter"]));
    assert_success(&out);
    assert!(
        stdout(&out).contains("lint-python-module-for-greeter"),
        "{}",
        stdout(&out)
    );

    let out = build_fails(&sandbox, &project, "/lintPython/module/broken");
    assert!(
        stderr(&out).contains(
            "broken/__init__.py:6: error: Incompatible return value type (got \"str\", expected \"int\")"
        ),
        "{}",
        stderr(&out)
    );

    // mypy accepts it; prospector (pyflakes) does not.
    let out = build_fails(&sandbox, &project, "/lintPython/module/untidy");
    let log = failed_build_log(&out);
    assert!(log.contains("Success: no issues found"), "{log}");
    assert!(log.contains("F401 / 'os' imported but unused"), "{log}");
    assert!(
        log.contains("lint-python-prospector.yaml, full_pep8, strictness_veryhigh"),
        "{log}"
    );
}

#[test]
fn lint_python_imports_keeps_a_contract_and_fails_on_a_broken_one() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);

    let out =
        output(makes_in(&sandbox, &project).args(["--no-run", ".", "/lintPython/imports/kept"]));
    assert_success(&out);

    let out = build_fails(&sandbox, &project, "/lintPython/imports/broken");
    let log = failed_build_log(&out);
    assert!(log.contains("Contracts: 0 kept, 1 broken."), "{log}");
    assert!(
        log.contains("layers.high is not allowed to import layers.low"),
        "{log}"
    );
}

#[test]
fn test_python_runs_pytest_in_a_copy_of_the_project_and_exits_with_its_status() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);

    // The test imports the project's package through the module's searchPaths.
    let out = output(makes_in(&sandbox, &project).args([".", "/testPython/passing"]));
    assert_success(&out);
    assert!(
        stdout(&out).contains("test_greeter.py::test_greet PASSED"),
        "{}",
        stdout(&out)
    );

    // A failing test: pytest's report, and its exit code is makes'.
    let out = output(makes_in(&sandbox, &project).args([".", "/testPython/failing"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("FAILED test_arithmetic.py::test_sum - AssertionError: arithmetic is broken"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn before_24_01_a_module_names_its_python_and_an_unoffered_one_is_named_in_the_error() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("release-23.04");
    write_project(
        &project,
        "{\n  lintPython.modules.greeter = { python = \"3.11\"; src = \"/src/greeter\"; };\n  \
         lintPython.modules.old = { python = \"3.7\"; src = \"/src/greeter\"; };\n  \
         testPython.old = { python = \"3.6\"; src = \"/src\"; };\n}\n",
    );
    copy_tree(
        &fixture("python-checks").join("src/greeter"),
        &project.join("src/greeter"),
    );
    // makes 23.04's commit.
    std::fs::write(
        project.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit { url = \"https://github.com/fluidattacks/makes\"; \
         rev = \"fc31801faa4d8c486ffeed0714e610f034fd5080\"; }; }\n",
    )
    .expect("write makes.lock.nix");

    let out =
        output(makes_in(&sandbox, &project).args(["--no-run", ".", "/lintPython/module/greeter"]));
    assert_success(&out);

    let out = output(makes_in(&sandbox, &project).args(["show", "/lintPython/module/old"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "lintPython: makes 23.04 has no python '3.7': it offers 3.8, 3.9, 3.10, 3.11"
        ),
        "{}",
        stderr(&out)
    );
    let out = output(makes_in(&sandbox, &project).args(["show", "/testPython/old"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "testPython: makes 23.04 has no python '3.6': it offers 3.8, 3.9, 3.10, 3.11"
        ),
        "{}",
        stderr(&out)
    );
}
