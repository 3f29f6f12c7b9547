//! The store through the binary: makeDerivation as makes runs it, failures, isolation,
//! interrupted and concurrent builds, and garbage collection.

use crate::common::{assert_success, fixture, run, write_project, Sandbox};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Builds a job whose result may be a directory; returns the printed path.
fn build_any(sandbox: &Sandbox, project: &Path, job: &str) -> PathBuf {
    let out = run(sandbox.makes().arg("--project").arg(project).arg(job));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

const FEATURES: &str = r#"{ makeDerivation, ... }:
let
  tool = makeDerivation {
    name = "tool";
    builder = ''
      mkdir -p $out/bin
      printf '#!/bin/sh\necho tool says "$@"\n' > $out/bin/tool
      chmod +x $out/bin/tool
    '';
  };
in {
  jobs."/features" = makeDerivation {
    name = "features";
    env = {
      envMessage = "from env";
      envSource = ./data;
    };
    envFiles.envConfig = "from envFiles";
    searchPaths.bin = [ tool ];
    builder = ''
      info "building features"
      copy $envSource $out
      echo "$envMessage" > $out/message
      cat "$envConfigPath" > $out/config
      tool hello > $out/tool-output
      echo "leak=''${LEAK_TEST:-unset} home=$HOME" > $out/environment
    '';
  };
  jobs."/fails" = makeDerivation {
    name = "fails";
    builder = ''
      for i in $(seq 1 40); do echo "line $i"; done
      exit 3
    '';
  };
  jobs."/slow" = makeDerivation {
    name = "slow";
    builder = ''
      echo started
      sleep 3
      mkdir -p $out
      echo done > $out/result
    '';
  };
}
"#;

fn features_project(sandbox: &Sandbox) -> PathBuf {
    let project = sandbox.dir.path().join("features");
    write_project(&project, FEATURES);
    std::fs::create_dir_all(project.join("data/nested")).expect("data dir");
    std::fs::write(project.join("data/nested/file.txt"), "copied\n").expect("data file");
    project
}

#[test]
fn make_derivation_runs_as_makes_runs_it() {
    let sandbox = Sandbox::new();
    let project = features_project(&sandbox);
    let out = run(sandbox
        .makes()
        .env("LEAK_TEST", "leaked")
        .arg("--project")
        .arg(&project)
        .arg("/features"));
    let result = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let read = |name: &str| {
        std::fs::read_to_string(result.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    assert_eq!(
        read("nested/file.txt"),
        "copied\n",
        "copy put the source tree into $out"
    );
    assert_eq!(read("message"), "from env\n");
    assert_eq!(read("config"), "from envFiles");
    assert_eq!(
        read("tool-output"),
        "tool says hello\n",
        "searchPaths.bin is on PATH"
    );
    assert_eq!(
        read("environment"),
        "leak=unset home=/homeless-shelter\n",
        "the caller's variables do not leak"
    );
}

#[test]
fn an_env_key_without_the_prefix_gets_makes_message() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("p");
    write_project(&project, "{ makeDerivation, ... }: { jobs.\"/x\" = makeDerivation { name = \"x\"; env.FOO = \"1\"; builder = \"touch $out\"; }; }");
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/x")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Invalid argument: FOO, must start with: env"));
}

#[test]
fn a_failing_builder_shows_the_tail_of_its_log_and_leaves_nothing() {
    let sandbox = Sandbox::new();
    let project = features_project(&sandbox);
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/fails")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 40") && stderr.contains("line 11"),
        "the last 30 lines: {stderr}"
    );
    assert!(
        !stderr.contains("line 10\n"),
        "only the last 30 lines: {stderr}"
    );
    assert!(stderr.contains(".log"), "the log's path: {stderr}");
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.store().join("store"))
        .expect("store dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with("-fails"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no output of a failed build in the store"
    );
}

#[test]
fn a_builder_cannot_reach_the_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("net");
    write_project(
        &project,
        &format!(
            "{{ makeDerivation, ... }}: {{ jobs.\"/net\" = makeDerivation {{ name = \"net\"; builder = ''\n  if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then echo reached > $out; else echo unreachable > $out; fi\n''; }}; }}"
        ),
    );
    let result = build_any(&sandbox, &project, "/net");
    assert_eq!(
        std::fs::read_to_string(result).expect("result"),
        "unreachable\n"
    );
}

#[test]
fn killed_in_the_middle_the_next_build_succeeds_with_the_same_output() {
    let reference = Sandbox::new();
    let expected = build_any(&reference, &features_project(&reference), "/slow");

    let sandbox = Sandbox::new();
    let project = features_project(&sandbox);
    let mut child = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/slow")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("makes starts");
    // Wait until the builder runs (its log says so), then kill -9.
    let logs = sandbox.store().join("logs");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let started = std::fs::read_dir(&logs)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("started")));
        if started {
            break;
        }
        assert!(Instant::now() < deadline, "the builder never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let again = build_any(&sandbox, &project, "/slow");
    assert_eq!(
        again.file_name(),
        expected.file_name(),
        "the same store path"
    );
    assert_eq!(
        std::fs::read_to_string(again.join("result")).expect("result"),
        "done\n"
    );
}

