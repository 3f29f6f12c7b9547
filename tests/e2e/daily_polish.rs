//! The finish of daily use: errors printed once, at the attribute, without internal codes
//! unless `-v`; `--version` with the commit; shell completions; `--json` for `--list` and for
//! builds.

use crate::common::{assert_success, fixture, run, write_project, Sandbox};
use std::process::Command;

const TWO_MISTAKES: &str = r#"{ makeContainerImage, ... }:
{
  jobs."/img" = makeContainerImage {
    name = "img";
    config.Env = [ "NOEQUALS" ];
    maxLayers = "x";
  };
}
"#;

#[test]
fn errors_are_printed_once_at_their_attribute_without_codes_unless_verbose() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("mistakes");
    write_project(&project, TWO_MISTAKES);
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/img")
        .output()
        .expect("makes runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for message in [
        "'maxLayers' must be an integer, but it is a string",
        "'config.Env': 'NOEQUALS' is not of the form NAME=value",
    ] {
        assert_eq!(
            stderr.matches(message).count(),
            1,
            "{message} once: {stderr}"
        );
    }
    assert!(
        stderr.contains("makes.nix:6:5") && stderr.contains("makes.nix:5:5"),
        "{stderr}"
    );
    assert!(!stderr.contains("makes::"), "no internal codes: {stderr}");
    // The whole call is not highlighted: only its first line is.
    assert!(
        !stderr.contains("╭─▶") && !stderr.contains("├─▶   };"),
        "{stderr}"
    );

    let verbose = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["-v", "/img"])
        .output()
        .expect("makes runs");
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        stderr.contains("makes::spec::"),
        "-v shows the codes: {stderr}"
    );
}

#[test]
fn version_names_the_commit_and_its_date() {
    let sandbox = Sandbox::new();
    let out = run(sandbox.makes().arg("--version"));
    let text = String::from_utf8_lossy(&out.stdout);
    let inner = text
        .trim()
        .strip_prefix(&format!("makes {} (commit ", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("makes VERSION (commit C, DATE): {text}"));
    let (commit, date) = inner.split_once(", ").expect("commit, date");
    let in_git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(crate::common::repo_root())
        .output()
        .is_ok_and(|o| o.status.success());
    if in_git {
        assert!(
            commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
            "{commit}"
        );
        assert!(
            date.len() == 10 && date.as_bytes()[4] == b'-',
            "a YYYY-MM-DD date: {date}"
        );
    } else {
        assert_eq!((commit, date), ("unknown", "unknown"));
    }
}

#[test]
fn completions_are_scripts_for_each_shell() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = run(sandbox.makes().args(["completions", shell]));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains("print-build-logs") && script.contains("completions"),
            "{shell}: {script}"
        );
    }
    let bash = run(sandbox.makes().args(["completions", "bash"]));
    let file = sandbox.dir.path().join("makes.bash");
    std::fs::write(&file, &bash.stdout).expect("write");
    // The script loads in bash and defines the completion.
    let check = run(Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p makes", file.display())));
    assert!(String::from_utf8_lossy(&check.stdout).contains("makes"));
    let bad = sandbox
        .makes()
        .args(["completions", "powershell-9"])
        .output()
        .expect("makes runs");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn json_results_for_list_and_builds() {
    let sandbox = Sandbox::new();
    let project = fixture("hello");
    let out = run(sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["--list", "--json"]));
    let jobs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(
        jobs,
        vec![
            serde_json::json!({"job": "/hello"}),
            serde_json::json!({"job": "/hello-single-layer"})
        ]
    );
    let work = sandbox.dir.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let out = sandbox
        .makes()
        .current_dir(&work)
        .arg("--project")
        .arg(&project)
        .args(["--json", "/hello", "--output", "oci:layout:v"])
        .output()
        .expect("makes runs");
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(result["job"], "/hello");
    let path = result["path"].as_str().expect("path");
    assert!(std::path::Path::new(path).is_file());
    let store_path = result["storePath"].as_str().expect("storePath");
    assert!(
        store_path.starts_with("/nix/store/") && path.ends_with(&store_path["/nix/store".len()..])
    );
    assert_eq!(result["outputs"], serde_json::json!(["oci:layout:v"]));
    assert_eq!(result["outLinks"].as_array().map(Vec::len), Some(2));
    assert!(result["pushed"].is_null());
}

#[test]
fn a_reader_closing_stdout_early_is_no_panic() {
    let sandbox = Sandbox::new();
    let project = fixture("hello");
    // `makes show /hello | true`: the reader is gone before makes prints.
    let mut child = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["show", "/hello"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("makes starts");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("makes ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
