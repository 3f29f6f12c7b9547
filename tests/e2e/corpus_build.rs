//! The corpus harness's build pass (`MAKES_CORPUS_BUILD=1`, `scripts/corpus/report.sh
//! --build`): every job `makes show` gave a spec for is built as a user builds it without
//! running it, `makes --no-run JOB` (an image job gives its archive, a script job its store
//! path, a deploy job its image and setup scripts, pushing nothing), offline, with a time limit
//! per job and several at once. makes' package set is the host-tools stand-in
//! (`scripts/corpus/host-tools-nixpkgs.nix`: the host's real bash, coreutils, git, jq,
//! Python, ... wrapped), built by the installed Nix. Each job that does not build is classed
//! by its first cause, as the show pass classes its failures. The pass is tested without the
//! corpus on `fixtures/corpus-build`.

use crate::common::{copy_tree, fixture, have_tool, repo_root, Sandbox};
use crate::corpus::{brief, corpus_makes, first_error, quoted_after, run_limited, workers};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Whether the harness builds the shown jobs.
pub(crate) fn build_pass_enabled() -> bool {
    std::env::var("MAKES_CORPUS_BUILD").as_deref() == Ok("1")
}

/// Longest one build may take (`MAKES_CORPUS_BUILD_TIME_LIMIT`, seconds).
fn time_limit() -> Duration {
    let seconds = std::env::var("MAKES_CORPUS_BUILD_TIME_LIMIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(seconds)
}

/// The most jobs built per project (`MAKES_CORPUS_BUILD_MAX`): a project with more shown jobs
/// builds a sample, every Nth job in job order.
pub(crate) fn most_jobs_per_project() -> usize {
    std::env::var("MAKES_CORPUS_BUILD_MAX")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(80)
}

/// Why a job was not built, by what it would take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum BuildClass {
    /// (s) A package the host-tools set lacks (the host has no such tool).
    Lacks,
    /// (n) Something fetched while building: the project's own nixpkgs pin (`fetchNixpkgs`),
    /// a download (the harness runs offline).
    Network,
    /// (f) A builder ran and failed: a check of the job that found something, or a tool of the
    /// set that does not do what the job asks.
    Failed,
    /// (t) Still building at the time limit.
    TimeLimit,
    /// (c) Anything else.
    Other,
}

impl BuildClass {
    pub(crate) fn label(self) -> &'static str {
        match self {
            BuildClass::Lacks => "s",
            BuildClass::Network => "n",
            BuildClass::Failed => "f",
            BuildClass::TimeLimit => "t",
            BuildClass::Other => "c",
        }
    }
}

/// What the build pass gave for one project.
#[derive(Debug, Default)]
pub(crate) struct Built {
    /// Jobs the pass tried (all shown jobs, or a sample of them).
    pub(crate) attempted: usize,
    pub(crate) built: usize,
    /// Every Nth shown job when the pass built a sample, else 1.
    pub(crate) every: usize,
    pub(crate) shown: usize,
    pub(crate) not_built: BTreeMap<BuildClass, usize>,
    /// The causes, most frequent first (`3× (s) package `nixfmt` ...`).
    pub(crate) why: String,
    /// Each tried job and the cause that stopped it (None: built).
    pub(crate) jobs: Vec<(String, Option<(BuildClass, String)>)>,
}

impl Built {
    /// The table's cell: `built/attempted`, saying when it was a sample.
    pub(crate) fn cell(&self) -> String {
        if self.every > 1 {
            format!(
                "{}/{} (1 in {} of {} shown)",
                self.built, self.attempted, self.every, self.shown
            )
        } else {
            format!("{}/{}", self.built, self.attempted)
        }
    }
}

