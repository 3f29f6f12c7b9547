//! makes' language environments and secrets family, built as makes builds them (its
//! `src/args` ported to `nix/args/{secrets,terraform,ruby,nodejs}.nix`) with makes' package
//! set played by `fixtures/lang-nixpkgs` (the stand-in nixpkgs with the host's bash), and run
//! with `makes . JOB`: what the templates load reaches the job's environment; nothing secret
//! lands in the store.

use crate::common::{assert_success, copy_tree, fixture, have_tool, run, Sandbox};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

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

/// An HTTP server on 127.0.0.1 answering `GET /NAME` with `files[NAME]` (404 otherwise), in
/// a thread that lives as long as the test; gives its port and the paths asked for.
fn serve(files: BTreeMap<String, Vec<u8>>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(match stream.try_clone() {
                Ok(s) => s,
                Err(_) => continue,
            });
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // The rest of the request head.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
            let body = files.get(path.trim_start_matches('/'));
            if let Ok(mut asked) = log.lock() {
                asked.push(path);
            }
            let (status, body): (&str, &[u8]) = match body {
                Some(bytes) => ("200 OK", bytes),
                None => ("404 Not Found", b"not found"),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    (port, asked)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A digest of a tree: every entry's relative path, kind, mode bits and content or target,
/// in sorted order, so that two builds can be compared byte for byte.
fn tree_digest(root: &Path) -> String {
    fn walk(dir: &Path, rel: &str, hasher: &mut Sha256) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        entries.sort();
        for name in entries {
            let path = dir.join(&name);
            let rel = format!("{rel}/{}", name.to_string_lossy());
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            hasher.update(rel.as_bytes());
            if meta.is_symlink() {
                hasher.update(b"\0link\0");
                let target = std::fs::read_link(&path).expect("link");
                hasher.update(target.to_string_lossy().as_bytes());
            } else if meta.is_dir() {
                hasher.update(b"\0dir\0");
                walk(&path, &rel, hasher);
            } else {
                use std::os::unix::fs::PermissionsExt;
                hasher.update(format!("\0file {:o}\0", meta.permissions().mode() & 0o111));
                hasher.update(std::fs::read(&path).expect("read"));
            }
            hasher.update(b"\0");
        }
    }
    let mut hasher = Sha256::new();
    walk(root, "", &mut hasher);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The one store directory whose name ends with `suffix`.
fn store_dir_ending(sandbox: &Sandbox, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(sandbox.store().join("store"))
        .expect("the store")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "{suffix}: {found:?}");
    found[0].clone()
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

#[test]
fn terraform_environments_put_the_version_asked_for_on_path_and_select_workspaces() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox, "lang-terraform");
    let out = output(&mut makes_job(&sandbox, &project, "/version"));
    assert_success(&out);
    assert_eq!(stdout(&out), "Terraform v1.0.11 (stand-in)\n");
    // The workspace named by $WORKSPACE is created on the first run, selected on the next.
    let stderr_of = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let first = output(makes_job(&sandbox, &project, "/workspace").env("WORKSPACE", "staging"));
    assert_success(&first);
    assert!(stderr_of(&first).contains("Creating new workspace: staging"));
    assert!(stdout(&first).ends_with("Terraform v0.15.5 (stand-in)\n  default\n* staging\n"));
    let again = output(makes_job(&sandbox, &project, "/workspace").env("WORKSPACE", "staging"));
    assert_success(&again);
    assert!(stderr_of(&again).contains("Selecting already-existing workspace: staging"));
    let unset = output(&mut makes_job(&sandbox, &project, "/workspace"));
    assert_eq!(unset.status.code(), Some(1));
    assert!(stderr_of(&unset).contains("not present: WORKSPACE"));
}

