//! Real projects written for fluidattacks/makes (`tests/corpus/origins.tsv`, checked out by
//! `scripts/corpus/materialise.sh` into `MAKES_CORPUS_DIR`, default `target/corpus`): `makes
//! --list` must give the jobs makes' own evaluator gives (`tests/corpus/expected/<id>.jobs`,
//! written by `scripts/corpus/expected-jobs.sh`), except for the projects of
//! `tests/corpus/known-differences.txt`, which must still differ so that the list stays true.
//! Then `makes show` runs on every listed job and its failures are sorted by cause into
//! `<corpus>/report.md`. With `MAKES_CORPUS_BUILD=1` the shown jobs are also built
//! (`corpus_build.rs`) and the table gets a `built` column. Neither `--list`, `show` nor a
//! build may panic. Without a materialised corpus (it needs the network, or fetched copies)
//! the test is skipped with a note, even under MAKES_REQUIRE_TOOLS.

use crate::common::{repo_root, Sandbox};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a single `makes --list` or `makes show` may take before it counts as hung.
const TIME_LIMIT: Duration = Duration::from_secs(300);

/// One line of origins.tsv.
struct Origin {
    id: String,
    subdirectory: String,
}

fn origins() -> Vec<Origin> {
    let text = std::fs::read_to_string(repo_root().join("tests/corpus/origins.tsv"))
        .expect("tests/corpus/origins.tsv exists");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert!(fields.len() >= 4, "origins.tsv: too few fields in {line:?}");
            // A documented example (`FILE.md#N`) is checked out as a project of its own; a
            // module (`DIR/makes.nix`) is imported by the checkout's root makes.nix.
            let subdirectory = if fields[3].contains(".md#") || fields[3].ends_with("/makes.nix") {
                ".".to_owned()
            } else {
                fields[3].to_owned()
            };
            Origin {
                id: fields[0].to_owned(),
                subdirectory,
            }
        })
        .collect()
}

pub(crate) fn corpus_dir() -> PathBuf {
    std::env::var_os("MAKES_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/corpus"))
}

/// What makes' own evaluator gave for a project: its jobs, or why there is no list.
enum Expected {
    Jobs(Vec<String>),
    Refused(String),
    Missing,
}

fn expected(id: &str) -> Expected {
    let dir = repo_root().join("tests/corpus/expected");
    if let Ok(text) = std::fs::read_to_string(dir.join(format!("{id}.jobs"))) {
        let mut jobs: Vec<String> = text.lines().map(str::to_owned).collect();
        jobs.sort();
        Expected::Jobs(jobs)
    } else if let Ok(text) = std::fs::read_to_string(dir.join(format!("{id}.why"))) {
        // The line after the heading is makes' own error; its first sentence says enough.
        let error = text.lines().nth(1).unwrap_or_default().trim();
        let error = error.strip_prefix("error: ").unwrap_or(error);
        let error = error
            .strip_prefix("evaluation aborted with the following error message: '")
            .unwrap_or(error);
        let error = error.split(". ").next().unwrap_or(error);
        let error = match quoted_after(error, "called without required argument ") {
            Some(argument) => format!("no argument '{argument}'"),
            None => error.to_owned(),
        };
        Expected::Refused(error)
    } else {
        Expected::Missing
    }
}

/// `tests/corpus/known-differences.txt`: project ids whose list is known to differ (first
/// word of each line; the rest is the reason).
fn known_differences() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo_root().join("tests/corpus/known-differences.txt"))
        .unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.splitn(2, char::is_whitespace);
            let id = parts.next()?.to_owned();
            Some((id, parts.next().unwrap_or_default().trim().to_owned()))
        })
        .collect()
}

/// The end of one run of makes.
pub(crate) struct Run {
    pub(crate) success: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// A panic, a signal or the time limit: never acceptable, whatever the input (the build
    /// pass counts its time limit as a class of its own).
    pub(crate) crash: Option<String>,
}