/// makes' package set for the pass: a directory holding a `default.nix` that calls
/// host-tools-nixpkgs.nix and `lib`, a link to LIB (a nixpkgs `lib` directory), made in the
/// sandbox.
pub(crate) fn host_tools_set(sandbox: &Sandbox, lib: &Path) -> PathBuf {
    let dir = sandbox.dir.path().join("host-tools-nixpkgs");
    std::fs::create_dir_all(&dir).expect("create the host-tools set");
    let link = dir.join("lib");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(lib, &link).expect("link nixpkgs' lib");
    let set = repo_root().join("scripts/corpus/host-tools-nixpkgs.nix");
    std::fs::write(
        dir.join("default.nix"),
        format!(
            "# Made by the corpus harness: makes' package set of host tools.\n\
             import {} {{ libPath = ./lib; }}\n",
            set.display()
        ),
    )
    .expect("write the host-tools set");
    dir
}

/// `makes --no-run JOB` as the pass runs it: Nix builds the set's packages offline (no
/// substituter, no download retries) without its own sandbox (the packages wrap host tools).
fn build_command(sandbox: &Sandbox, set: &Path, project: &Path, job: &str) -> Command {
    let mut cmd = corpus_makes(sandbox);
    cmd.env(
        "NIX_CONFIG",
        "substituters =\nbuild-users-group =\nsandbox = false\ndownload-attempts = 1",
    )
    .args(["--packages", "nix", "--option", "makes-nixpkgs"])
    .arg(set)
    .args(["--no-run", "--no-out-link", "-q", "--project"])
    .arg(project)
    .arg(job);
    cmd
}

/// Builds the shown `jobs` of `project` (with more than `most`, a sample: every Nth job);
/// panics, signals and missing results go to `crashes`.
pub(crate) fn build_jobs(
    sandbox: &Sandbox,
    set: &Path,
    project: &Path,
    id: &str,
    jobs: &[String],
    most: usize,
    crashes: &mut Vec<String>,
) -> Built {
    let every = jobs.len().div_ceil(most).max(1);
    let sample: Vec<&String> = jobs.iter().step_by(every).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let runs: Vec<std::sync::Mutex<Option<crate::corpus::Run>>> =
        sample.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let limit = time_limit();
    std::thread::scope(|scope| {
        for _ in 0..workers().min(sample.len()) {
            scope.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(job) = sample.get(n) else { break };
                let cmd = build_command(sandbox, set, project, job);
                let run = run_limited(sandbox, cmd, &format!("{id}-build-{n}"), limit);
                // A poisoned slot only means another worker panicked; that panic is reported.
                if let Ok(mut slot) = runs[n].lock() {
                    *slot = Some(run);
                }
            });
        }
    });
    let mut built = Built {
        attempted: sample.len(),
        every,
        shown: jobs.len(),
        ..Built::default()
    };
    let mut causes: BTreeMap<(BuildClass, String), usize> = BTreeMap::new();
    for (job, run) in sample.iter().zip(runs) {
        let run = run
            .into_inner()
            .ok()
            .flatten()
            .expect("every job was run by a worker");
        let timed_out = run
            .crash
            .as_deref()
            .is_some_and(|c| c.starts_with("still running"));
        if let Some(crash) = run.crash.as_ref().filter(|_| !timed_out) {
            crashes.push(format!(
                "{id}: makes --no-run {job}: {crash}\n{}",
                run.stderr
            ));
        }
        let cause = if timed_out {
            Some((
                BuildClass::TimeLimit,
                format!("still building after {}s", limit.as_secs()),
            ))
        } else if run.success {
            let path = PathBuf::from(run.stdout.trim_end());
            if !path.exists() {
                crashes.push(format!(
                    "{id}: makes --no-run {job} succeeded but printed {:?}, which is no path",
                    run.stdout
                ));
            }
            None
        } else {
            Some(build_cause_of(&run.stderr))
        };
        match &cause {
            None => built.built += 1,
            Some(cause) => *causes.entry(cause.clone()).or_default() += 1,
        }
        built.jobs.push(((*job).clone(), cause));
    }
    for ((class, _), count) in &causes {
        *built.not_built.entry(*class).or_default() += count;
    }
    let mut causes: Vec<((BuildClass, String), usize)> = causes.into_iter().collect();
    causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    built.why = causes
        .iter()
        .map(|((class, cause), count)| format!("{count}× ({}) {cause}", class.label()))
        .collect::<Vec<_>>()
        .join("; ");
    built
}

