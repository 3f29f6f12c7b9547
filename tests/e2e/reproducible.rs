//! Same inputs, same bytes: two copies of the project built with different stores, umask, TZ
//! and locale give byte-identical archives.

use crate::common::{copy_tree, fixture, Sandbox};
use std::path::PathBuf;

fn build_copy(umask: &str, tz: &str, locale: &str) -> Vec<u8> {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("copy-of-hello");
    copy_tree(&fixture("hello"), &project);
    let out = sandbox
        .makes()
        .env("TZ", tz)
        .env("LC_ALL", locale)
        .arg("--project")
        .arg(&project)
        .arg("/hello")
        .output_with_umask(umask);
    let path = PathBuf::from(String::from_utf8(out).expect("utf-8").trim());
    std::fs::read(path).expect("read the archive")
}

trait WithUmask {
    fn output_with_umask(&mut self, umask: &str) -> Vec<u8>;
}

impl WithUmask for std::process::Command {
    /// Runs the command under `sh -c 'umask U; exec "$@"'`, returning stdout.
    fn output_with_umask(&mut self, umask: &str) -> Vec<u8> {
        let program = self.get_program().to_owned();
        let args: Vec<_> = self.get_args().map(|a| a.to_owned()).collect();
        let envs: Vec<_> = self
            .get_envs()
            .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
            .collect();
        let mut sh = std::process::Command::new("sh");
        sh.env_clear();
        for (k, v) in envs {
            if let Some(v) = v {
                sh.env(k, v);
            }
        }
        sh.arg("-c")
            .arg(format!("umask {umask}; exec \"$@\""))
            .arg("sh")
            .arg(program)
            .args(args);
        let out = sh.output().expect("makes runs");
        crate::common::assert_success(&out);
        out.stdout
    }
}

#[test]
fn two_copies_with_different_umask_tz_and_locale_give_identical_bytes() {
    let a = build_copy("022", "UTC", "C");
    let b = build_copy("077", "Asia/Kolkata", "C.UTF-8");
    assert!(a == b, "archives differ ({} vs {} bytes)", a.len(), b.len());
}
