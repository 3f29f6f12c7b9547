//! The command-line contract: --list, --help, project discovery, unknown jobs, bad job names,
//! syntax errors.

use crate::common::{fixture, run, write_project, Sandbox};

#[test]
fn list_prints_sorted_job_names() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    write_project(
        &project,
        r#"{ makeContainerImage, ... }: { jobs = { "/zeta" = makeContainerImage { }; "/alpha" = makeContainerImage { }; }; }"#,
    );
    let out = run(sandbox.makes().arg("--project").arg(&project).arg("--list"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/alpha\n/zeta\n");
}

#[test]
fn project_is_found_upward_from_the_current_directory() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    write_project(&project, r#"{ jobs."/only" = { outPath = "x"; }; }"#);
    let nested = project.join("a/b");
    std::fs::create_dir_all(&nested).expect("nested dir");
    let out = run(sandbox.makes().current_dir(&nested).arg("--list"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/only\n");
}

#[test]
fn unknown_job_lists_the_valid_ones_and_exits_1() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(fixture("hello"))
        .arg("/nope")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nope"), "{stderr}");
    assert!(
        stderr.contains("Valid jobs:\n  /hello\n  /hello-single-layer\n"),
        "{stderr}"
    );
}

#[test]
fn syntax_error_names_file_line_and_column_with_the_source_line() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("broken");
    write_project(&project, "{ makeContainerImage, ... }:\n{\n  jobs.\"/x\" = makeContainerImage { name = \"x\" };\n}\n");
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/x")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("syntax error"), "{stderr}");
    assert!(
        stderr.contains("makes.nix:3:"),
        "file:line:column in {stderr}"
    );
    assert!(
        stderr.contains("jobs.\"/x\" = makeContainerImage { name = \"x\" };"),
        "the source line in {stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_job_name_must_start_with_a_slash() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(fixture("hello"))
        .arg("hello")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'/hello'"));
}

#[test]
fn a_jobs_key_without_a_slash_gets_makes_error() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("p");
    write_project(&project, r#"{ jobs.hello = { outPath = "x"; }; }"#);
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("--list")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"The job "hello" must begin with a slash. Rename it to "/hello"."#),
        "{stderr}"
    );
}

#[test]
fn help_shows_examples() {
    let out = run(Sandbox::new().makes().arg("--help"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples:") && text.contains("makes /hello"),
        "{text}"
    );
}
