//! What `makes [SOURCE] [JOB] [ARGS...]` asks for. makes itself takes `m SOURCE JOB ARGS`;
//! here SOURCE may be left out (the nearest makes.nix upward, or `--project DIR`). A job
//! always starts with `/`, so the first word is a SOURCE when it does not, and also when it is
//! a directory holding makes.nix followed by a job (`makes /abs/project /job`).

use crate::project_source::{parse_source, ProjectSource};
use crate::report::Failure;
use std::ffi::OsString;
use std::path::Path;

#[derive(Debug, PartialEq, Eq)]
pub struct Invocation {
    pub source: Option<ProjectSource>,
    pub job: Option<String>,
    /// The arguments after the job: its action's (or, for a job without one, makes' options).
    pub args: Vec<OsString>,
}

/// Reads the positional words; `project_given` is whether `--project` named the project.
pub fn interpret(project_given: bool, words: &[OsString]) -> Result<Invocation, Failure> {
    let Some(first) = words.first() else {
        return Ok(Invocation {
            source: None,
            job: None,
            args: Vec::new(),
        });
    };
    let first = utf8(first)?;
    if first.starts_with('-') {
        return Err(usage(format!(
            "unexpected argument '{first}'; makes' options come before SOURCE and JOB"
        )));
    }
    let names_source = !first.starts_with('/')
        || (!project_given
            && Path::new(first).join("makes.nix").is_file()
            && words
                .get(1)
                .is_some_and(|w| w.to_string_lossy().starts_with('/')));
    if !names_source {
        return Ok(Invocation {
            source: None,
            job: Some(first.to_owned()),
            args: words[1..].to_vec(),
        });
    }
    if project_given {
        // `--project DIR` named the project: the word must be the job.
        return Err(usage(format!(
            "a job name starts with '/', as in '/{first}'"
        )));
    }
    let source = parse_source(first).map_err(usage)?;
    let job = match words.get(1) {
        None => None,
        Some(word) => Some(crate::cli::parse_job_name(utf8(word)?).map_err(usage)?),
    };
    Ok(Invocation {
        source: Some(source),
        job,
        args: words.get(2..).map(<[OsString]>::to_vec).unwrap_or_default(),
    })
}

fn utf8(word: &OsString) -> Result<&str, Failure> {
    word.to_str().ok_or_else(|| {
        usage(format!(
            "'{}' is not valid UTF-8: a SOURCE or JOB must be",
            word.to_string_lossy()
        ))
    })
}

/// A usage error: the message and exit code 2, as clap reports its own.
fn usage(message: String) -> Failure {
    say!("error: {message}\n\nFor more information, try '--help'.");
    Failure::silent(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn words(w: &[&str]) -> Vec<OsString> {
        w.iter().map(OsString::from).collect()
    }

    fn ok(project_given: bool, w: &[&str]) -> Invocation {
        match interpret(project_given, &words(w)) {
            Ok(inv) => inv,
            Err(_) => panic!("{w:?} is refused"),
        }
    }

    #[test]
    fn a_job_alone_or_after_a_source_with_its_arguments() {
        let inv = ok(false, &["/greet", "--name", "x"]);
        assert_eq!(inv.source, None);
        assert_eq!(inv.job.as_deref(), Some("/greet"));
        assert_eq!(inv.args, words(&["--name", "x"]));
        let inv = ok(false, &[".", "/greet", "-v"]);
        assert_eq!(inv.source, Some(ProjectSource::Dir(PathBuf::from("."))));
        assert_eq!(inv.job.as_deref(), Some("/greet"));
        assert_eq!(inv.args, words(&["-v"]));
        let inv = ok(false, &["."]);
        assert_eq!(inv.job, None);
    }

    #[test]
    fn an_absolute_project_directory_before_a_job_is_a_source() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("makes.nix"), "{ }").expect("write");
        let dir = tmp.path().to_string_lossy().into_owned();
        let inv = ok(false, &[&dir, "/job"]);
        assert_eq!(
            inv.source,
            Some(ProjectSource::Dir(tmp.path().to_path_buf()))
        );
        // With --project, or without a job after it, it is the job.
        assert_eq!(ok(true, &[&dir, "/job"]).job.as_deref(), Some(dir.as_str()));
        assert_eq!(ok(false, &[&dir]).job.as_deref(), Some(dir.as_str()));
    }

    #[test]
    fn words_that_are_neither_are_usage_errors() {
        for (project_given, w) in [
            (true, &["hello"][..]),
            (false, &[".", "hello"][..]),
            (false, &["-x"][..]),
        ] {
            let failure = interpret(project_given, &words(w)).expect_err("refused");
            assert_eq!(failure.code, 2, "{w:?}");
        }
    }
}
