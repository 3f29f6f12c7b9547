//! makes' builders of its `src/args` (`nix/args/builders.nix`) and their modules, on a
//! project in the form of makes' documentation (fixtures/builders, makes 23.06): the jobs are
//! listed as makes lists them, each gives a spec, and `computeOnAwsBatch` and `deployNomad`
//! run makes' own scripts against doubles of the AWS and Nomad CLIs that record their
//! command lines (fixtures/builders-nixpkgs). The release differences of computeOnAwsBatch
//! are checked on the same project pinned at other releases. (Not as an unprivileged user:
//! the stand-in set is built by the host's single-user Nix, whose store only root writes.)

use crate::common::{assert_success, copy_tree, fixture, have_tool, Sandbox};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// Whether the tools the doubles need are here (Nix builds the stand-in set; the doubles are
/// Python programs).
fn tools() -> bool {
    ["nix-build", "python3", "jq", "bash"]
        .iter()
        .all(|t| have_tool(t))
}

/// A copy of the fixture project (outside git: every file is the project's).
fn project(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.path().join("project");
    copy_tree(&fixture("builders"), &dir);
    dir
}

/// The commit of makes' tag `release`, for makes.lock.nix.
fn pin(project: &Path, commit: &str) {
    std::fs::write(
        project.join("makes.lock.nix"),
        format!(
            "{{ makesSrc = builtins.fetchGit {{ url = \"https://github.com/fluidattacks/makes\"; rev = \"{commit}\"; }}; }}\n"
        ),
    )
    .expect("write makes.lock.nix");
}

const MAKES_21_10: &str = "3dde5c1540dac1d7a10b8649adb7a8f3ba5dbd84";
const MAKES_22_05: &str = "12b487e7ed5623883890ad3641dec195ddc16d13";
const MAKES_24_01: &str = "ac744a2691af0a4c6f3e14b347475b96a4c04315";

/// `makes ARGS` in `project` with Nix building the stand-in packages, the doubles' log at
/// `log` and no CI provider.
fn makes_in(sandbox: &Sandbox, project: &Path, log: &Path) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env(
        "NIX_CONFIG",
        "substituters =\nbuild-users-group =\nsandbox = false",
    )
    .env("MAKES_NIXPKGS", fixture("builders-nixpkgs"))
    .env("STAND_IN_LOG", log)
    .current_dir(project)
    .args(["--packages", "nix"]);
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("{cmd:?} could not start: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command lines the doubles recorded, one JSON array each.
fn calls(log: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON array a line"))
        .collect()
}

/// The value after `flag` in `call`.
fn option<'a>(call: &'a [String], flag: &str) -> Option<&'a str> {
    let at = call.iter().position(|a| a == flag)?;
    call.get(at + 1).map(String::as_str)
}

const JOBS: &[&str] = &[
    "/computeOnAwsBatch/report",
    "/cvss",
    "/deployNomad/staging/web",
    "/dynamoDb/users",
    "/envVars/batch",
    "/secureKubernetesWithRbacPolice/cluster",
    "/testPullRequest/default",
];

#[test]
fn builders_jobs_are_listed_as_makes_lists_them_and_each_gives_a_spec() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let log = sandbox.dir.path().join("calls");
    let out = output(makes_in(&sandbox, &project, &log).arg("--list"));
    assert_success(&out);
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(listed, JOBS, "{}", stderr(&out));

    for job in JOBS {
        let out = output(makes_in(&sandbox, &project, &log).args(["show", job]));
        assert_success(&out);
        let spec: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("makes show prints JSON");
        assert!(spec.is_object(), "{job}: {spec}");
    }
    // Showing builds nothing and runs nothing.
    assert!(calls(&log).is_empty());
}