/// Builds the gems of `fixtures/lang-ruby/gems` with `gem build`; gives (file name, bytes).
fn build_gems(sandbox: &Sandbox) -> Vec<(String, Vec<u8>)> {
    let dir = sandbox.dir.path().join("gem-sources");
    copy_tree(&fixture("lang-ruby").join("gems"), &dir);
    ["salutation-1.2.0", "greeter-0.1.0"]
        .into_iter()
        .map(|gem| {
            let (name, _) = gem.split_once('-').expect("name-version");
            let src = dir.join(name);
            run(Command::new("gem")
                .args(["build", &format!("{name}.gemspec")])
                .env("SOURCE_DATE_EPOCH", "1")
                .current_dir(&src));
            let file = format!("{gem}.gem");
            let bytes = std::fs::read(src.join(&file)).expect("the built gem");
            (file, bytes)
        })
        .collect()
}

/// makes' `sources.yaml` (as its makeRubyLock writes it) for `gems` served at `port`.
fn ruby_sources_yaml(gems: &[(String, Vec<u8>)], port: u16) -> String {
    let mut yaml = String::from("closure:\n  greeter: 0.1.0\n  salutation: 1.2.0\nlinks:\n");
    for (file, bytes) in gems {
        yaml.push_str(&format!(
            "- name: {file}\n  sha256: {}\n  url: http://127.0.0.1:{port}/{file}\n",
            sha256_hex(bytes)
        ));
    }
    yaml.push_str("ruby: '3.1'\n");
    yaml
}

#[test]
fn ruby_gems_environments_install_the_locked_gems_offline_and_reproducibly() {
    if !have_tool("nix-build") || !have_tool("gem") {
        return;
    }
    let sandbox = Sandbox::new();
    let gems = build_gems(&sandbox);
    let (port, asked) = serve(gems.iter().cloned().collect());
    let project = project(&sandbox, "lang-ruby");
    std::fs::write(project.join("sources.yaml"), ruby_sources_yaml(&gems, port)).expect("write");
    let out = output(makes_job(&sandbox, &project, "/greet").arg("makes"));
    assert_success(&out);
    // `greet` is the gem's executable; `salutation`, its dependency, is on GEM_PATH.
    assert_eq!(
        stdout(&out),
        "hello, makes, from a gem\nhello, ruby, from a gem\n"
    );
    let installed = store_dir_ending(&sandbox, "-make-ruby-gems-install-for-greeter");
    let fetches = asked.lock().map(|a| a.len()).unwrap_or_default();
    assert_eq!(fetches, 2, "each gem fetched once");
    // A second store builds the same bytes; the first rebuilds nothing and fetches nothing.
    let other = Sandbox::new();
    let out = output(makes_job(&other, &project, "/greet").arg("again"));
    assert_success(&out);
    let again = store_dir_ending(&other, "-make-ruby-gems-install-for-greeter");
    assert_eq!(tree_digest(&installed), tree_digest(&again));
    assert_success(&output(makes_job(&sandbox, &project, "/greet").arg("x")));
    assert_eq!(asked.lock().map(|a| a.len()).unwrap_or_default(), 4);

    // A gem whose bytes are not the locked ones: the error names the url and both hashes.
    let mut tampered = gems.clone();
    tampered[0].1.push(b'\n');
    let (bad_port, _) = serve(tampered.iter().cloned().collect());
    std::fs::write(
        project.join("sources.yaml"),
        ruby_sources_yaml(&gems, bad_port),
    )
    .expect("write");
    let fresh = Sandbox::new();
    let out = output(&mut makes_job(&fresh, &project, "/greet"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("http://127.0.0.1:{bad_port}/salutation-1.2.0.gem"))
            && stderr.contains("hash mismatch: expected sha256:")
            && stderr.contains(", got sha256:"),
        "{stderr}"
    );
    let kept: Vec<_> = std::fs::read_dir(fresh.store().join("store"))
        .expect("store")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".gem"))
        .collect();
    assert!(kept
        .iter()
        .all(|e| !e.file_name().to_string_lossy().contains("salutation")));
}