/// Why `makes --no-run JOB` failed, as a cause shared by many jobs, and its class.
pub(crate) fn build_cause_of(stderr: &str) -> (BuildClass, String) {
    let error = first_error(stderr);
    // A package of makes' set that the host-tools set does not have: the set's own names are
    // listed (`__makesPackageSet`) in the help of a missing attribute, or the code shown
    // selects it (`__nixpkgs__.python311Packages.lizard`).
    if let Some(name) = quoted_after(&error, "attribute ").filter(|_| error.ends_with(" missing")) {
        let selected = stderr
            .split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
            .filter_map(|word| word.strip_prefix("__nixpkgs__."))
            .find(|path| *path == name || path.ends_with(&format!(".{name}")));
        if selected.is_some() || stderr.contains("__makesPackageSet") {
            return (
                BuildClass::Lacks,
                format!(
                    "package `{}` not in the host-tools set",
                    selected.unwrap_or(name)
                ),
            );
        }
    }
    // makes' own message for a tool its deploy scripts take from the set (`cosign` to sign).
    if let Some(name) = quoted_after(&error, "(__nixpkgs__) has no ") {
        return (
            BuildClass::Lacks,
            format!("package `{name}` not in the host-tools set"),
        );
    }
    if let Some(name) = quoted_after(&error, "needs ").filter(|_| error.contains("package set")) {
        return (
            BuildClass::Lacks,
            format!("package `{name}` not in the host-tools set"),
        );
    }
    if stderr.contains("unable to download")
        || stderr.contains("Couldn't resolve host")
        || error.contains("unreachable")
    {
        let what = if error.starts_with("cannot resolve '") && error.contains("github:") {
            "the project's own nixpkgs pin (`fetchNixpkgs`), not fetched offline".to_owned()
        } else {
            let host = stderr
                .split(['\'', ' ', '"'])
                .find(|w| w.starts_with("https://") || w.starts_with("http://"))
                .and_then(|u| u.split('/').nth(2))
                .unwrap_or("the network");
            format!("a download from {host} (offline)")
        };
        return (BuildClass::Network, what);
    }
    // A fixed-output download the build needs (`fetching URL into PATH failed`, the server's
    // answer on the next line): PyPI is reached through a proxy that does not serve every file.
    if let Some(url) = error
        .strip_prefix("fetching ")
        .filter(|_| error.ends_with(" failed"))
        .and_then(|rest| rest.split_whitespace().next())
    {
        let host = url.split('/').nth(2).unwrap_or(url);
        let answer = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("╰─▶"))
            .and_then(|l| l.rsplit_once(": ").map(|(_, why)| why.trim()))
            .unwrap_or("no answer");
        return (
            BuildClass::Network,
            format!("a download from {host} failed: {}", brief(answer)),
        );
    }
    if let Some(rest) = error.strip_prefix("builder for ") {
        // `builder for /nix/store/<hash>-NAME failed (STATUS); last lines of LOG:` and the tail.
        let name = rest
            .split_whitespace()
            .next()
            .and_then(|p| p.rsplit('/').next())
            .map_or("?", |base| {
                base.split_once('-').map_or(base, |(_, name)| name)
            });
        let status = rest
            .split_once(" failed (")
            .and_then(|(_, status)| status.split_once(");"))
            .map_or("", |(status, _)| status);
        let last = stderr
            .lines()
            .skip_while(|l| !l.contains("last lines of"))
            .skip(1)
            .map(str::trim)
            .map(|l| l.trim_start_matches('│').trim())
            .filter(|l| !l.is_empty() && !l.starts_with("help:"))
            .last();
        let last = last.map_or(String::new(), |l| format!(": {}", brief(l)));
        return (
            BuildClass::Failed,
            format!("the build of `{name}` failed ({status}){last}"),
        );
    }
    (BuildClass::Other, format!("other: {}", brief(&error)))
}

