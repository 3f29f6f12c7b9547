//! Hostile input that is not a Nix expression: registries that drip bytes or send terminal
//! escape sequences, a full disk, `kill -9` in the middle of a build or a pull, image names and
//! config fields outside the OCI grammar, and a secret pasted where a variable name belongs.
//! Each must end with a clear error (or be cleaned up) and never hang, print raw control
//! characters or echo the secret.

use crate::common::{running_as_root, write_project, Sandbox};
use sha2::{Digest as _, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd`, killing it (and failing the test) if it is still running after `limit`: a
/// test of "it ends" must not hang itself.
fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("makes starts");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("makes ran"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("makes was still running after {limit:?}");
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How the fake registry answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Serves the manifest, then sends blobs one byte every 300 ms.
    DripBlobs,
    /// Answers every manifest request with 404 and an error JSON full of escape sequences.
    EscapeSequences,
    /// Answers `/v2/` at once, and every other request with a status line and headers sent
    /// one byte every 200 ms (a long header: the whole answer would take more than a minute).
    DripHeaders,
}

/// A registry of one image (`app`) on 127.0.0.1, over plain HTTP, in a thread of the test.
struct FakeRegistry {
    host: String,
    manifest_digest: String,
    config_digest: String,
}

impl FakeRegistry {
    fn start(behaviour: Behaviour) -> FakeRegistry {
        let layer = b"not really a tar".to_vec();
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
            sha256_hex(&layer)
        )
        .into_bytes();
        let config_digest = format!("sha256:{}", sha256_hex(&config));
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{}","size":{}}}]}}"#,
            config.len(),
            sha256_hex(&layer),
            layer.len()
        )
        .into_bytes();
        let manifest_digest = format!("sha256:{}", sha256_hex(&manifest));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let host = format!("127.0.0.1:{}", listener.local_addr().expect("addr").port());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (manifest, config) = (manifest.clone(), config.clone());
                std::thread::spawn(move || serve(stream, behaviour, &manifest, &config));
            }
        });
        FakeRegistry {
            host,
            manifest_digest,
            config_digest,
        }
    }

    /// A project whose job `/pulled` pulls `app` by digest from this registry.
    fn project(&self, dir: &Path) -> PathBuf {
        let project = dir.join("pull-project");
        write_project(
            &project,
            &format!(
                r#"{{ inputs, ... }}:
{{
  jobs."/pulled" = inputs.nixpkgs.dockerTools.pullImage {{
    imageName = "{}/app";
    imageDigest = "{}";
    sha256 = "0000000000000000000000000000000000000000000000000000";
    tlsVerify = false;
  }};
}}
"#,
                self.host, self.manifest_digest
            ),
        );
        project
    }
}

fn serve(stream: TcpStream, behaviour: Behaviour, manifest: &[u8], config: &[u8]) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    // A TLS ClientHello (the client tries HTTPS first): close, so it falls back to HTTP.
    match reader.fill_buf() {
        Ok([0x16, ..]) | Ok([]) | Err(_) => return,
        Ok(_) => {}
    }
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let mut out = stream;
    let respond = |out: &mut TcpStream, status: &str, content_type: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = out.write_all(head.as_bytes());
        let _ = out.write_all(body);
    };
    if matches!(behaviour, Behaviour::DripHeaders) && path != "/v2/" {
        let head = format!("HTTP/1.1 200 OK\r\nX-Slow: {}\r\n\r\n", "a".repeat(400));
        for byte in head.bytes() {
            if out.write_all(&[byte]).and_then(|()| out.flush()).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        return;
    }
    if path == "/v2/" {
        respond(&mut out, "200 OK", "application/json", b"{}");
    } else if path.starts_with("/v2/app/manifests/") {
        match behaviour {
            Behaviour::DripBlobs | Behaviour::DripHeaders => respond(
                &mut out,
                "200 OK",
                "application/vnd.oci.image.manifest.v1+json",
                manifest,
            ),
            Behaviour::EscapeSequences => respond(
                &mut out,
                "404 Not Found",
                "application/json",
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"\u001b[2J\u001b[31mgone\u001b]0;pwned\u0007 \r\u009b1m"}]}"#,
            ),
        }
    } else if path.starts_with("/v2/app/blobs/") {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            config.len()
        );
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
        for byte in config {
            if out.write_all(&[*byte]).and_then(|()| out.flush()).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    } else {
        respond(&mut out, "404 Not Found", "text/plain", b"");
    }
}

/// Pulls from a registry that drips its blobs, under the transfer limits `env`; the pull
/// must fail naming the registry, the blob and `limit` (the limit that stopped it).
fn drip_pull_fails_naming(env: &[(&str, &str)], limit: &str) {
    let registry = FakeRegistry::start(Behaviour::DripBlobs);
    let sandbox = Sandbox::new();
    let project = registry.project(sandbox.dir.path());
    let mut cmd = sandbox.makes();
    cmd.envs(env.iter().copied())
        .arg("--project")
        .arg(&project)
        .arg("/pulled");
    let out = output_within(&mut cmd, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&registry.host)
            && stderr.contains(&registry.config_digest)
            && stderr.contains(limit),
        "names the registry, the blob and the limit: {stderr}"
    );
}

#[test]
fn a_registry_that_drips_bytes_fails_at_the_minimum_rate_naming_the_registry_and_blob() {
    drip_pull_fails_naming(
        &[("MAKES_HTTP_MIN_RATE", "1000/2")],
        "minimum of 1000 bytes/s",
    );
}

#[test]
fn a_registry_that_drips_bytes_fails_at_the_request_deadline() {
    drip_pull_fails_naming(
        &[("MAKES_HTTP_TIMEOUT", "3"), ("MAKES_HTTP_MIN_RATE", "0")],
        "deadline of 3 s",
    );
}

#[test]
fn a_registry_that_drips_its_headers_fails_at_the_request_deadline() {
    let registry = FakeRegistry::start(Behaviour::DripHeaders);
    let sandbox = Sandbox::new();
    let project = registry.project(sandbox.dir.path());
    let started = Instant::now();
    let out = output_within(
        sandbox
            .makes()
            .env("MAKES_HTTP_TIMEOUT", "3")
            .env("MAKES_HTTP_MIN_RATE", "0")
            .arg("--project")
            .arg(&project)
            .arg("/pulled"),
        Duration::from_secs(120),
    );
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&registry.host)
            && stderr.contains(&registry.manifest_digest)
            && stderr.contains("deadline of 3 s"),
        "names the registry, the manifest and the deadline: {stderr}"
    );
    // The deadline plus the start of makes and its evaluation on a loaded machine; the
    // dripped answer alone would take more than a minute.
    assert!(took < Duration::from_secs(30), "ended after {took:?}");
    assert_nothing_half_written(&sandbox.store());
}

#[test]
fn a_fetch_url_server_that_drips_its_headers_fails_at_the_request_deadline() {
    let server = FakeRegistry::start(Behaviour::DripHeaders);
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("fetch-project");
    write_project(
        &project,
        &format!(
            r#"{{ fetchUrl, ... }}:
{{
  jobs."/fetched" = fetchUrl {{
    url = "http://{}/slow";
    sha256 = "0000000000000000000000000000000000000000000000000000";
  }};
}}
"#,
            server.host
        ),
    );
    let started = Instant::now();
    let out = output_within(
        sandbox
            .makes()
            .env("MAKES_HTTP_TIMEOUT", "3")
            .arg("--project")
            .arg(&project)
            .arg("/fetched"),
        Duration::from_secs(120),
    );
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("deadline of 3 s") && stderr.contains(&server.host),
        "names the URL and the deadline: {stderr}"
    );
    assert!(took < Duration::from_secs(30), "ended after {took:?}");
    assert_nothing_half_written(&sandbox.store());
}

#[test]
fn a_fetch_url_server_that_drips_bytes_fails_at_the_minimum_rate() {
    let server = FakeRegistry::start(Behaviour::DripBlobs);
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("fetch-project");
    write_project(
        &project,
        &format!(
            r#"{{ fetchUrl, ... }}:
{{
  jobs."/fetched" = fetchUrl {{
    url = "http://{}/v2/app/blobs/slow";
    sha256 = "0000000000000000000000000000000000000000000000000000";
  }};
}}
"#,
            server.host
        ),
    );
    let out = output_within(
        sandbox
            .makes()
            .env("MAKES_HTTP_MIN_RATE", "1000/2")
            .arg("--project")
            .arg(&project)
            .arg("/fetched"),
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("minimum of 1000 bytes/s") && stderr.contains(&server.host),
        "names the URL and the limit: {stderr}"
    );
}

#[test]
fn escape_sequences_in_a_registry_error_never_reach_the_terminal() {
    let registry = FakeRegistry::start(Behaviour::EscapeSequences);
    let sandbox = Sandbox::new();
    let project = registry.project(sandbox.dir.path());
    let out = output_within(
        sandbox
            .makes()
            .arg("--project")
            .arg(&project)
            .arg("/pulled"),
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let raw_controls: Vec<char> = stderr
        .chars()
        .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
        .collect();
    assert!(
        raw_controls.is_empty(),
        "no control characters but newlines and tabs: {raw_controls:?} in {stderr:?}"
    );
    assert!(
        stderr.contains(r"\x1b[2J") && stderr.contains("MANIFEST_UNKNOWN"),
        "the registry's text is shown escaped: {stderr}"
    );
}

/// Unmounts the tmpfs when the test ends, whatever happens.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mount a tmpfs on {dir:?}");
        Tmpfs(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_reported_as_such_naming_the_path() {
    if !running_as_root() {
        eprintln!("note: skipping: mounting a small tmpfs needs root (CI runs as root)");
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    write_project(
        &project,
        r#"{ makeContainerImage, makeDerivation, ... }:
let
  big = makeDerivation {
    name = "big";
    builder = ''
      mkdir $out
      head -c 4000000 /dev/zero > $out/zeros
    '';
  };
in {
  jobs."/literal" = makeContainerImage { layers = [ ./data ]; };
  jobs."/builder" = makeContainerImage { layers = [ big ]; };
}
"#,
    );
    std::fs::write(project.join("data"), vec![b'x'; 2 << 20]).expect("data");
    let _full = Tmpfs::mount(&sandbox.store(), "1m");
    for job in ["/literal", "/builder"] {
        let out = output_within(
            sandbox.makes().arg("--project").arg(&project).arg(job),
            Duration::from_secs(120),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{job}: {stderr}");
        assert!(
            stderr.contains("No space left on device")
                && stderr.contains(&*sandbox.store().to_string_lossy()),
            "{job}: says the disk is full and where: {stderr}"
        );
        assert!(
            !stderr.contains("must be a list of packages"),
            "{job}: not a type error: {stderr}"
        );
    }
}

/// Entries of the store that no live session owns and the next session or `makes gc` must
/// remove: staging directories, store entries without a record, temporary files, lock files.
fn stale_files(store: &Path) -> Vec<String> {
    let mut stale = Vec::new();
    let names = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    for name in names(&store.join("tmp")) {
        stale.push(format!("tmp/{name}"));
    }
    for name in names(&store.join("locks")) {
        stale.push(format!("locks/{name}"));
    }
    for name in names(&store.join("db")) {
        if name.starts_with('.') {
            stale.push(format!("db/{name}"));
        }
    }
    for name in names(&store.join("store")) {
        let hash = name.split('-').next().unwrap_or("");
        if !store.join("db").join(format!("{hash}.json")).exists() {
            stale.push(format!("store/{name}"));
        }
    }
    stale.sort();
    stale
}

/// No staging directory, temporary file or unrecorded store entry (a finished session keeps
/// its lock files: they are not content).
fn assert_nothing_half_written(store: &Path) {
    let left: Vec<String> = stale_files(store)
        .into_iter()
        .filter(|f| !f.starts_with("locks/"))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "nothing half-written");
}

/// Waits (up to a minute) until `ready` holds, then kills `child` with SIGKILL.
fn kill_when(mut child: Child, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the moment to kill never came");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

/// Waits until no process holds the store's session lock: the sandbox's first process is a
/// fork of the killed makes and shares its lock until the kernel has delivered its
/// parent-death signal, which takes a moment on a loaded machine.
fn wait_until_the_session_is_gone(store: &Path) {
    let lock = std::fs::File::open(store.join("gc.lock")).expect("the session lock file");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !fs4::fs_std::FileExt::try_lock_exclusive(&lock).unwrap_or(false) {
        assert!(
            Instant::now() < deadline,
            "the killed session's processes never went away"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Dropping the file releases the lock at once.
}

#[test]
fn killed_mid_build_the_next_session_sweeps_the_leftovers() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    write_project(
        &project,
        r#"{ makeDerivation, ... }:
{
  jobs."/slow" = makeDerivation {
    name = "slow";
    builder = ''
      mkdir $out
      head -c 3000000 /dev/zero > $out/partial
      echo started
      sleep 60
    '';
  };
}
"#,
    );
    let child = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/slow")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("makes starts");
    let store = sandbox.store();
    kill_when(child, || {
        std::fs::read_dir(store.join("logs"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("started")))
    });
    assert!(
        !stale_files(&store).is_empty(),
        "the kill left something to sweep"
    );
    wait_until_the_session_is_gone(&store);
    let out = output_within(
        sandbox.makes().arg("--project").arg(&project).arg("--list"),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stale_files(&store), Vec::<String>::new(), "swept at start");
}

#[test]
fn killed_mid_pull_makes_gc_sweeps_the_partial_blobs() {
    let registry = FakeRegistry::start(Behaviour::DripBlobs);
    let sandbox = Sandbox::new();
    let project = registry.project(sandbox.dir.path());
    let child = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/pulled")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("makes starts");
    let store = sandbox.store();
    // A partial blob is being written into the pull's output.
    let partial_blob = || {
        std::fs::read_dir(store.join("store"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .flat_map(|e| {
                std::fs::read_dir(e.path().join("blobs/sha256"))
                    .into_iter()
                    .flatten()
            })
            .filter_map(Result::ok)
            .any(|b| b.file_name().to_string_lossy().starts_with(".tmp-"))
    };
    kill_when(child, partial_blob);
    assert!(
        stale_files(&store).iter().any(|s| s.starts_with("store/")),
        "the kill left a partial pull: {:?}",
        stale_files(&store)
    );
    wait_until_the_session_is_gone(&store);
    let out = output_within(sandbox.makes().arg("gc"), Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stale_files(&store), Vec::<String>::new(), "swept by gc");
}

/// A project with one image job `/img` and one deploy job of it.
fn deploy_project(dir: &Path, image: &str, user: &str, token: &str) -> PathBuf {
    let project = dir.join("deploy");
    write_project(
        &project,
        &format!(
            r#"{{ makeContainerImage, outputs, ... }}:
{{
  jobs."/img" = makeContainerImage {{ name = "img"; }};
  deployContainer.app = {{
    credentials = {{ user = "{user}"; token = "{token}"; }};
    image = "{image}";
    src = outputs."/img";
  }};
}}
"#
        ),
    );
    project
}

#[test]
fn deploy_and_push_references_outside_the_grammar_are_refused() {
    let sandbox = Sandbox::new();
    let project = deploy_project(
        sandbox.dir.path(),
        "ghcr.io/org/../etc:1",
        "REG_USER",
        "REG_TOKEN",
    );
    for command in [
        &["/deployContainer/app"][..],
        &["show", "/deployContainer/app"],
    ] {
        let out = output_within(
            sandbox.makes().arg("--project").arg(&project).args(command),
            Duration::from_secs(60),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(
            stderr.contains("'image'")
                && stderr.contains("is not a valid image name")
                && stderr.contains("makes.nix:6:"),
            "{command:?}: at the attribute: {stderr}"
        );
    }
    for reference in [
        "localhost:5000/../x:1",
        "localhost:5000/x:-bad",
        "localhost:5000/x\n:1",
    ] {
        let out = output_within(
            sandbox
                .makes()
                .arg("--project")
                .arg(&project)
                .args(["push", "/img", reference]),
            Duration::from_secs(60),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{reference:?}: {stderr}");
        assert!(
            stderr.contains("invalid image reference") && out.stdout.is_empty(),
            "{reference:?}: {stderr}"
        );
    }
}

#[test]
fn an_image_config_field_of_the_wrong_type_is_refused_by_show_at_its_attribute() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    write_project(
        &project,
        "{ makeContainerImage, ... }:\n{\n  jobs.\"/x\" = makeContainerImage {\n    config.Healthcheck = \"x\";\n  };\n}\n",
    );
    let out = output_within(
        sandbox
            .makes()
            .arg("--project")
            .arg(&project)
            .args(["show", "/x"]),
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("'config.Healthcheck' must be a set") && stderr.contains("makes.nix:4:"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_token_pasted_as_a_variable_name_is_never_printed() {
    const SECRET: &str = "ghp_S3cr3tT0k3nValue-0123456789";
    let sandbox = Sandbox::new();
    let project = deploy_project(
        sandbox.dir.path(),
        "localhost:5000/app:1",
        "REG_USER",
        SECRET,
    );
    let commands: [&[&str]; 3] = [
        &["/deployContainer/app"],
        &["show", "/deployContainer/app"],
        &[
            "push",
            "--user-env",
            "REG_USER",
            "--token-env",
            SECRET,
            "/img",
            "localhost:5000/app:1",
        ],
    ];
    for command in commands {
        let out = output_within(
            sandbox
                .makes()
                .env("REG_USER", "someone")
                .arg("--project")
                .arg(&project)
                .args(command),
            Duration::from_secs(60),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            !stdout.contains("S3cr3t") && !stderr.contains("S3cr3t"),
            "the secret is not echoed: {stdout}\n{stderr}"
        );
        assert!(
            stderr.contains("not shown, as it may be a secret"),
            "says why: {stderr}"
        );
    }
}