/// Runs `cmd` with its output in files (a project may print a lot) and a time limit.
pub(crate) fn run_limited(sandbox: &Sandbox, mut cmd: Command, name: &str, limit: Duration) -> Run {
    let out_path = sandbox.dir.path().join(format!("{name}.out"));
    let err_path = sandbox.dir.path().join(format!("{name}.err"));
    let out = std::fs::File::create(&out_path).expect("stdout file");
    let err = std::fs::File::create(&err_path).expect("stderr file");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("makes starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for makes") {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |path: &Path| {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(path) {
            let mut bytes = Vec::new();
            let _ = file.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    };
    let stdout = read(&out_path);
    let stderr = read(&err_path);
    let crash = match status {
        None => Some(format!("still running after {}s", limit.as_secs())),
        Some(s) if s.code().is_none() => Some(format!("killed by a signal ({s})")),
        Some(_) if stderr.contains("panicked at") => Some("panicked".to_owned()),
        Some(_) => None,
    };
    Run {
        success: status.is_some_and(|s| s.success()),
        stdout,
        stderr,
        crash,
    }
}

/// The first message of an error report (miette's `×` line, the root cause), without its
/// decoration, or else the first line that is not a warning.
pub(crate) fn first_error(stderr: &str) -> String {
    let lines = || stderr.lines().map(str::trim);
    let line = lines()
        .find_map(|l| l.strip_prefix("× "))
        .or_else(|| {
            lines().find(|l| {
                !l.is_empty() && !l.starts_with("makes: warning") && !l.starts_with("trace:")
            })
        })
        .unwrap_or("(no message)");
    let line = line.strip_prefix("makes: ").unwrap_or(line);
    let line = corpus_dir()
        .to_str()
        .map_or(line.to_owned(), |dir| line.replace(dir, "<corpus>"));
    line
}

/// TEXT cut to a table cell's length.
pub(crate) fn brief(text: &str) -> String {
    const LENGTH: usize = 140;
    if text.chars().count() <= LENGTH {
        return text.to_owned();
    }
    let cut: String = text.chars().take(LENGTH).collect();
    format!("{cut}…")
}

/// The name in `'NAME'` after `marker` in `text`.
pub(crate) fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let rest = rest.strip_prefix('\'')?;
    rest.split('\'').next()
}

/// Why a job is not shown, by what it would take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// (a) A nixpkgs function (`dockerTools.buildImage`, `stdenv.mkDerivation`, ...) or a
    /// language environment (`makePython*`, `makeNodeJs*`, ...).
    Nixpkgs,
    /// (b) A job of one of makes' modules (`/lintNix`, `/formatBash`, ...) or a builder of
    /// makes' own (`computeOnAwsBatch`, ...): makes' own code run with nixpkgs' tools.
    MakesOwn,
    /// (c) Anything else: a gap of this implementation.
    Other,
    /// (p) The project's own error, which makes would report too: `outputs."/job"` naming a
    /// job that neither makes nor this implementation lists, an undefined variable.
    Project,
    /// (n) A source fetched during evaluation (`builtins.fetchTarball`, `builtins.fetchGit`):
    /// in the corpus, nixpkgs or makes itself, imported, so the network and nixpkgs.
    Network,
}

impl Class {
    fn label(self) -> &'static str {
        match self {
            Class::Nixpkgs => "a",
            Class::MakesOwn => "b",
            Class::Other => "c",
            Class::Project => "p",
            Class::Network => "n",
        }
    }
}