#[test]
fn compute_on_aws_batch_submits_the_job_makes_builds() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let log = sandbox.dir.path().join("calls");
    let out = output(
        makes_in(&sandbox, &project, &log)
            .env("REPORT_DATE", "2026-12-01")
            .args([".", "/computeOnAwsBatch/report", "monthly"]),
    );
    assert_success(&out);
    let err = stderr(&out);
    assert!(
        err.contains("Job report-monthly has been successfully sent"),
        "{err}"
    );
    // The setup (`outputs."/envVars/batch"`) was sourced first.
    assert!(err.contains("AWS_DEFAULT_REGION=us-east-1"), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"jobName\": \"report-monthly\""),
        "aws' answer reaches stdout"
    );

    let calls = calls(&log);
    assert_eq!(calls.len(), 2, "{calls:?}");
    // First the queue is searched for a job of the same name (allowDuplicates = false).
    assert_eq!(
        calls[0],
        [
            "aws",
            "batch",
            "list-jobs",
            "--job-queue",
            "ec2_spot",
            "--job-status",
            "RUNNABLE",
            "--query",
            "jobSummaryList[*].jobName"
        ]
    );
    let submit = &calls[1];
    assert_eq!(submit[1..3], ["batch", "submit-job"]);
    assert_eq!(option(submit, "--job-name"), Some("report-monthly"));
    assert_eq!(option(submit, "--job-queue"), Some("ec2_spot"));
    assert_eq!(option(submit, "--job-definition"), Some("makes"));
    assert_eq!(option(submit, "--retry-strategy"), Some("attempts=2"));
    assert_eq!(
        option(submit, "--timeout"),
        Some("attemptDurationSeconds=3600")
    );
    assert_eq!(
        option(submit, "--tags"),
        Some("Management:Product=reports,Management:Type=product")
    );
    assert!(submit.iter().any(|a| a == "--propagate-tags"));
    assert_eq!(option(submit, "--array-properties"), Some("size=3"));
    let overrides: serde_json::Value =
        serde_json::from_str(option(submit, "--container-overrides").expect("overrides"))
            .expect("JSON overrides");
    assert_eq!(
        overrides["command"],
        serde_json::json!([
            "m",
            "github:fluidattacks/makes@main",
            "/report",
            "2026-12-01",
            "monthly"
        ]),
        "the command's variables substituted, the job's arguments appended"
    );
    assert_eq!(
        overrides["environment"],
        serde_json::json!([
            { "name": "CI", "value": "true" },
            { "name": "MAKES_AWS_BATCH_COMPAT", "value": "true" },
            { "name": "REPORT_DATE", "value": "2026-12-01" }
        ])
    );
    assert_eq!(
        overrides["resourceRequirements"],
        serde_json::json!([
            { "type": "VCPU", "value": "1" },
            { "type": "MEMORY", "value": "1800" }
        ])
    );
}

#[test]
fn compute_on_aws_batch_skips_a_queued_job_and_requires_its_variables() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let log = sandbox.dir.path().join("calls");
    let out = output(
        makes_in(&sandbox, &project, &log)
            .env("REPORT_DATE", "2026-12-01")
            .env("STAND_IN_QUEUED", "[\"other\", \"report\"]")
            .args([".", "/computeOnAwsBatch/report"]),
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("Job report is already in queue, we skipped sending it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(calls(&log).len(), 1, "only list-jobs");

    // A variable of `environment` that is not set stops the job before anything is sent.
    std::fs::remove_file(&log).ok();
    let out = output(makes_in(&sandbox, &project, &log).args([".", "/computeOnAwsBatch/report"]));
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("REPORT_DATE"), "{}", stderr(&out));
    assert!(calls(&log)
        .iter()
        .all(|c| c.get(2).map(String::as_str) != Some("submit-job")));
}

