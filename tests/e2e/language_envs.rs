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

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// npm's `integrity` of `bytes`.
fn integrity(bytes: &[u8]) -> String {
    format!("sha512-{}", base64(&sha2::Sha512::digest(bytes)))
}

/// The packages of `fixtures/lang-nodejs/packages`, packed by `npm pack`: (registry path of
/// the tarball, package name, version, bytes).
fn pack_node_packages(sandbox: &Sandbox) -> Vec<(String, &'static str, &'static str, Vec<u8>)> {
    let dir = sandbox.dir.path().join("node-packages");
    copy_tree(&fixture("lang-nodejs").join("packages"), &dir);
    let packed = dir.join("packed");
    std::fs::create_dir_all(&packed).expect("mkdir");
    [
        ("left-pad", "left-pad", "1.3.0", "left-pad-1.3.0.tgz"),
        ("shout", "@makes/shout", "2.0.1", "makes-shout-2.0.1.tgz"),
    ]
    .into_iter()
    .map(|(dir_name, name, version, file)| {
        run(Command::new("npm")
            .args(["pack", "--pack-destination"])
            .arg(&packed)
            .arg(dir.join(dir_name))
            .env("HOME", sandbox.dir.path())
            .env("npm_config_update_notifier", "false"));
        let bytes = std::fs::read(packed.join(file)).expect("the packed tarball");
        let short = name.rsplit('/').next().unwrap_or(name);
        (
            format!("{name}/-/{short}-{version}.tgz"),
            name,
            version,
            bytes,
        )
    })
    .collect()
}

/// A package-lock.json of `lockfileVersion` (2: `packages` and `dependencies`; 3: `packages`
/// only) for `packages` served at `port`, as npm writes it.
fn package_lock(
    packages: &[(String, &'static str, &'static str, Vec<u8>)],
    port: u16,
    lockfile_version: u8,
) -> String {
    let entry = |(path, name, version, bytes): &(String, &str, &str, Vec<u8>)| {
        let mut e = serde_json::json!({
            "version": version,
            "resolved": format!("http://127.0.0.1:{port}/{path}"),
            "integrity": integrity(bytes),
        });
        if *name == "@makes/shout" {
            e["dependencies"] = serde_json::json!({ "left-pad": "^1.3.0" });
        }
        e
    };
    let mut by_path = serde_json::json!({
        "": { "name": "app", "version": "1.0.0", "dependencies": { "@makes/shout": "^2.0.0" } }
    });
    let mut by_name = serde_json::json!({});
    for package in packages {
        by_path[format!("node_modules/{}", package.1)] = entry(package);
        let mut old = entry(package);
        if let Some(deps) = old.as_object_mut().and_then(|o| o.remove("dependencies")) {
            old["requires"] = deps;
        }
        by_name[package.1] = old;
    }
    let mut lock = serde_json::json!({
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": lockfile_version,
        "requires": true,
        "packages": by_path,
    });
    if lockfile_version < 3 {
        lock["dependencies"] = by_name;
    }
    serde_json::to_string_pretty(&lock).expect("JSON")
}

/// The npm registry stand-in serving `packages`; gives its port and the paths asked for.
fn serve_node_packages(
    packages: &[(String, &'static str, &'static str, Vec<u8>)],
) -> (u16, Arc<Mutex<Vec<String>>>) {
    serve(
        packages
            .iter()
            .map(|(path, _, _, bytes)| (path.clone(), bytes.clone()))
            .collect(),
    )
}