/// Why `makes show` failed on a job, as a cause shared by many jobs, and its class. `jobs` are
/// the project's jobs.
fn cause_of(stderr: &str, jobs: &[String]) -> (Class, String) {
    let mut error = first_error(stderr);
    // A report of several problems (`dockerTools.buildImage has 2 problems`): the first one.
    if error.ends_with(" problems") {
        if let Some(first) = stderr
            .lines()
            .filter_map(|l| l.trim().strip_prefix("├─▶"))
            .find_map(|l| l.trim().strip_prefix("× "))
        {
            error = first_error(&format!("× {first}"));
        }
    }
    if let Some(job) = quoted_after(&error, "attribute ")
        .filter(|name| name.starts_with('/') && error.ends_with("missing"))
        .filter(|name| !jobs.iter().any(|j| j == name))
    {
        return (Class::Project, format!("refers to a job it lacks, `{job}`"));
    }
    // A static error: Nix reports it as well (the eval cases check the scoping against Nix).
    if let Some(name) = quoted_after(&error, "undefined variable ") {
        return (Class::Project, format!("undefined variable `{name}`"));
    }
    // The harness runs offline: a source fetched during evaluation (nixpkgs, makes, a git
    // repository) cannot be reached; a pinned one is fetched when evaluation reads it
    // (`opening file '/nix/store/...': unable to download ...`).
    let fetch_failed = (error.contains("unable to download '") && error.contains("unreachable"))
        || (error.starts_with("git -C ") && error.contains(" fetch "));
    if fetch_failed {
        let url = error
            .split(['\'', ' '])
            .find(|w| w.starts_with("https://") || w.starts_with("http://"))
            .and_then(|u| u.split('/').nth(2))
            .unwrap_or("the network");
        return (
            Class::Network,
            format!("a source fetched during evaluation from {url}"),
        );
    }
    // A package's output read during evaluation (`readFile (fetchurl { ... })`, nixpkgs'
    // `stdenv.cc` files read by dockerTools): Nix would build it first (import from
    // derivation); here it needs the package set's builds.
    if error.contains("which is not built: makes does not build while evaluating") {
        return (
            Class::Nixpkgs,
            "a package's output read during evaluation (import from derivation)".to_owned(),
        );
    }
    // A package set's names listed (`mapAttrs f pkgs.python3Packages`) where no backend
    // resolves the set: its names are the package set's.
    if error.starts_with("cannot list the attributes of a set: the names of ") {
        return (
            Class::Nixpkgs,
            "a package set's names listed (`mapAttrs`, `attrNames`) without a backend".to_owned(),
        );
    }
    // A definition the module system refuses for its type (makes' options are typed, and
    // makes' own module system gives the same message).
    if error.contains("is not of type `") {
        let option = error
            .split_once("A definition for option `")
            .and_then(|(_, rest)| rest.split_once("' is not of type"))
            .map_or("an option", |(option, _)| option);
        return (
            Class::Project,
            format!("a definition of the wrong type for `{option}`"),
        );
    }
    // A Node.js version the release whose rules apply does not offer (makes' own message):
    // makes of that release stops there too.
    if error.contains("Supported node versions are: ") {
        return (
            Class::Project,
            "asks for a Node.js version its makes release does not offer".to_owned(),
        );
    }
    // A file the project names but does not have: makes fails on it as well.
    if error.contains("No such file or directory") {
        if let Some(rest) = error.split("<corpus>/").nth(1) {
            let file = rest
                .split(['\'', ':', ' '])
                .next()
                .unwrap_or(rest)
                .split_once('/')
                .map_or(rest, |(_, file)| file);
            return (Class::Project, format!("names a file it lacks, `{file}`"));
        }
    }
    // A call of a package-set function whose argument Nix cannot be given (a path makes
    // built itself, a partly applied built-in): the call needs nixpkgs.
    if error.contains("of a package-set function cannot be handed to Nix") {
        return (
            Class::Nixpkgs,
            "a nixpkgs function call whose argument cannot be handed to Nix".to_owned(),
        );
    }
    if let Some(at) = error.find(" is a function of nixpkgs") {
        let name = error[..at]
            .split(" of the package set")
            .next()
            .unwrap_or("");
        return (
            Class::Nixpkgs,
            format!("nixpkgs function `{}`", name.trim_matches('\'')),
        );
    }
    if let Some(option) =
        quoted_after(&error, "the option ").filter(|_| error.contains("does not exist"))
    {
        return (Class::Other, format!("top-level option `{option}` refused"));
    }
    if let Some(module) = quoted_after(&error, "of makes' ").filter(|_| error.contains(" module")) {
        return (Class::MakesOwn, format!("module `{module}`"));
    }
    let argument = quoted_after(&error, "called without required argument ")
        .or_else(|| quoted_after(&error, "makes passes no argument "))
        .or_else(|| {
            error
                .strip_suffix(" is not supported yet")
                .map(|what| what.rsplit(' ').next().unwrap_or(what))
        });
    if let Some(what) = argument {
        let what = what.trim_matches('\'');
        if what.starts_with("builtins.fetch") {
            return (Class::Network, format!("Nix builtin `{what}`"));
        }
        if what.starts_with("builtins.") {
            return (Class::Other, format!("Nix builtin `{what}`"));
        }
        let language = what.ends_with("Environment")
            || ["makePython", "makeNodeJs", "makeRuby"]
                .iter()
                .any(|p| what.starts_with(p));
        return if language {
            (Class::Nixpkgs, format!("language environment `{what}`"))
        } else if error.contains("is not supported yet") {
            (Class::MakesOwn, format!("makes builder `{what}`"))
        } else {
            (Class::Other, format!("makes argument `{what}`"))
        };
    }
    (Class::Other, format!("other: {}", brief(&error)))
}