#[test]
fn compute_on_aws_batch_follows_the_release_the_project_pins() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let log = sandbox.dir.path().join("calls");
    let makes_nix = std::fs::read_to_string(project.join("makes.nix")).expect("read");

    // 22.05 knows `parallel` but not `tags` (22.11): makes' module refuses the option.
    pin(&project, MAKES_22_05);
    let out =
        output(makes_in(&sandbox, &project, &log).args(["show", "/computeOnAwsBatch/report"]));
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("computeOnAwsBatch.report.tags' does not exist (makes 22.05)"),
        "{}",
        stderr(&out)
    );

    // 21.10: memory and vcpus in the manifest, no MAKES_AWS_BATCH_COMPAT, no parallel.
    pin(&project, MAKES_21_10);
    let without = makes_nix
        .replace("      parallel = 3;\n", "")
        .replace(
            "      tags = {\n        \"Management:Product\" = \"reports\";\n        \"Management:Type\" = \"product\";\n      };\n",
            "",
        );
    std::fs::write(project.join("makes.nix"), &without).expect("write");
    let out = output(
        makes_in(&sandbox, &project, &log)
            .env("REPORT_DATE", "2021-10-01")
            .args([".", "/computeOnAwsBatch/report"]),
    );
    assert_success(&out);
    let calls = calls(&log);
    let submit = calls.last().expect("submit-job");
    assert_eq!(submit[1..3], ["batch", "submit-job"]);
    assert_eq!(option(submit, "--tags"), None);
    assert_eq!(option(submit, "--array-properties"), None);
    let overrides: serde_json::Value =
        serde_json::from_str(option(submit, "--container-overrides").expect("overrides"))
            .expect("JSON overrides");
    assert_eq!(overrides["memory"], 1800);
    assert_eq!(overrides["vcpus"], 1);
    assert_eq!(
        overrides["environment"],
        serde_json::json!([
            { "name": "CI", "value": "true" },
            { "name": "REPORT_DATE", "value": "2021-10-01" }
        ])
    );

    // 24.01: makes' batch-client sends a jobs.json (dryRun is an option from 24.01 on).
    pin(&project, MAKES_24_01);
    std::fs::write(
        project.join("makes.nix"),
        makes_nix.replace(
            "      parallel = 3;\n",
            "      parallel = 3;\n      dryRun = true;\n",
        ),
    )
    .expect("write");
    let out =
        output(makes_in(&sandbox, &project, &log).args(["show", "/computeOnAwsBatch/report"]));
    assert_success(&out);
    let spec = String::from_utf8_lossy(&out.stdout);
    assert!(
        spec.contains("batch-client submit-job --pipeline"),
        "{spec}"
    );
    assert!(spec.contains("-jobs.json"), "{spec}");
}

/// One request the fake AWS Batch endpoint received: its path and JSON body.
type Request = (String, serde_json::Value);

/// A fake AWS Batch endpoint on 127.0.0.1 (`ListJobs` answers no job, `SubmitJob` an id),
/// in a thread living as long as the test; gives its port and the requests.
fn fake_batch() -> (u16, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split(' ').nth(1).unwrap_or_default().to_owned();
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let answer = if path.ends_with("listjobs") {
                serde_json::json!({ "jobSummaryList": [] })
            } else {
                serde_json::json!({
                    "jobArn": "arn:aws:batch:us-east-1:000000000000:job/1",
                    "jobName": body["jobName"],
                    "jobId": "1"
                })
            };
            if let Ok(mut seen) = log.lock() {
                seen.push((path, body));
            }
            let answer = answer.to_string();
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (port, seen)
}