#[test]
fn nodejs_environments_install_the_locked_packages_offline_and_reproducibly() {
    if !have_tool("nix-build") || !have_tool("npm") || !have_tool("jq") || !have_tool("python3") {
        return;
    }
    let sandbox = Sandbox::new();
    let packages = pack_node_packages(&sandbox);
    let (port, asked) = serve_node_packages(&packages);
    let project = project(&sandbox, "lang-nodejs");
    std::fs::write(
        project.join("package-lock.json"),
        package_lock(&packages, port, 3),
    )
    .expect("write");
    let out = output(makes_job(&sandbox, &project, "/shout").arg("hey"));
    assert_success(&out);
    // `shout` is the package's bin (on PATH from node_modules/.bin), `left-pad` its
    // dependency; `require` finds the package through NODE_PATH.
    assert_eq!(stdout(&out), ".........HEY\n........NODE\n");
    assert_eq!(asked.lock().map(|a| a.len()).unwrap_or_default(), 2);
    let modules = store_dir_ending(&sandbox, "-make-node-js-modules-for-app");
    // Another store builds the same bytes.
    let other = Sandbox::new();
    assert_success(&output(makes_job(&other, &project, "/shout").arg("again")));
    let again = store_dir_ending(&other, "-make-node-js-modules-for-app");
    assert_eq!(tree_digest(&modules), tree_digest(&again));

    // A tarball whose bytes are not the locked ones: the error names the url and both
    // integrities, and nothing is built.
    let mut tampered = packages.clone();
    tampered[0].3.extend_from_slice(b"\0");
    let (bad_port, _) = serve_node_packages(&tampered);
    std::fs::write(
        project.join("package-lock.json"),
        package_lock(&packages, bad_port, 3),
    )
    .expect("write");
    let fresh = Sandbox::new();
    let out = output(&mut makes_job(&fresh, &project, "/shout"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "http://127.0.0.1:{bad_port}/left-pad/-/left-pad-1.3.0.tgz"
        )) && stderr.contains(&format!(
            "hash mismatch: expected {}, got {}",
            integrity(&packages[0].3),
            integrity(&tampered[0].3)
        )),
        "{stderr}"
    );
}

#[test]
fn nodejs_modules_of_makes_23_07_read_the_lock_files_dependencies() {
    if !have_tool("nix-build") || !have_tool("npm") || !have_tool("jq") || !have_tool("python3") {
        return;
    }
    let sandbox = Sandbox::new();
    let packages = pack_node_packages(&sandbox);
    let (port, _) = serve_node_packages(&packages);
    let project = project(&sandbox, "lang-nodejs");
    std::fs::write(
        project.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit { url = \"https://github.com/fluidattacks/makes\"; ref = \"refs/tags/23.07\"; }; }\n",
    )
    .expect("write");
    std::fs::write(
        project.join("package-lock.json"),
        package_lock(&packages, port, 2),
    )
    .expect("write");
    let out = output(makes_job(&sandbox, &project, "/shout").arg("old"));
    assert_success(&out);
    assert_eq!(stdout(&out), ".........OLD\n........NODE\n");
    // makes 23.07's node_modules is the output itself (no node2nix `lib/node_modules`).
    let modules = store_dir_ending(&sandbox, "-make-node-js-modules-for-app");
    assert!(modules.join("@makes/shout/package.json").is_file());
    let bin = std::fs::read_link(modules.join(".bin/shout")).expect("a link");
    assert!(bin.ends_with("@makes/shout/bin/shout.js"), "{bin:?}");
}

#[test]
fn an_image_of_nodejs_modules_runs_under_runc() {
    if !have_tool("nix-build")
        || !have_tool("npm")
        || !have_tool("jq")
        || !have_tool("python3")
        || !have_tool("runc")
        || !have_tool("umoci")
        || !crate::common::running_as_root()
    {
        return;
    }
    let sandbox = Sandbox::new();
    let packages = pack_node_packages(&sandbox);
    let (port, _) = serve_node_packages(&packages);
    let project = project(&sandbox, "lang-nodejs");
    std::fs::write(
        project.join("package-lock.json"),
        package_lock(&packages, port, 3),
    )
    .expect("write");
    let out = output(
        sandbox
            .makes()
            .env(
                "NIX_CONFIG",
                "substituters =\nbuild-users-group =\nsandbox = false",
            )
            .env("MAKES_NIXPKGS", fixture("lang-nixpkgs"))
            .current_dir(&project)
            .args(["--packages", "nix", "/image"]),
    );
    assert_success(&out);
    let archive = stdout(&out).trim_end().to_owned();
    // The bin's `#!/usr/bin/env node` was patched to the package set's node, which the
    // image holds (the host's /usr/bin/node is not there).
    let printed = crate::common::run_image(&sandbox, &format!("oci-archive:{archive}"), "node");
    assert_eq!(printed, ".......IMAGE\n");
}

/// A builder that serves a file on 127.0.0.1 and fetches it back, as makes' node_modules
/// builder serves its registry.
const LOOPBACK_PROJECT: &str = r#"{ makeDerivation, ... }: {
  jobs."/loopback" = makeDerivation {
    name = "loopback";
    builder = ''
      echo "served to itself" > /build/file
      python3 -m http.server 8123 --bind 127.0.0.1 --directory /build > /dev/null 2>&1 &
      for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/8123) 2>/dev/null && break; sleep 0.1; done
      exec 3<>/dev/tcp/127.0.0.1/8123
      printf 'GET /file HTTP/1.0\r\n\r\n' >&3
      tail -n 1 <&3 > $out
    '';
  };
}"#;

