//! Registries in daily use, against a real htpasswd-protected `docker-registry` on 127.0.0.1
//! reached over plain HTTP without any setting (loopback registries are insecure by default,
//! as in Docker): a 401 without credentials says none were given and how to give them, and
//! Docker credential helpers (`credHelpers`, `credsStore`) give them, run as Docker runs them.
//! A registry on a network address whose certificate fails gets a hint naming the flag and
//! the variable that would let makes through.

use crate::common::{assert_success, fixture, have_tool, write_project, Sandbox};
use crate::registry_harness::{Registry, RegistryConfig};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A `docker-credential-makestest` on PATH that records its argument and stdin, and answers
/// with the registry's user and password.
fn install_helper(bin: &Path, record: &Path) {
    std::fs::create_dir_all(bin).expect("bin");
    let script = bin.join("docker-credential-makestest");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nserver=$(cat)\nprintf '%s %s\\n' \"$1\" \"$server\" >> {}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"makes\",\"Secret\":\"helper-pass\"}}' \"$server\"\n",
            record.display()
        ),
    )
    .expect("write helper");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn credential_helpers_give_credentials_and_a_401_without_them_says_how() {
    if !["docker-registry", "htpasswd"].iter().all(|t| have_tool(t)) {
        return;
    }
    let registry = Registry::start(RegistryConfig {
        htpasswd: Some(("makes", "helper-pass")),
        ..RegistryConfig::default()
    });
    let host = registry.host();
    let sandbox = Sandbox::new();
    let bin = sandbox.dir.path().join("bin");
    let record = sandbox.dir.path().join("helper-calls");
    install_helper(&bin, &record);
    let docker_config = sandbox.dir.path().join("docker");
    std::fs::create_dir_all(&docker_config).expect("mkdir");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let makes = || {
        let mut cmd = sandbox.makes();
        cmd.env("PATH", &path).env("DOCKER_CONFIG", &docker_config);
        cmd
    };
    let reference = format!("{host}/hello:1");

    // No credentials anywhere: the 401 says so, and how to give them.
    let refused = makes()
        .arg("--project")
        .arg(fixture("hello"))
        .args(["push", "/hello", &reference])
        .output()
        .expect("makes runs");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("no credentials were given for {host}"))
            && stderr.contains("docker login")
            && stderr.contains("--user-env"),
        "{stderr}"
    );

    // credHelpers names the helper for this registry.
    std::fs::write(
        docker_config.join("config.json"),
        format!(r#"{{"credHelpers":{{"{host}":"makestest"}}}}"#),
    )
    .expect("config.json");
    let pushed = makes()
        .arg("--project")
        .arg(fixture("hello"))
        .args(["push", "/hello", &reference])
        .output()
        .expect("makes runs");
    assert_success(&pushed);
    let pushed = String::from_utf8_lossy(&pushed.stdout).trim().to_owned();
    let (_, digest) = pushed.split_once('@').expect("REF@DIGEST");
    assert_eq!(
        std::fs::read_to_string(&record).expect("the helper ran"),
        format!("get {host}\n")
    );

    // credsStore is the helper for every registry; pullImage uses it.
    std::fs::write(
        docker_config.join("config.json"),
        r#"{"credsStore":"makestest"}"#,
    )
    .expect("config.json");
    let project = sandbox.dir.path().join("pull");
    let pull_project = format!(
        r#"{{ inputs, ... }}: {{
  jobs."/pulled" = inputs.nixpkgs.dockerTools.pullImage {{
    imageName = "{host}/hello";
    imageDigest = "{digest}";
    sha256 = "0000000000000000000000000000000000000000000000000000";
    finalImageTag = "1";
  }};
}}
"#
    );
    write_project(&project, &pull_project);
    let pulled = makes()
        .arg("--project")
        .arg(&project)
        .arg("/pulled")
        .output()
        .expect("makes runs");
    assert_success(&pulled);
    let calls = std::fs::read_to_string(&record).expect("record");
    assert_eq!(calls.lines().count(), 2, "{calls}");

    // Without the helper, the pull's 401 gets the same hint (without push's flags).
    std::fs::write(docker_config.join("config.json"), "{}").expect("config.json");
    std::fs::write(
        project.join("makes.nix"),
        pull_project.replace("finalImageTag = \"1\"", "finalImageTag = \"2\""),
    )
    .expect("write");
    let refused = makes()
        .arg("--project")
        .arg(&project)
        .arg("/pulled")
        .output()
        .expect("makes runs");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("no credentials were given for {host}"))
            && !stderr.contains("--user-env"),
        "{stderr}"
    );
}

/// This machine's address on its network, if it has one: the source address of the route to a
/// documentation address (a UDP "connect" sends nothing).
fn network_address() -> Option<std::net::Ipv4Addr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("198.51.100.1:9").ok()?;
    match socket.local_addr().ok()?.ip() {
        std::net::IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

/// A TLS server (`openssl s_server`) with a self-signed certificate no one trusts, stopped
/// when dropped.
struct UntrustedTls(std::process::Child);

impl UntrustedTls {
    fn start(dir: &Path, ip: std::net::Ipv4Addr) -> (UntrustedTls, String) {
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        let made = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=makes-test"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl req");
        assert_success(&made);
        let port = std::net::TcpListener::bind((ip, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("{ip}:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let server = UntrustedTls(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect((ip, port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "s_server did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        (server, format!("{ip}:{port}"))
    }
}

impl Drop for UntrustedTls {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_registry_whose_certificate_fails_gets_a_hint_naming_the_flag_and_variable() {
    if !have_tool("openssl") {
        return;
    }
    // Loopback registries are insecure by default, so the failure needs a real address.
    let Some(ip) = network_address() else {
        eprintln!("skipped: this machine has no non-loopback IPv4 address");
        return;
    };
    let sandbox = Sandbox::new();
    let (_server, host) = UntrustedTls::start(sandbox.dir.path(), ip);

    let pushed = sandbox
        .makes()
        .arg("--project")
        .arg(fixture("hello"))
        .args(["push", "/hello", &format!("{host}/hello:1")])
        .output()
        .expect("makes runs");
    assert_eq!(pushed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&pushed.stderr);
    assert!(
        stderr.contains("help:")
            && stderr.contains("--insecure")
            && stderr.contains(&format!("MAKES_INSECURE_REGISTRIES=\"{host}\"")),
        "{stderr}"
    );

    let project = sandbox.dir.path().join("pull");
    write_project(
        &project,
        &format!(
            r#"{{ inputs, ... }}: {{
  jobs."/pulled" = inputs.nixpkgs.dockerTools.pullImage {{
    imageName = "{host}/hello";
    imageDigest = "sha256:{zeros}";
    sha256 = "0000000000000000000000000000000000000000000000000000";
  }};
}}
"#,
            zeros = "0".repeat(64)
        ),
    );
    let pulled = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/pulled")
        .output()
        .expect("makes runs");
    assert_eq!(pulled.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&pulled.stderr);
    assert!(
        stderr.contains("help:")
            && stderr.contains(&format!("MAKES_INSECURE_REGISTRIES=\"{host}\""))
            && stderr.contains("tlsVerify = false")
            && !stderr.contains("--insecure"),
        "{stderr}"
    );
}