#[test]
fn compute_on_aws_batch_from_24_01_runs_makes_batch_client() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    pin(&project, MAKES_24_01);
    let log = sandbox.dir.path().join("calls");
    let (port, requests) = fake_batch();
    let out = output(
        makes_in(&sandbox, &project, &log)
            .env("REPORT_DATE", "2026-12-01")
            .env("AWS_ENDPOINT_URL_BATCH", format!("http://127.0.0.1:{port}"))
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .args([".", "/computeOnAwsBatch/report", "monthly"]),
    );
    let err = stderr(&out);
    // The client's libraries are wheels downloaded from PyPI: without the network the job
    // cannot be built, and says which download failed.
    if !out.status.success() && err.contains("files.pythonhosted.org") {
        eprintln!("note: skipping: PyPI is out of reach: {err}");
        return;
    }
    assert_success(&out);
    assert!(err.contains("Job sent! id=1"), "{err}");
    let requests = requests.lock().expect("requests").clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].0, "/v1/listjobs");
    assert_eq!(
        requests[0].1,
        serde_json::json!({
            "jobQueue": "ec2_spot",
            "filters": [{ "name": "JOB_NAME", "values": ["report-monthly"] }]
        })
    );
    let (path, submit) = &requests[1];
    assert_eq!(path, "/v1/submitjob");
    assert_eq!(submit["jobName"], "report-monthly");
    assert_eq!(submit["jobDefinition"], "makes");
    assert_eq!(submit["arrayProperties"]["size"], 3);
    assert_eq!(submit["retryStrategy"]["attempts"], 2);
    assert_eq!(submit["propagateTags"], true);
    assert_eq!(submit["tags"]["Management:Type"], "product");
    // makes' client sends the command as written (no substitution) plus the arguments, and
    // the variables of `environment` with their values.
    assert_eq!(
        submit["containerOverrides"]["command"],
        serde_json::json!([
            "m",
            "github:fluidattacks/makes@main",
            "/report",
            "${REPORT_DATE}",
            "monthly"
        ])
    );
    assert_eq!(
        submit["containerOverrides"]["environment"][2],
        serde_json::json!({ "name": "REPORT_DATE", "value": "2026-12-01" })
    );
}

#[test]
fn deploy_nomad_plans_locally_and_runs_on_a_ci_provider() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let log = sandbox.dir.path().join("calls");
    let out = output(makes_in(&sandbox, &project, &log).args([".", "/deployNomad/staging/web"]));
    assert_success(&out);
    assert!(
        stderr(&out).contains("[INFO] Planning /nix/store/"),
        "{}",
        stderr(&out)
    );
    let out = output(
        makes_in(&sandbox, &project, &log)
            .env("CI", "true")
            .args([".", "/deployNomad/staging/web"]),
    );
    assert_success(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nomad 1.0.18"),
        "the namespace's nomad version"
    );
    let calls = calls(&log);
    assert_eq!(calls.len(), 2, "{calls:?}");
    for (call, verb) in calls.iter().zip(["plan", "run"]) {
        assert_eq!(call[..4], ["nomad", "job", verb, "-namespace=staging"]);
        assert!(
            call[4].starts_with("/nix/store/") && call[4].ends_with("-web.hcl"),
            "{call:?}"
        );
    }
}

#[test]
fn project_path_mutable_names_the_working_tree_in_makes_21_09() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    copy_tree(&fixture("builders-21.09"), &project);
    let log = sandbox.dir.path().join("calls");
    let out = output(makes_in(&sandbox, &project, &log).args([".", "/where"]));
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        project.join("data.txt").display().to_string(),
        "the file in the project's directory, not a store copy"
    );
}

#[test]
fn calculate_cvss3_scores_a_vector_with_makes_script() {
    if !tools() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let log = sandbox.dir.path().join("calls");
    let out = output(makes_in(&sandbox, &project, &log).args([".", "/cvss"]));
    let err = stderr(&out);
    // makes' cvss environment is a wheel from PyPI.
    if !out.status.success() && err.contains("files.pythonhosted.org") {
        eprintln!("note: skipping: PyPI is out of reach: {err}");
        return;
    }
    assert_success(&out);
    let result = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let scores: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&result).expect("the result file"))
            .expect("makes' cvss.py prints JSON");
    assert_eq!(scores["score"]["base"], "9.8");
    assert_eq!(scores["severity"]["base"], "Critical");
}
