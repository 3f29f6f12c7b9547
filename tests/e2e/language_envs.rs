//! makes' language environments and secrets family, built as makes builds them (its
//! `src/args` ported to `nix/args/{secrets,terraform,ruby,nodejs}.nix`) with makes' package
//! set played by `fixtures/lang-nixpkgs` (the stand-in nixpkgs with the host's bash), and run
//! with `makes . JOB`: what the templates load reaches the job's environment; nothing secret
//! lands in the store.

use crate::common::{assert_success, copy_tree, fixture, have_tool, Sandbox};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A copy of `fixtures/NAME` in the sandbox (outside any git checkout, so every file counts).
fn project(sandbox: &Sandbox, name: &str) -> PathBuf {
    let dir = sandbox.dir.path().join(name);
    copy_tree(&fixture(name), &dir);
    dir
}

/// `makes . JOB` in `project`, building with Nix (the stand-in set needs it) and with makes'
/// package set `fixtures/lang-nixpkgs`.
fn makes_job(sandbox: &Sandbox, project: &Path, job: &str) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env(
        "NIX_CONFIG",
        "substituters =\nbuild-users-group =\nsandbox = false",
    )
    .env("MAKES_NIXPKGS", fixture("lang-nixpkgs"))
    .current_dir(project)
    .args(["--packages", "nix", ".", job]);
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("{cmd:?} could not start: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every regular file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => found.extend(files_containing(&path, needle)),
            Ok(t) if t.is_file() => {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path);
                }
            }
            _ => {}
        }
    }
    found
}

#[test]
fn secrets_from_sops_reach_the_environment_and_never_the_store() {
    if !have_tool("nix-build") || !have_tool("jq") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox, "lang-secrets");
    let out = output(&mut makes_job(&sandbox, &project, "/sops"));
    assert_success(&out);
    assert_eq!(
        stdout(&out),
        "greeting=hello-from-sops\ndb__password=s3cr3t-pa55\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Making secrets for env from sops for dev:"),
        "{stderr}"
    );
    // The manifest is in the store (encrypted), its plaintext nowhere.
    for secret in ["hello-from-sops", "s3cr3t-pa55"] {
        let leaked = files_containing(&sandbox.store(), secret.as_bytes());
        assert!(leaked.is_empty(), "{secret} is in the store: {leaked:?}");
    }
    let manifests = files_containing(&sandbox.store(), b"ENC[aGVsbG8tZnJvbS1zb3Bz]");
    assert!(!manifests.is_empty(), "the manifest is in the store");
}

#[test]
fn secrets_for_aws_come_from_the_named_variables_and_a_missing_one_fails() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox, "lang-secrets");
    let out = output(
        makes_job(&sandbox, &project, "/aws")
            .env("PROD_KEY_ID", "key-id")
            .env("PROD_SECRET", "key-secret")
            .env("PROD_TOKEN", "key-token"),
    );
    assert_success(&out);
    assert_eq!(
        stdout(&out),
        "id=key-id secret=key-secret region=us-east-1 token=key-token\nfiles\n"
    );
    let out = output(
        makes_job(&sandbox, &project, "/aws")
            .env("PROD_SECRET", "key-secret")
            .env("PROD_REGION", "eu-north-1"),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Env var is required but is empty or not present: PROD_KEY_ID"),
        "{stderr}"
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn secrets_for_aws_from_gitlab_log_in_only_on_gitlab() {
    if !have_tool("nix-build") || !have_tool("jq") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox, "lang-secrets");
    let out = output(&mut makes_job(&sandbox, &project, "/gitlab"));
    assert_success(&out);
    assert_eq!(stdout(&out), "id=unset token=unset\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running on GitLab CI"));
    let out = output(
        makes_job(&sandbox, &project, "/gitlab")
            .env("CI_JOB_JWT_V2", "the-jwt")
            .env("CI_PROJECT_ID", "1")
            .env("CI_PIPELINE_ID", "2")
            .env("CI_JOB_ID", "3"),
    );
    assert_success(&out);
    // The stand-in awscli derives the credentials from the role it was asked to assume.
    assert_eq!(
        stdout(&out),
        "id=id-for-arn:aws:iam::1:role/ci token=session-arn:aws:iam::1:role/ci\n"
    );
}

#[test]
fn secrets_and_variables_for_terraform_nomad_and_kubernetes() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox, "lang-secrets");
    let out = output(makes_job(&sandbox, &project, "/terraform").env("DB_PASSWORD", "tf-db"));
    assert_success(&out);
    assert_eq!(
        stdout(&out),
        "TF_VAR_db_password=tf-db TF_VAR_region=eu-west-1\n"
    );
    let out = output(&mut makes_job(&sandbox, &project, "/terraform"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("DB_PASSWORD"));
    let out = output(makes_job(&sandbox, &project, "/nomad").env("MY_NOMAD_TOKEN", "nomad-t"));
    assert_success(&out);
    assert_eq!(stdout(&out), "NOMAD_TOKEN=nomad-t\n");
    let out = output(&mut makes_job(&sandbox, &project, "/kube"));
    assert_success(&out);
    let text = stdout(&out);
    let (first, config) = text.split_once('\n').expect("two parts");
    assert!(first.starts_with("KUBECONFIG=/"), "{text}");
    assert_eq!(
        config,
        "apiVersion: v1\nclusters:\n- name: blue\n  region: us-east-2\n"
    );
}

#[test]
fn secrets_for_gpg_import_the_armored_keys_of_the_named_variables() {
    if !have_tool("nix-build") || !have_tool("gpg") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox, "lang-secrets");
    let home = sandbox.dir.path().join("gnupg");
    std::fs::create_dir_all(&home).expect("mkdir");
    let gpg = |args: &[&str]| {
        let out = output(Command::new("gpg").env("GNUPGHOME", &home).args(args));
        assert_success(&out);
        out.stdout
    };
    gpg(&[
        "--batch",
        "--passphrase",
        "",
        "--quick-gen-key",
        "Release Signer <sign@example.org>",
        "ed25519",
        "sign",
        "never",
    ]);
    let key = String::from_utf8(gpg(&["--armor", "--export", "sign@example.org"])).expect("text");
    assert!(key.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    let out = output(makes_job(&sandbox, &project, "/gpg").env("SIGNING_KEY", key));
    assert_success(&out);
    assert!(
        stdout(&out).contains("Release Signer <sign@example.org>"),
        "{out:?}"
    );
}
