//! Daily use of builds: progress lines on stderr (nothing but the result on stdout), `-L`
//! streaming builders' output, `-q`, `makes log`, and independent builders running at once
//! (`-j`) with the result of a serial run.

use crate::common::{assert_success, write_project, Sandbox};
use std::path::{Path, PathBuf};

/// Three independent 3-second builders, each writing its start and end time to its log
/// (stderr) and a fixed text to `$out`; `/all` joins them.
const THREE_SLOW: &str = r#"{ makeDerivation, ... }:
let
  slow = name: makeDerivation {
    inherit name;
    builder = ''
      echo "start $(date +%s.%N)" >&2
      sleep 3
      echo "end $(date +%s.%N)" >&2
      echo "${name} done" > $out
    '';
  };
in
{
  jobs."/all" = makeDerivation {
    name = "all";
    env = { envA = slow "slow-a"; envB = slow "slow-b"; envC = slow "slow-c"; };
    builder = ''cat $envA $envB $envC > $out'';
  };
}
"#;

fn three_slow_project(sandbox: &Sandbox) -> PathBuf {
    let project = sandbox.dir.path().join("three-slow");
    write_project(&project, THREE_SLOW);
    project
}

/// The (start, end) times a builder wrote to its log in `store`.
fn builder_times(store: &Path, name: &str) -> (f64, f64) {
    let logs = store.join("logs");
    let log = std::fs::read_dir(&logs)
        .expect("the store has logs")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().ends_with(&format!("-{name}.log")))
        .unwrap_or_else(|| panic!("no log of {name} in {}", logs.display()));
    let text = std::fs::read_to_string(&log).expect("read log");
    let time = |word: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(word))
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_else(|| panic!("no '{word}' time in {text:?}"))
    };
    (time("start "), time("end "))
}

fn build_with(sandbox: &Sandbox, project: &Path, args: &[&str]) -> std::process::Output {
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(project)
        .args(args)
        .output()
        .expect("makes runs");
    assert_success(&out);
    out
}

#[test]
fn independent_builders_run_at_once_with_the_result_of_a_serial_run() {
    let parallel = Sandbox::new();
    let project = three_slow_project(&parallel);
    let out = build_with(&parallel, &project, &["-j", "3", "/all"]);
    let times: Vec<(f64, f64)> = ["slow-a", "slow-b", "slow-c"]
        .iter()
        .map(|n| builder_times(&parallel.store(), n))
        .collect();
    // All three were running at one moment: the last start came before the first end.
    let last_start = times.iter().map(|t| t.0).fold(f64::MIN, f64::max);
    let first_end = times.iter().map(|t| t.1).fold(f64::MAX, f64::min);
    assert!(
        last_start < first_end,
        "the three builders overlap: {times:?}"
    );
    let parallel_result =
        std::fs::read(String::from_utf8_lossy(&out.stdout).trim_end()).expect("read the result");

    let serial = Sandbox::new();
    let project = three_slow_project(&serial);
    let out = build_with(&serial, &project, &["-j", "1", "/all"]);
    let times: Vec<(f64, f64)> = ["slow-a", "slow-b", "slow-c"]
        .iter()
        .map(|n| builder_times(&serial.store(), n))
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(
        sorted.windows(2).all(|w| w[0].1 <= w[1].0),
        "with -j 1 one builder runs after the other: {times:?}"
    );
    let serial_result =
        std::fs::read(String::from_utf8_lossy(&out.stdout).trim_end()).expect("read the result");
    assert_eq!(parallel_result, serial_result);
    assert_eq!(
        String::from_utf8_lossy(&serial_result),
        "slow-a done\nslow-b done\nslow-c done\n"
    );
}

const CHATTY: &str = r#"{ makeDerivation, ... }:
{
  jobs."/chatty" = makeDerivation {
    name = "chatty";
    builder = ''
      echo "first line of chatty"
      echo "second line of chatty" >&2
      sleep 6
      echo "last line of chatty"
      echo ok > $out
    '';
  };
}
"#;

