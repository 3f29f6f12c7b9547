//! A deploy job's `setup`: the scripts makes sources, in order, before the push (secrets
//! exported for the registry credentials, for instance). They run in bash with makes' script
//! helpers (`info`, `critical`, ...), as in makes' deploy script, and the environment they leave
//! is the one the push reads.

use crate::report::Failure;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Sources every script of `scripts` (a directory holding `template`, as makes' templates are,
/// or a file) in one bash, on top of this process's environment; returns the environment
/// after the last one.
pub fn environment_after_setup(scripts: &[PathBuf]) -> Result<HashMap<String, String>, Failure> {
    // What the scripts print goes to stderr: stdout carries the environment alone.
    let program = format!(
        "{}\n{{\n  for file in \"$@\"; do\n    if test -e \"$file/template\"; then\n      \
         source \"$file/template\"\n    else\n      source \"$file\"\n    fi\n  done\n}} 1>&2\n\
         env -0\n",
        makes_args::script_prelude()
    );
    let mut child = Command::new("bash")
        .arg("-s")
        .arg("--")
        .args(scripts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            Failure::message(format!("cannot run bash for the deploy job's setup: {e}"))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(program.as_bytes()).map_err(|e| {
            Failure::message(format!("cannot run bash for the deploy job's setup: {e}"))
        })?;
    }
    let output = child.wait_with_output().map_err(|e| {
        Failure::message(format!("cannot run bash for the deploy job's setup: {e}"))
    })?;
    if !output.status.success() {
        let scripts: Vec<String> = scripts.iter().map(|s| s.display().to_string()).collect();
        return Err(Failure::message(format!(
            "the deploy job's setup failed ({}) while sourcing {}",
            output.status,
            scripts.join(", ")
        )));
    }
    Ok(parse_environment(&output.stdout))
}

/// `env -0`'s output: `NAME=VALUE` entries ended by NUL bytes.
fn parse_environment(bytes: &[u8]) -> HashMap<String, String> {
    bytes
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (name, value) = entry.split_once('=')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_is_read_with_newlines_and_equals_signs() {
        let env = parse_environment(b"A=1\0B=x=y\nz\0\0");
        assert_eq!(env.get("A").map(String::as_str), Some("1"));
        assert_eq!(env.get("B").map(String::as_str), Some("x=y\nz"));
        assert_eq!(env.len(), 2);
    }

    #[test]
    fn scripts_are_sourced_in_order_and_their_exports_kept() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let first = dir.path().join("first.sh");
        std::fs::write(&first, "export SETUP_USER=alice\ninfo loading\n").expect("write");
        let second = dir.path().join("second");
        std::fs::create_dir(&second).expect("mkdir");
        std::fs::write(
            second.join("template"),
            "export SETUP_TOKEN=\"${SETUP_USER}-token\"\n",
        )
        .expect("write");
        let env = environment_after_setup(&[first.clone(), second]).expect("setup runs");
        assert_eq!(env.get("SETUP_USER").map(String::as_str), Some("alice"));
        assert_eq!(
            env.get("SETUP_TOKEN").map(String::as_str),
            Some("alice-token")
        );
        std::fs::write(&first, "critical no secrets here\n").expect("write");
        assert!(environment_after_setup(&[first]).is_err());
    }
}