/// The summary of the pass over all projects.
pub(crate) fn summary(rows: &[&Built]) -> String {
    let attempted: usize = rows.iter().map(|b| b.attempted).sum();
    let built: usize = rows.iter().map(|b| b.built).sum();
    let shown: usize = rows.iter().map(|b| b.shown).sum();
    let sampled: Vec<String> = rows
        .iter()
        .filter(|b| b.every > 1)
        .map(|b| format!("1 in {} of {}", b.every, b.shown))
        .collect();
    let class = |class| -> usize {
        rows.iter()
            .map(|b| b.not_built.get(&class).copied().unwrap_or(0))
            .sum()
    };
    let sample = if sampled.is_empty() {
        String::new()
    } else {
        format!(
            " (a sample where a project has many: {})",
            sampled.join(", ")
        )
    };
    format!(
        "jobs built: {built} of the {attempted} shown jobs tried{sample}, {shown} shown in \
         all; not built: (s) {} need a package the host-tools set lacks, (n) {} fetch \
         something (the project's nixpkgs pin, a download), (f) {} builds ran and failed, \
         (t) {} reached the time limit, (c) {} other",
        class(BuildClass::Lacks),
        class(BuildClass::Network),
        class(BuildClass::Failed),
        class(BuildClass::TimeLimit),
        class(BuildClass::Other),
    )
}

/// The pass on a project of our own (fixtures/corpus-build): each kind of job builds the way
/// the corpus builds it (a script, an image, a deploy job whose registry is unreachable, so
/// any push would fail), and the jobs that cannot build are classed: a package the set lacks
/// (makes' formatNix module takes nixfmt, which the host has not), a builder that fails.
#[test]
fn the_build_pass_builds_a_projects_jobs_and_classes_the_rest() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    copy_tree(&fixture("corpus-build"), &project);
    let set = host_tools_set(&sandbox, &fixture("nix-packages/stand-in-nixpkgs/lib"));
    let jobs: Vec<String> = [
        "/deployContainer/app",
        "/fails",
        "/formatNix",
        "/image",
        "/script",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut crashes = Vec::new();
    let built = build_jobs(&sandbox, &set, &project, "fixture", &jobs, 80, &mut crashes);
    assert!(crashes.is_empty(), "{crashes:?}");
    let cause = |job: &str| {
        built
            .jobs
            .iter()
            .find(|(j, _)| j == job)
            .and_then(|(_, cause)| cause.clone())
    };
    for job in ["/script", "/image", "/deployContainer/app"] {
        assert_eq!(cause(job), None, "{job} builds: {:?}", built.jobs);
    }
    assert_eq!(
        cause("/formatNix"),
        Some((
            BuildClass::Lacks,
            "package `nixfmt` not in the host-tools set".to_owned()
        ))
    );
    let (class, why) = cause("/fails").expect("/fails does not build");
    assert_eq!(class, BuildClass::Failed, "{why}");
    assert!(
        why.contains("`refuses`") && why.contains("no greeting found"),
        "{why}"
    );
    assert_eq!((built.built, built.attempted), (3, 5));
    assert_eq!(built.cell(), "3/5");

    // The script really runs with the host's tools: bash and GNU coreutils of the set.
    let out = sandbox
        .makes()
        .env(
            "NIX_CONFIG",
            "substituters =\nbuild-users-group =\nsandbox = false",
        )
        .args(["--packages", "nix", "--option", "makes-nixpkgs"])
        .arg(&set)
        .arg(&project)
        .args(["/script", "world"])
        .output()
        .expect("makes runs");
    crate::common::assert_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello, WORLD\n");

    // A sample: every Nth job in job order, said in the cell.
    let sampled = build_jobs(&sandbox, &set, &project, "sampled", &jobs, 2, &mut crashes);
    let tried: Vec<&str> = sampled.jobs.iter().map(|(j, _)| j.as_str()).collect();
    assert_eq!(tried, ["/deployContainer/app", "/image"]);
    assert_eq!(sampled.cell(), "2/2 (1 in 3 of 5 shown)");
}

