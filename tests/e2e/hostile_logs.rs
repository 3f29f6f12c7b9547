//! Builders' output goes through a pipe into the log: a megabyte arrives whole, a builder
//! that prints past the cap (`MAKES_MAX_BUILD_LOG_SIZE`) is stopped with "log limit
//! exceeded", and a builder cannot truncate or seek its own log.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::{assert_success, write_project, Sandbox};

/// A project whose job `/build` is a makeDerivation running `builder`.
fn project(sandbox: &Sandbox, builder: &str) -> PathBuf {
    let project = sandbox.dir.path().join("log-project");
    write_project(
        &project,
        &format!(
            "{{ makeDerivation, ... }}: {{\n  jobs.\"/build\" = makeDerivation {{ name = \"logged\"; builder = ''{builder}''; }};\n}}\n"
        ),
    );
    project
}

fn build(sandbox: &Sandbox, project: &Path, limit: Option<&str>) -> Output {
    let mut cmd = sandbox.makes();
    if let Some(limit) = limit {
        cmd.env("MAKES_MAX_BUILD_LOG_SIZE", limit);
    }
    cmd.arg("--project")
        .arg(project)
        .arg("/build")
        .output()
        .expect("makes runs")
}

/// The one build log of the sandbox's store.
fn the_log(sandbox: &Sandbox) -> Vec<u8> {
    let logs: Vec<PathBuf> = std::fs::read_dir(sandbox.store().join("logs"))
        .expect("logs dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    std::fs::read(&logs[0]).expect("log")
}

#[test]
fn a_megabyte_of_output_reaches_the_log_whole() {
    let sandbox = Sandbox::new();
    // 10,000 numbered lines of 100 bytes, on stdout and stderr alternately.
    let builder = r#"for i in $(seq 1 5000); do printf '%099d\n' "$i"; printf '%099d\n' "$i" >&2; done; touch $out"#;
    let project = project(&sandbox, builder);
    let out = build(&sandbox, &project, None);
    assert_success(&out);
    let log = the_log(&sandbox);
    assert_eq!(log.len(), 1_000_000);
    assert_eq!(log.split(|b| *b == b'\n').count(), 10_001);
    assert!(log.ends_with(format!("{:099}\n", 5000).as_bytes()));
}

#[test]
fn a_builder_printing_past_the_cap_is_stopped() {
    let sandbox = Sandbox::new();
    // Prints forever, from a background process too: the whole build must stop.
    let project = project(&sandbox, "yes background & yes makes; touch $out");
    let started = Instant::now();
    let out = build(&sandbox, &project, Some("100K"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("log limit exceeded (102400 bytes)"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(the_log(&sandbox).len(), 102_400);
    let built: Vec<_> = std::fs::read_dir(sandbox.store().join("store"))
        .expect("store")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n.to_string_lossy().ends_with("-logged"))
        .collect();
    assert!(built.is_empty(), "no output: {built:?}");
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .expect("ps");
    let running = String::from_utf8_lossy(&ps.stdout);
    assert!(
        !running
            .lines()
            .any(|l| l == "yes background" || l == "yes makes"),
        "the builder's processes are gone"
    );
}

#[test]
fn a_builder_cannot_truncate_or_seek_its_log() {
    let sandbox = Sandbox::new();
    let builder = r#"echo first line
if truncate -s 0 /proc/self/fd/1 2>/dev/null; then echo TRUNCATED; else echo truncate refused; fi
if perl -e 'open(my $f, ">&=", 1) or die; seek($f, 0, 0) or die' 2>/dev/null; then echo SEEKED; else echo seek refused; fi
touch $out"#;
    let project = project(&sandbox, builder);
    let out = build(&sandbox, &project, None);
    assert_success(&out);
    let log = String::from_utf8(the_log(&sandbox)).expect("text");
    assert_eq!(log, "first line\ntruncate refused\nseek refused\n");
}

#[test]
fn an_image_script_printing_without_end_is_stopped() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("script-project");
    write_project(
        &project,
        "{ makeContainerImage, ... }: {\n  jobs.\"/image\" = makeContainerImage { fakeRootCommands = \"yes fake-root\"; };\n}\n",
    );
    let started = Instant::now();
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/image")
        .output()
        .expect("makes runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("fakeRootCommands") && stderr.contains("log limit exceeded"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(120));
}