#[test]
fn builders_have_their_own_loopback_as_root_and_as_an_unprivileged_user() {
    if !have_tool("python3") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("loopback");
    crate::common::write_project(&project, LOOPBACK_PROJECT);
    let result = sandbox.build(&project, "/loopback");
    assert_eq!(
        std::fs::read_to_string(result).expect("result"),
        "served to itself\n"
    );
    if !crate::common::running_as_root() || !have_tool("setpriv") {
        return;
    }
    let nobody = Sandbox::new();
    let result = nobody.build_as_nobody(&project, "/loopback");
    assert_eq!(
        std::fs::read_to_string(result).expect("result"),
        "served to itself\n"
    );
}

/// One project calling the arguments whose form changed between releases.
const RELEASES_PROJECT: &str = r#"{ fetchRubyGem, makeNodeJsModules, makeSecretForAwsFromEnv, ... }: {
  jobs."/gem" = fetchRubyGem {
    name = "slim";
    version = "4.1.0";
    sha256 = "0000000000000000000000000000000000000000000000000000";
  };
  jobs."/node16" = makeNodeJsModules {
    name = "x";
    nodeJsVersion = "16";
    packageJson = ./package.json;
    packageLockJson = ./package-lock.json;
  };
  jobs."/aws" = makeSecretForAwsFromEnv {
    name = "a";
    accessKeyId = "A";
    defaultRegion = "B";
    secretAccessKey = "C";
    sessionToken = "D";
  };
}"#;

#[test]
fn each_release_gets_its_own_form_of_the_language_arguments() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("releases");
    crate::common::write_project(&project, RELEASES_PROJECT);
    std::fs::write(project.join("package.json"), "{}\n").expect("write");
    std::fs::write(
        project.join("package-lock.json"),
        "{ \"lockfileVersion\": 2, \"dependencies\": {} }\n",
    )
    .expect("write");
    let show = |job: &str| output(sandbox.makes().current_dir(&project).args(["show", job]));
    let json = |out: &Output| -> serde_json::Value {
        assert_success(out);
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    // 24.12 (no pin): gems come from a sourcesYaml's links, Node.js 18, 20 or 21.
    let out = show("/gem");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without required argument 'url'"));
    let out = show("/node16");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Supported node versions are: 18, 20 and 21")
    );
    let template = json(&show("/aws"))["env"]["envText"].to_string();
    assert!(template.contains("${!session_token_name-}"), "{template}");

    // 22.09: a gem by name and version from rubygems.org, Node.js 14, 16 or 18, and the
    // templates of that time.
    std::fs::write(
        project.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit { url = \"https://github.com/fluidattacks/makes\"; ref = \"refs/tags/22.09\"; }; }\n",
    )
    .expect("write");
    let gem = json(&show("/gem"));
    assert_eq!(gem["url"], "https://rubygems.org/downloads/slim-4.1.0.gem");
    assert_eq!(gem["name"], "slim-4.1.0.gem");
    assert_eq!(json(&show("/node16"))["name"], "make-node-js-modules-for-x");
    let template = json(&show("/aws"))["env"]["envText"].to_string();
    assert!(template.contains("${!session_token_name:-}"), "{template}");
}

#[test]
fn nodejs_arguments_of_makes_21_09_take_a_node_and_its_modules() {
    if !have_tool("nix-build") || !have_tool("node") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox, "lang-nodejs-21-09");
    // makeNodeJsEnvironment { node, nodeModules }: the modules' `.bin` on PATH, the modules
    // on NODE_PATH, the node package's `bin` on PATH.
    let out = output(makes_job(&sandbox, &project, "/greet").arg("you"));
    assert_success(&out);
    assert_eq!(stdout(&out), "hello you\nhello node\n");

    // makeNodeJsModules' lists are checked as makes 21.09 checks them...
    let out = output(&mut makes_job(&sandbox, &project, "/unsorted"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            r#"Dependencies must be sorted in this order: ["@makes/shout@1.0.0","left-pad@1.3.0"]"#
        ),
        "{stderr}"
    );
    // ...and sorted ones are refused: building them needs the network.
    let out = output(&mut makes_job(&sandbox, &project, "/modules"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("makeNodeJsModules 'app': makes 21.09's form runs `npm install`"),
        "{stderr}"
    );
}