/// `makes --no-run` on a deploy job builds its image and pushes nothing (its registry does not
/// exist: without `--no-run` the push fails).
#[test]
fn no_run_builds_a_deploy_jobs_image_without_pushing() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    crate::common::write_project(
        &project,
        r#"{ makeContainerImage, makeDerivation, outputs, ... }:
{
  jobs."/app" = makeContainerImage {
    name = "app";
    layers = [ (makeDerivation { name = "file"; builder = "mkdir -p $out/etc; echo x > $out/etc/file"; }) ];
  };
  deployContainer.app = { image = "127.0.0.1:9/app:1"; src = outputs."/app"; attempts = 1; };
}
"#,
    );
    let built = sandbox.build(&project, "/app");
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["--no-run", "/deployContainer/app"])
        .output()
        .expect("makes runs");
    crate::common::assert_success(&out);
    assert_eq!(
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end()),
        built,
        "the deploy job's result is its image"
    );
    let pushed = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/deployContainer/app")
        .output()
        .expect("makes runs");
    assert!(!pushed.status.success(), "the push reaches no registry");
    assert!(
        String::from_utf8_lossy(&pushed.stderr).contains("127.0.0.1:9"),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
}

#[test]
fn build_failures_are_classed_by_their_first_cause() {
    let lacks = "  × attribute 'nixfmt' missing\n  help: available attributes: __makesPackageSet, \
                 buildEnv\n";
    assert_eq!(
        build_cause_of(lacks),
        (
            BuildClass::Lacks,
            "package `nixfmt` not in the host-tools set".to_owned()
        )
    );
    let nested = "  × attribute 'lizard' missing\n 226 │ searchPaths.bin = [ \
                  __nixpkgs__.python311Packages.lizard ];\n  help: available attributes: bandit\n";
    assert_eq!(
        build_cause_of(nested).1,
        "package `python311Packages.lizard` not in the host-tools set"
    );
    let empty = "  × builder for /nix/store/51n-myBashMap failed (exited 0 without creating \
                 $out); last lines of /s/logs/51n-myBashMap.log:\n";
    assert_eq!(
        build_cause_of(empty).1,
        "the build of `myBashMap` failed (exited 0 without creating $out)"
    );
    let glow = "  × makeScript needs 'glow' of makes' package set\n";
    assert_eq!(build_cause_of(glow).0, BuildClass::Lacks);
    let pin = "  × cannot resolve 'bash' of the package set github:nixos/nixpkgs/4a92571: \
               nix-instantiate failed (exit status: 1):\n  │ error: unable to download \
               'https://github.com/nixos/nixpkgs/archive/4a92571.tar.gz': Couldn't resolve \
               host name (6)\n";
    assert_eq!(
        build_cause_of(pin),
        (
            BuildClass::Network,
            "the project's own nixpkgs pin (`fetchNixpkgs`), not fetched offline".to_owned()
        )
    );
    let download = "  × fetching https://files.pythonhosted.org/packages/py3/c/certifi/c.whl \
                    into /nix/store/0x-c.whl failed\n  ╰─▶ https://files.pythonhosted.org/\
                    packages/py3/c/certifi/c.whl: the server answered HTTP 404 after 1 try\n";
    assert_eq!(
        build_cause_of(download),
        (
            BuildClass::Network,
            "a download from files.pythonhosted.org failed: the server answered HTTP 404 after \
             1 try"
                .to_owned()
        )
    );
    let failed = "  × builder for /nix/store/rx7-batch-client failed (exit status: 127); last \
                  lines of /s/logs/rx7-batch-client.log:\n  │ line 66: python: No such file\n";
    assert_eq!(
        build_cause_of(failed),
        (
            BuildClass::Failed,
            "the build of `batch-client` failed (exit status: 127): line 66: python: No such \
             file"
                .to_owned()
        )
    );
}
