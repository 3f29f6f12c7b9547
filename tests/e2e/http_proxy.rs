//! Proxies from the environment: downloads go through `HTTP_PROXY`/`HTTPS_PROXY` (the proxy
//! is asked for the absolute URL), `NO_PROXY` and loopback hosts go directly, and a proxy
//! variable makes cannot use is an error naming the variable and never its value.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::common::{write_project, Sandbox};

const BODY: &str = "hello through the proxy\n";
/// The sha256 of [`BODY`].
const BODY_SHA256: &str = "a9d8e7e2f0ff2096a335ccadc9ff17749d2d6f25ec202377009db26fdf6aafa0";

/// A stand-in HTTP proxy on 127.0.0.1: serves [`BODY`] for absolute `http://files.invalid/`
/// URLs (which only a proxy can reach) and records every request line it gets.
struct StandInProxy {
    address: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl StandInProxy {
    fn start() -> StandInProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 8192];
                let n = stream.read(&mut buf).unwrap_or(0);
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let line = text.lines().next().unwrap_or("").to_owned();
                seen.lock().expect("lock").push(line.clone());
                let answer = if line.starts_with("GET http://files.invalid/") {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
                        BODY.len()
                    )
                } else {
                    "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_owned()
                };
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        StandInProxy { address, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

fn fetch_project(sandbox: &Sandbox) -> std::path::PathBuf {
    let project = sandbox.dir.path().join("fetch");
    write_project(
        &project,
        &format!(
            r#"{{ fetchUrl, ... }}: {{
  jobs."/fetched" = fetchUrl {{ url = "http://files.invalid/hello.txt"; sha256 = "{BODY_SHA256}"; }};
}}"#
        ),
    );
    project
}

#[test]
fn fetch_url_goes_through_the_proxy_of_the_environment() {
    let proxy = StandInProxy::start();
    let sandbox = Sandbox::new();
    let project = fetch_project(&sandbox);
    let out = sandbox
        .makes()
        .env("HTTP_PROXY", format!("http://{}", proxy.address))
        .arg("--project")
        .arg(&project)
        .arg("/fetched")
        .output()
        .expect("makes runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let file = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
    assert_eq!(std::fs::read_to_string(&file).expect("fetched"), BODY);
    assert_eq!(
        proxy.requests(),
        ["GET http://files.invalid/hello.txt HTTP/1.1"]
    );
}

#[test]
fn no_proxy_hosts_go_directly_and_a_bad_proxy_is_named() {
    let proxy = StandInProxy::start();
    let sandbox = Sandbox::new();
    let project = fetch_project(&sandbox);
    // files.invalid is reached directly: it does not resolve, the proxy hears nothing.
    let out = sandbox
        .makes()
        .env("http_proxy", format!("http://{}", proxy.address))
        .env("NO_PROXY", "example.org,.invalid")
        .arg("--project")
        .arg(&project)
        .arg("/fetched")
        .output()
        .expect("makes runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("files.invalid"), "{stderr}");
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());

    let out = sandbox
        .makes()
        .env("HTTP_PROXY", "socks5://user:s3cret@127.0.0.1:1080")
        .arg("--project")
        .arg(&project)
        .arg("/fetched")
        .output()
        .expect("makes runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("HTTP_PROXY") && stderr.contains("only http:// proxies"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "never the value: {stderr}");
}
