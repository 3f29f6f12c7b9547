//! SIGINT and SIGTERM mid-build: the builder is stopped, its staging data removed, what was
//! stopped is printed, and makes exits with 130 or 143; the next run builds normally.

use crate::common::{write_project, Sandbox};
use std::path::Path;
use std::time::{Duration, Instant};

const SLOW: &str = r#"{ makeDerivation, ... }:
{
  jobs."/slow" = makeDerivation {
    name = "slow-build";
    builder = ''
      echo building-now
      mkdir -p $out
      echo partial > $out/file
      sleep "$(cat ${./duration})"
    '';
  };
}
"#;

/// The entries of a directory, by name.
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn interrupt_mid_build(signal: libc::c_int, expected_code: i32) {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("slow");
    write_project(&project, SLOW);
    std::fs::write(project.join("duration"), "60").expect("write");
    let child = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/slow")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("makes starts");
    // Wait until the builder runs: its log has its first line.
    let deadline = Instant::now() + Duration::from_secs(60);
    let logs = sandbox.store().join("logs");
    loop {
        let running = entries(&logs).iter().any(|name| {
            std::fs::read_to_string(logs.join(name)).is_ok_and(|t| t.contains("building-now"))
        });
        if running {
            break;
        }
        assert!(Instant::now() < deadline, "the builder never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !entries(&sandbox.store().join("tmp")).is_empty(),
        "a running build has staging data"
    );
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits");
    let sent = Instant::now();
    // Only makes gets the signal (not its process group): it must stop the builder itself.
    // SAFETY: kill has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let out = child.wait_with_output().expect("makes ends");
    assert!(
        sent.elapsed() < Duration::from_secs(9),
        "makes stopped promptly, not after the grace period: {:?}",
        sent.elapsed()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(expected_code), "{stderr}");
    assert!(
        stderr.contains("interrupted by") && stderr.contains("stopping building slow-build"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no result on stdout");
    assert_eq!(entries(&sandbox.store().join("tmp")), Vec::<String>::new());
    assert!(
        !entries(&sandbox.store().join("store"))
            .iter()
            .any(|n| n.ends_with("-slow-build")),
        "no partial output in the store"
    );
    // The next run builds it.
    std::fs::write(project.join("duration"), "0").expect("write");
    let result = sandbox.build_dir(&project, "/slow");
    assert_eq!(
        std::fs::read_to_string(result.join("file")).expect("read"),
        "partial\n"
    );
}

#[test]
fn sigint_mid_build_stops_the_builder_and_leaves_no_staging_data() {
    interrupt_mid_build(libc::SIGINT, 130);
}

#[test]
fn sigterm_mid_build_exits_143_and_leaves_no_staging_data() {
    interrupt_mid_build(libc::SIGTERM, 143);
}

/// A job with an action (as makeScript's: `makes-action.sh OUT ARGS...`, which runs the
/// program as its child) whose program waits for SIGTERM, notes it, and exits 7.
const WAITING_ACTION: &str = r#"{ makeDerivation, ... }:
{
  jobs."/wait" = makeDerivation {
    name = "wait";
    builder = ''
      mkdir -p $out/bin
      printf '#!/bin/bash\ntrap %s TERM\necho ready > "$READY"\nwhile :; do :; done\n' \
        "'echo got-term > \"\$MARK\"; exit 7'" > $out/bin/wait
      printf '#!/bin/bash\n"$1/bin/wait"\n' > $out/makes-action.sh
      chmod +x $out/bin/wait $out/makes-action.sh
    '';
  };
}
"#;

#[test]
fn sigterm_while_an_action_runs_reaches_its_program_and_makes_exits_as_the_action_does() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("waiting");
    write_project(&project, WAITING_ACTION);
    let ready = sandbox.dir.path().join("ready");
    let mark = sandbox.dir.path().join("mark");
    let child = sandbox
        .makes()
        .env("READY", &ready)
        .env("MARK", &mark)
        .arg("--project")
        .arg(&project)
        .arg("/wait")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("makes starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "the action never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits");
    // SAFETY: kill has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().expect("makes ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // makes-action.sh itself dies of the signal, and makes exits as it did.
    assert_eq!(out.status.code(), Some(143), "the action's code: {stderr}");
    // The program is makes-action.sh's child: its trap may run after makes-action.sh (and so
    // makes) has exited, on a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !mark.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&mark).expect("the action got SIGTERM"),
        "got-term\n"
    );
    assert!(!stderr.contains("interrupted"), "{stderr}");
}