/// One row of the report.
struct Row {
    id: String,
    /// Jobs makes itself lists, listed jobs shown, and listed jobs, for the totals.
    counts: (usize, usize, usize),
    /// Jobs not shown, by class.
    not_shown: BTreeMap<Class, usize>,
    expected: String,
    listed: String,
    equal: &'static str,
    shown: String,
    why_not: String,
    /// What the build pass gave (when it ran and jobs were shown).
    built: Option<crate::corpus_build::Built>,
}

/// makes as the corpus runs it: offline, a `fetchNixpkgs` set's lib read from the nixpkgs lib
/// the materialiser unpacked (the one makes' own evaluator read for the expected lists).
/// The binary is `MAKES_CORPUS_BIN` when set (report.sh points it at a release build: the
/// corpus shows about two thousand jobs), else the one cargo built for this test.
pub(crate) fn corpus_makes(sandbox: &Sandbox) -> Command {
    let mut cmd = match std::env::var_os("MAKES_CORPUS_BIN") {
        Some(binary) => {
            let mut cmd = Command::new(binary);
            // The same environment as `Sandbox::makes` gives.
            cmd.env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("HOME", sandbox.dir.path())
                .env("XDG_CACHE_HOME", sandbox.cache())
                .env("MAKES_STORE_DIR", sandbox.store());
            cmd
        }
        None => sandbox.makes(),
    };
    let lib = corpus_dir().join(".nixpkgs-lib").join("lib");
    if lib.join("default.nix").is_file() {
        cmd.arg("--option").arg("nixpkgs-lib").arg(lib);
    }
    cmd
}

/// How many `makes show` (or builds) run at once: `MAKES_CORPUS_JOBS`, else the machine's
/// cores.
pub(crate) fn workers() -> usize {
    std::env::var("MAKES_CORPUS_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A file read during evaluation in a store copy of one of the project's directories (a
/// `projectPath`, a path literal) that the directory itself lacks: makes copies that same
/// directory and stops on it too. The file, relative to the project, if so.
fn copied_directory_lacks(stderr: &str, project: &Path) -> Option<String> {
    let error = first_error(stderr);
    if !error.contains("No such file or directory") {
        return None;
    }
    let missing = error.split('\'').find(|w| w.starts_with("/nix/store/"))?;
    let (base, file) = missing.strip_prefix("/nix/store/")?.split_once('/')?;
    let (_, name) = base.split_once('-')?;
    // Every directory of that name, none of which has the file (else the copy may be of
    // another one).
    let mut named = Vec::new();
    let mut pending = vec![project.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_dir()) || entry.file_name() == ".git" {
                continue;
            }
            if entry.file_name() == name {
                if path.join(file).exists() {
                    return None;
                }
                named.push(path.clone());
            }
            pending.push(path);
        }
    }
    let dir = named.into_iter().min()?;
    let relative = dir.strip_prefix(project).unwrap_or(&dir);
    Some(format!("{}/{file}", relative.display()))
}

/// What the show pass gave for one project.
struct Shown {
    /// The jobs shown, in job order.
    jobs: Vec<String>,
    /// The causes of the failures, most frequent first.
    why: String,
    by_class: BTreeMap<Class, usize>,
}