#[test]
fn progress_is_lines_on_stderr_and_stdout_holds_the_result_alone() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("chatty");
    write_project(&project, CHATTY);
    let out = build_with(&sandbox, &project, &["/chatty"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "stdout: {stdout}");
    assert!(stdout.trim_end().ends_with("-chatty"), "stdout: {stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("makes: building chatty\n"), "{stderr}");
    // A 6-second build gets a "still" line naming its last output line, then an end line.
    let still = stderr
        .lines()
        .find(|l| l.starts_with("makes: still making chatty ("))
        .unwrap_or_else(|| panic!("a still line: {stderr}"));
    assert!(still.ends_with("second line of chatty"), "{still}");
    let built = stderr
        .lines()
        .find(|l| l.starts_with("makes: built chatty in "))
        .unwrap_or_else(|| panic!("an end line: {stderr}"));
    assert!(built.ends_with(" B)"), "the end line has the size: {built}");
    assert!(
        !stderr.contains("chatty> "),
        "without -L builder output is not streamed: {stderr}"
    );

    // Built already: nothing to say. With -q nothing either way.
    let again = build_with(&sandbox, &project, &["-q", "/chatty"]);
    assert_eq!(String::from_utf8_lossy(&again.stderr), "");
    assert_eq!(again.stdout, out.stdout);
}

#[test]
fn print_build_logs_streams_builder_lines_prefixed_by_the_name_and_makes_log_prints_the_log() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("chatty");
    write_project(&project, CHATTY);
    let out = build_with(&sandbox, &project, &["-L", "/chatty"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in [
        "chatty> first line of chatty",
        "chatty> second line of chatty",
        "chatty> last line of chatty",
    ] {
        assert!(stderr.lines().any(|l| l == line), "{line:?} in {stderr}");
    }
    let first = stderr.find("chatty> first").expect("first line");
    let built = stderr.find("makes: built chatty").expect("end line");
    assert!(first < built, "lines come while it runs: {stderr}");

    let result = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
    for what in ["/chatty", result.as_str()] {
        let log = build_with(&sandbox, &project, &["log", what]);
        assert_eq!(
            String::from_utf8_lossy(&log.stdout),
            "first line of chatty\nsecond line of chatty\nlast line of chatty\n",
            "makes log {what}"
        );
    }
    let none = sandbox
        .makes()
        .args(["log", "/nix/store/00000000000000000000000000000000-nothing"])
        .output()
        .expect("makes runs");
    assert_eq!(none.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("no build log"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
}

const ONE_FAILS: &str = r#"{ makeDerivation, ... }:
let
  slow = makeDerivation {
    name = "slow-ok";
    builder = "sleep 2; echo ok > $out";
  };
  fails = makeDerivation {
    name = "fails-fast";
    builder = "echo broken >&2; exit 3";
  };
  after = makeDerivation {
    name = "after-slow";
    env.envSlow = slow;
    builder = "cp $envSlow $out";
  };
in
{
  jobs."/all" = makeDerivation {
    name = "all";
    env = { envA = after; envB = fails; };
    builder = "touch $out";
  };
}
"#;

#[test]
fn after_a_failure_running_builds_finish_and_no_new_one_starts() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("one-fails");
    write_project(&project, ONE_FAILS);
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["-j", "2", "/all"])
        .output()
        .expect("makes runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fails-fast failed (exit status: 3)"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("exit status: 3").count(),
        1,
        "reported once: {stderr}"
    );
    let store = entries_of(&sandbox.store().join("store"));
    assert!(
        store.iter().any(|n| n.ends_with("-slow-ok")),
        "the running build finished: {store:?}"
    );
    assert!(
        !store
            .iter()
            .any(|n| n.ends_with("-after-slow") || n.ends_with("-all")),
        "nothing new started after the failure: {store:?}"
    );
    assert!(
        stderr.contains("makes: failed building fails-fast"),
        "{stderr}"
    );
}

fn entries_of(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn print_build_logs_shows_a_line_while_its_builder_still_runs_and_a_closed_stderr_stops_nothing() {
    use std::io::{BufRead, BufReader};
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("waiting");
    write_project(
        &project,
        r#"{ makeDerivation, ... }: {
  jobs."/waiting" = makeDerivation {
    name = "waiting";
    builder = "echo ready; sleep 600; touch $out";
  };
}
"#,
    );
    let mut child = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["-L", "/waiting"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("makes runs");
    let pid = i32::try_from(child.id()).expect("a pid");
    // The builder sleeps for ten minutes: the line can only be seen now if it is shown as it
    // comes. Should it never come, the watchdog stops makes so that the test fails, not hangs.
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(120));
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    let stderr = child.stderr.take().expect("piped");
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("stderr");
        seen.push(line.clone());
        if line == "waiting> ready" {
            break;
        }
    }
    // The reader is gone (stderr is a closed pipe, as with `2>&1 | head -2`): makes still
    // stops cleanly on Ctrl-C, its messages going nowhere.
    // SAFETY: kill has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = child.wait().expect("makes ends");
    drop(watchdog);
    assert!(
        seen.iter().any(|l| l == "waiting> ready"),
        "the line while the builder runs: {seen:?}"
    );
    assert_eq!(status.code(), Some(130), "{seen:?}");
}