#[test]
fn killed_while_copying_into_the_store_the_next_build_succeeds() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("big");
    write_project(&project, "{ makeDerivation, ... }: { jobs.\"/big\" = makeDerivation { name = \"big\"; builder = \"cp -r ${./data} $out\"; }; }");
    let data = project.join("data");
    for i in 0..200 {
        let dir = data.join(format!("d{}", i % 20));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(format!("f{i}")), vec![b'x'; 16 * 1024]).expect("file");
    }
    for delay_ms in [5, 20, 60, 150] {
        let mut child = sandbox
            .makes()
            .arg("--project")
            .arg(&project)
            .arg("/big")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("makes starts");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().expect("reaped");
    }
    let result = build_any(&sandbox, &project, "/big");
    let count = walk_files(&result);
    assert_eq!(count, 200, "every file made it into the output");
}

fn walk_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| {
            if e.path().is_dir() {
                walk_files(&e.path())
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn two_concurrent_builds_of_one_job_both_succeed_identically() {
    let sandbox = Sandbox::new();
    let project = fixture("hello");
    let spawn = || {
        sandbox
            .makes()
            .arg("--project")
            .arg(&project)
            .arg("/hello")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("makes starts")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    assert_success(&a);
    assert_success(&b);
    assert_eq!(a.stdout, b.stdout);
    let path = PathBuf::from(String::from_utf8_lossy(&a.stdout).trim());
    let fresh = Sandbox::new();
    let reference = fresh.build(&project, "/hello");
    assert_eq!(
        std::fs::read(path).expect("a"),
        std::fs::read(reference).expect("reference")
    );
}

#[test]
fn gc_keeps_what_out_links_reach_and_removes_the_rest() {
    let sandbox = Sandbox::new();
    let result = sandbox.build(&fixture("hello"), "/hello");
    let dry = run(sandbox.makes().args(["gc", "--dry-run"]));
    let listed = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(
        listed.lines().any(|l| l.ends_with("-hello")),
        "the builders' outputs are garbage: {listed}"
    );
    assert!(
        !listed.contains("makes-hello.tar"),
        "the image is reached by its out-link"
    );
    assert!(
        std::fs::read_dir(sandbox.store().join("store"))
            .expect("store")
            .count()
            > 1,
        "dry run removed nothing"
    );

    let gc = run(sandbox.makes().arg("gc"));
    assert_eq!(gc.stdout, dry.stdout, "gc removes what the dry run listed");
    assert!(result.is_file(), "the out-link's target stays");
    let again = run(sandbox.makes().args(["gc", "--dry-run"]));
    assert!(again.stdout.is_empty(), "nothing left to collect");
    // The job still builds (its image is valid, so nothing is rebuilt).
    assert_eq!(sandbox.build(&fixture("hello"), "/hello"), result);
}

#[test]
fn an_unprivileged_user_builds_the_same_image() {
    let is_root = crate::common::running_as_root();
    if !is_root || !crate::common::have_tool("setpriv") {
        eprintln!("note: skipping: needs root to switch to an unprivileged user");
        return;
    }
    let as_root = Sandbox::new();
    let expected = as_root.build(&fixture("hello"), "/hello");

    let sandbox = Sandbox::new();
    let result = sandbox.build_as_nobody(&fixture("hello"), "/hello");
    assert_eq!(
        result.file_name(),
        expected.file_name(),
        "the same store path"
    );
    assert_eq!(
        std::fs::read(result).expect("result"),
        std::fs::read(expected).expect("expected")
    );
}

#[test]
fn a_fixed_output_builder_keeps_the_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let sandbox = Sandbox::new();
    // The NAR hash of a single file holding "reached\n": what the builder must produce.
    let expected = {
        let f = sandbox.dir.path().join("expected");
        std::fs::write(&f, "reached\n").expect("write");
        let (hash, _) = makes_store::nar_hash_and_size(&f).expect("hash");
        makes_store::nixbase32::encode(&hash)
    };
    let project = sandbox.dir.path().join("fod");
    write_project(
        &project,
        &format!(
            "{{ makeDerivation, ... }}: {{ jobs.\"/fod\" = makeDerivation {{ name = \"fod\"; sha256 = \"{expected}\"; builder = ''\n  if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then echo reached > $out; else echo unreachable > $out; fi\n''; }}; }}"
        ),
    );
    let result = build_any(&sandbox, &project, "/fod");
    assert_eq!(
        std::fs::read_to_string(result).expect("result"),
        "reached\n"
    );
}