/// Shows every job of `jobs`.
fn show_jobs(
    sandbox: &Sandbox,
    project: &Path,
    id: &str,
    jobs: &[String],
    crashes: &mut Vec<String>,
) -> Shown {
    // The runs are independent (each reads the project and a store of the sandbox that `show`
    // does not write), so they share a queue; their results are read in the jobs' order.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let runs: Vec<std::sync::Mutex<Option<Run>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers().min(jobs.len()) {
            scope.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(job) = jobs.get(n) else { break };
                let mut cmd = corpus_makes(sandbox);
                cmd.arg("--project").arg(project).arg("show").arg(job);
                let run = run_limited(sandbox, cmd, &format!("{id}-show-{n}"), TIME_LIMIT);
                // A poisoned slot only means another worker panicked; that panic is reported.
                if let Ok(mut slot) = runs[n].lock() {
                    *slot = Some(run);
                }
            });
        }
    });
    let mut shown = Vec::new();
    // Each cause with how many jobs it stopped and the first of them.
    let mut causes: BTreeMap<(Class, String), (usize, String)> = BTreeMap::new();
    for (job, run) in jobs.iter().zip(runs) {
        let run = run
            .into_inner()
            .ok()
            .flatten()
            .expect("every job was run by a worker");
        if let Some(crash) = run.crash {
            crashes.push(format!("{id}: makes show {job}: {crash}\n{}", run.stderr));
        }
        if run.success {
            shown.push(job.clone());
        } else {
            let cause = match cause_of(&run.stderr, jobs) {
                (Class::Other, other) => match copied_directory_lacks(&run.stderr, project) {
                    Some(file) => (
                        Class::Project,
                        format!("reads a file its copied directory lacks, `{file}`"),
                    ),
                    None => (Class::Other, other),
                },
                known => known,
            };
            causes.entry(cause).or_insert_with(|| (0, job.clone())).0 += 1;
        }
    }
    let mut by_class: BTreeMap<Class, usize> = BTreeMap::new();
    for ((class, _), (count, _)) in &causes {
        *by_class.entry(*class).or_default() += count;
    }
    let mut causes: Vec<((Class, String), (usize, String))> = causes.into_iter().collect();
    causes.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    let why = causes
        .iter()
        .map(|((class, cause), (count, job))| {
            // The gaps name a job to start from.
            let example = if *class == Class::Other {
                format!(" (`{job}`)")
            } else {
                String::new()
            };
            format!("{count}× ({}) {cause}{example}", class.label())
        })
        .collect::<Vec<_>>()
        .join("; ");
    Shown {
        jobs: shown,
        why,
        by_class,
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn write_report(dir: &Path, rows: &[Row], took: Duration) -> String {
    let mut md = String::new();
    let equal = rows.iter().filter(|r| r.equal == "yes").count();
    let refused = rows
        .iter()
        .filter(|r| r.expected.starts_with("none, makes refuses it"))
        .count();
    let refused_too = rows.iter().filter(|r| r.listed == "refused too").count();
    let with_list = rows.iter().filter(|r| r.equal != "—").count();
    let expected_jobs: usize = rows.iter().map(|r| r.counts.0).sum();
    let shown: usize = rows.iter().map(|r| r.counts.1).sum();
    let listed: usize = rows.iter().map(|r| r.counts.2).sum();
    let not_shown = |class| -> usize {
        rows.iter()
            .map(|r| r.not_shown.get(&class).copied().unwrap_or(0))
            .sum()
    };
    let (a, b, c, p, n) = (
        not_shown(Class::Nixpkgs),
        not_shown(Class::MakesOwn),
        not_shown(Class::Other),
        not_shown(Class::Project),
        not_shown(Class::Network),
    );
    let _ = writeln!(
        md,
        "{} projects, {with_list} with a job list from makes itself ({expected_jobs} jobs); \
         lists equal: {equal}/{with_list}; makes refuses {refused}, of which refused here \
         too: {refused_too}; jobs shown: {shown} of the {listed} listed; not \
         shown: (a) {a} need a nixpkgs function or a language environment, (b) {b} are jobs \
         of makes' modules or builders of its own, (n) {n} import a source fetched during \
         evaluation, (p) {p} are the project's own error, (c) {c} other; shown of the jobs \
         outside (a), (b), (n) and (p): {shown}/{}\n",
        rows.len(),
        shown + c
    );
    let built: Vec<&crate::corpus_build::Built> =
        rows.iter().filter_map(|r| r.built.as_ref()).collect();
    let building = rows.iter().any(|r| r.built.is_some());
    if building {
        let _ = writeln!(md, "{}\n", crate::corpus_build::summary(&built));
        md.push_str(
            "| project | jobs (makes) | listed | equal | shown | built | why not shown | why not built |\n",
        );
        md.push_str("|---|---|---|---|---|---|---|---|\n");
    } else {
        md.push_str("| project | jobs (makes) | listed | equal | shown | why not |\n");
        md.push_str("|---|---|---|---|---|---|\n");
    }
    for r in rows {
        let _ = write!(
            md,
            "| {} | {} | {} | {} | {} |",
            r.id,
            cell(&r.expected),
            cell(&r.listed),
            r.equal,
            r.shown,
        );
        if building {
            let (cell_built, why) = r
                .built
                .as_ref()
                .map_or(("—".to_owned(), ""), |b| (b.cell(), b.why.as_str()));
            let _ = write!(md, " {cell_built} | {} | {} |", cell(&r.why_not), cell(why));
        } else {
            let _ = write!(md, " {} |", cell(&r.why_not));
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "\nThe run took {:.1} minutes.",
        took.as_secs_f64() / 60.0
    );
    let _ = std::fs::write(dir.join("report.md"), &md);
    md
}

#[test]
fn real_projects_list_the_jobs_makes_lists() {
    let dir = corpus_dir();
    let origins = origins();
    if !origins
        .iter()
        .any(|o| dir.join(&o.id).join(".git").exists())
    {
        eprintln!(
            "note: skipping: no corpus in {} (scripts/corpus/materialise.sh checks it out)",
            dir.display()
        );
        return;
    }
    let known = known_differences();
    let sandbox = Sandbox::new();
    let started = Instant::now();
    // The build pass's package set: the host's tools, with the nixpkgs lib the materialiser
    // unpacked.
    let host_tools = crate::corpus_build::build_pass_enabled().then(|| {
        let lib = dir.join(".nixpkgs-lib").join("lib");
        assert!(
            lib.join("default.nix").is_file(),
            "the build pass needs nixpkgs' lib in {}: run scripts/corpus/materialise.sh",
            lib.display()
        );
        crate::corpus_build::host_tools_set(&sandbox, &lib)
    });
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut crashes = Vec::new();
    for origin in &origins {
        let id = origin.id.as_str();
        let project = dir.join(id).join(&origin.subdirectory);
        let expected = expected(id);
        let mut row = Row {
            id: id.to_owned(),
            counts: (
                match &expected {
                    Expected::Jobs(jobs) => jobs.len(),
                    _ => 0,
                },
                0,
                0,
            ),
            expected: match &expected {
                Expected::Jobs(jobs) => jobs.len().to_string(),
                Expected::Refused(why) => format!("none, makes refuses it: {why}"),
                Expected::Missing => "not generated".to_owned(),
            },
            listed: String::new(),
            equal: "—",
            shown: "—".to_owned(),
            why_not: String::new(),
            not_shown: BTreeMap::new(),
            built: None,
        };
        if !project.join("makes.nix").is_file() {
            row.listed = "not materialised".to_owned();
            rows.push(row);
            continue;
        }
        let mut cmd = corpus_makes(&sandbox);
        cmd.arg("--project").arg(&project).arg("--list");
        let run = run_limited(&sandbox, cmd, &format!("{id}-list"), TIME_LIMIT);
        if let Some(crash) = &run.crash {
            crashes.push(format!("{id}: makes --list: {crash}\n{}", run.stderr));
        }
        let mut listed: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
        listed.sort();
        if run.success {
            row.listed = listed.len().to_string();
        } else if let Expected::Refused(_) = &expected {
            // makes refuses it too: the same answer, whatever the wording.
            row.listed = "refused too".to_owned();
            row.why_not = format!("refused here too: {}", brief(&first_error(&run.stderr)));
        } else {
            row.listed = "error".to_owned();
            row.why_not = format!("list: {}", cause_of(&run.stderr, &[]).1);
        }
        if let Expected::Missing = expected {
            failures.push(format!(
                "{id}: neither expected/{id}.jobs nor .why: run scripts/corpus/expected-jobs.sh {id}"
            ));
        }
        if let Expected::Jobs(jobs) = &expected {
            let equal = run.success && &listed == jobs;
            row.equal = if equal { "yes" } else { "no" };
            match (equal, known.get(id)) {
                (false, None) => failures.push(format!(
                    "{id}: makes lists {} (expected {}): {}",
                    row.listed,
                    jobs.len(),
                    if run.success {
                        list_difference(jobs, &listed)
                    } else {
                        brief(&first_error(&run.stderr))
                    }
                )),
                (true, Some(_)) => failures.push(format!(
                    "{id} now lists what makes lists: remove it from tests/corpus/known-differences.txt"
                )),
                _ => {}
            }
        }
        if run.success && !listed.is_empty() {
            let shown = show_jobs(&sandbox, &project, id, &listed, &mut crashes);
            row.counts.1 = shown.jobs.len();
            row.not_shown = shown.by_class;
            row.counts.2 = listed.len();
            row.shown = format!("{}/{}", shown.jobs.len(), listed.len());
            if !shown.why.is_empty() {
                row.why_not = shown.why;
            }
            if let (Some(set), false) = (&host_tools, shown.jobs.is_empty()) {
                let started = Instant::now();
                let built = crate::corpus_build::build_jobs(
                    &sandbox,
                    set,
                    &project,
                    id,
                    &shown.jobs,
                    crate::corpus_build::most_jobs_per_project(),
                    &mut crashes,
                );
                eprintln!(
                    "{id}: built {} in {:.0}s",
                    built.cell(),
                    started.elapsed().as_secs_f64()
                );
                row.built = Some(built);
            }
        }
        rows.push(row);
    }
    let report = write_report(&dir, &rows, started.elapsed());
    eprintln!("{report}");
    assert!(crashes.is_empty(), "makes crashed:\n{}", crashes.join("\n"));
    assert!(
        failures.is_empty(),
        "job lists differ from makes' own:\n{}",
        failures.join("\n")
    );
}

/// The jobs only one side has, briefly.
fn list_difference(expected: &[String], listed: &[String]) -> String {
    let missing: Vec<&String> = expected.iter().filter(|j| !listed.contains(j)).collect();
    let extra: Vec<&String> = listed.iter().filter(|j| !expected.contains(j)).collect();
    let few = |jobs: &[&String]| {
        let names: Vec<&str> = jobs.iter().take(5).map(|j| j.as_str()).collect();
        let more = jobs.len().saturating_sub(5);
        if more > 0 {
            format!("{} and {more} more", names.join(" "))
        } else {
            names.join(" ")
        }
    };
    format!("missing [{}], extra [{}]", few(&missing), few(&extra))
}

#[test]
fn the_harness_classes_failures_by_their_first_cause() {
    let several = "  × dockerTools.buildImage has 2 problems\n  ├─▶   × the makes argument \
                   'makePythonEnvironment' is not supported yet\n  ├─▶   × opening file 'x'\n";
    assert_eq!(
        cause_of(several, &[]),
        (
            Class::Nixpkgs,
            "language environment `makePythonEnvironment`".to_owned()
        )
    );
    let unbuilt = "  × opening file '/nix/store/a-cc/x': /nix/store/a-cc is the output of 'cc', \
                   which is not built: makes does not build while evaluating, so ...";
    assert_eq!(cause_of(unbuilt, &[]).0, Class::Nixpkgs);
    let node = "  × evaluation aborted with the following error message: 'Supported node \
                versions are: 18, 20 and 21'";
    assert_eq!(cause_of(node, &[]).0, Class::Project);
    let listed = "  × cannot list the attributes of a set: the names of 'python311Packages' of \
                  the package set github:nixos/nixpkgs/d505646 are not known in this evaluation";
    assert_eq!(cause_of(listed, &[]).0, Class::Nixpkgs);
    // A store copy of the project's `tap/` read at a file `tap/` lacks: the project's error;
    // a file the directory has is not.
    let project = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(project.path().join("singer/tap/src/pkg")).expect("mkdir");
    std::fs::write(project.path().join("singer/tap/src/pkg/__init__.py"), "").expect("write");
    let lacks = |file: &str| {
        format!(
            "  × opening file '/nix/store/57bq0jgayqpji4z6z48fbn47gi2mfjag-tap/{file}': No such \
             file or directory"
        )
    };
    assert_eq!(
        copied_directory_lacks(&lacks("pkg/__init__.py"), project.path()).as_deref(),
        Some("singer/tap/pkg/__init__.py")
    );
    assert_eq!(
        copied_directory_lacks(&lacks("src/pkg/__init__.py"), project.path()),
        None
    );
}
