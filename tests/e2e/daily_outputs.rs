//! `--output` in skopeo's transports, each read back by skopeo; `docker-daemon:` against a
//! fake Docker socket (what it is sent is read back by skopeo as a docker archive); `--out-link`, `--no-out-link`, and out-links of two projects with the
//! same job name both kept by `makes gc`.

use crate::common::{assert_success, copy_tree, fixture, have_tool, run, Sandbox};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Command;

fn skopeo_digest(reference: &str) -> String {
    let out = run(Command::new("skopeo").args(["inspect", "--raw", reference]));
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON manifest");
    manifest["config"]["digest"]
        .as_str()
        .expect("a config digest")
        .to_owned()
}

#[test]
fn every_transport_is_written_and_read_back_by_skopeo() {
    if !have_tool("skopeo") {
        return;
    }
    let sandbox = Sandbox::new();
    let work = sandbox.dir.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let project = fixture("hello");
    let out = sandbox
        .makes()
        .current_dir(&work)
        .arg("--project")
        .arg(&project)
        .args([
            "/hello",
            "--output",
            "oci:layout:one",
            "--output",
            "oci-archive:image.oci.tar:v1",
            "--output",
            "docker-archive:image.docker.tar:example/hello:2",
            "--output",
            "dir:blobs-dir",
        ])
        .output()
        .expect("makes runs");
    assert_success(&out);
    let archive = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
    let config = skopeo_digest(&format!("oci-archive:{archive}"));
    for reference in [
        "oci:layout:one",
        "oci-archive:image.oci.tar:v1",
        "docker-archive:image.docker.tar",
        "dir:blobs-dir",
    ] {
        let out = run(Command::new("skopeo")
            .current_dir(&work)
            .args(["inspect", "--raw", reference]));
        let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(manifest["config"]["digest"], config.as_str(), "{reference}");
    }
    // The docker archive carries the tag given.
    let docker = std::fs::File::open(work.join("image.docker.tar")).expect("open");
    let mut tar = tar::Archive::new(docker);
    let mut manifest = String::new();
    for entry in tar.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        if entry.path().expect("path").to_string_lossy() == "manifest.json" {
            entry.read_to_string(&mut manifest).expect("read");
        }
    }
    assert!(
        manifest.contains(r#""RepoTags":["example/hello:2"]"#),
        "{manifest}"
    );

    // A second image joins the layout under its own tag; the first stays.
    let out = sandbox
        .makes()
        .current_dir(&work)
        .arg("--project")
        .arg(&project)
        .args(["/hello-single-layer", "--output", "oci:layout:two"])
        .output()
        .expect("makes runs");
    assert_success(&out);
    let one = skopeo_digest(&format!("oci:{}:one", work.join("layout").display()));
    let two = skopeo_digest(&format!("oci:{}:two", work.join("layout").display()));
    assert_eq!(one, config);
    assert_ne!(one, two);
    // The same tag again replaces that image only.
    let out = sandbox
        .makes()
        .current_dir(&work)
        .arg("--project")
        .arg(&project)
        .args(["/hello", "--output", "oci:layout:two"])
        .output()
        .expect("makes runs");
    assert_success(&out);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("layout/index.json")).expect("index"))
            .expect("JSON");
    assert_eq!(index["manifests"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        skopeo_digest(&format!("oci:{}:two", work.join("layout").display())),
        config
    );
}

#[test]
fn a_bad_output_is_refused_before_anything_is_built() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(fixture("hello"))
        .args(["--output", "tarball:x", "/hello"])
        .output()
        .expect("makes runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("'tarball' is not a transport"), "{stderr}");
    assert!(
        !sandbox.store().join("store").exists()
            || std::fs::read_dir(sandbox.store().join("store"))
                .expect("dir")
                .next()
                .is_none()
    );
}

/// A one-request Docker API stand-in on a unix socket: answers `answer`, and hands back the
/// request line and the body it received.
fn fake_docker(socket: &Path, answer: &'static str) -> std::thread::JoinHandle<(String, Vec<u8>)> {
    let listener = std::os::unix::net::UnixListener::bind(socket).expect("bind");
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("a connection");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut request_line = String::new();
        reader.read_line(&mut request_line).expect("request line");
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).expect("header");
            if header == "\r\n" {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("a length");
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).expect("the body");
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        )
        .expect("answer");
        (request_line, body)
    })
}

#[test]
fn docker_daemon_output_posts_a_tagged_docker_archive_to_the_socket() {
    let sandbox = Sandbox::new();
    let socket = sandbox.dir.path().join("docker.sock");
    let server = fake_docker(&socket, "{\"stream\":\"Loaded image: hello:7\\n\"}");
    let out = sandbox
        .makes()
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .arg("--project")
        .arg(fixture("hello"))
        .args(["/hello", "--output", "docker-daemon:hello:7"])
        .output()
        .expect("makes runs");
    assert_success(&out);
    let (request_line, body) = server.join().expect("server");
    assert_eq!(request_line, "POST /images/load?quiet=1 HTTP/1.1\r\n");
    let mut tar = tar::Archive::new(&body[..]);
    let mut manifest = String::new();
    let mut names = Vec::new();
    for entry in tar.entries().expect("a tar body") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        if name == "manifest.json" {
            entry.read_to_string(&mut manifest).expect("read");
        }
        names.push(name);
    }
    assert!(manifest.contains(r#""RepoTags":["hello:7"]"#), "{manifest}");
    assert!(
        names
            .iter()
            .filter(|n| n.starts_with("blobs/sha256/"))
            .count()
            >= 3
    );
    // What the daemon was given is an image skopeo reads, tagged as asked.
    let loaded = sandbox.dir.path().join("loaded.tar");
    std::fs::write(&loaded, &body).expect("write the body");
    let inspected = run(Command::new("skopeo").args([
        "inspect",
        &format!("docker-archive:{}:hello:7", loaded.display()),
    ]));
    let inspected: serde_json::Value =
        serde_json::from_slice(&inspected.stdout).expect("skopeo prints JSON");
    assert!(
        inspected["Layers"]
            .as_array()
            .is_some_and(|l| !l.is_empty()),
        "{inspected}"
    );
    assert_eq!(inspected["Architecture"], "amd64", "{inspected}");

    // A refusal inside a 200 answer is an error naming the output.
    let socket = sandbox.dir.path().join("refusing.sock");
    let server = fake_docker(
        &socket,
        "{\"errorDetail\":{\"message\":\"no space\"},\"error\":\"no space\"}",
    );
    let out = sandbox
        .makes()
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .arg("--project")
        .arg(fixture("hello"))
        .args(["/hello", "--output", "docker-daemon:hello:7"])
        .output()
        .expect("makes runs");
    let _ = server.join();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("docker-daemon:hello:7") && stderr.contains("no space"),
        "{stderr}"
    );
}

#[test]
fn out_links_custom_none_and_per_project_are_kept_by_gc() {
    let sandbox = Sandbox::new();
    // Two projects with the same job name and different results.
    let first = sandbox.dir.path().join("first");
    let second = sandbox.dir.path().join("second");
    copy_tree(&fixture("hello"), &first);
    copy_tree(&fixture("hello"), &second);
    std::fs::write(
        second.join("greeting.txt"),
        "hello from the second project\n",
    )
    .expect("write");
    let a = sandbox.build(&first, "/hello");
    let b = sandbox.build(&second, "/hello");
    assert_ne!(a, b);
    let link = sandbox.dir.path().join("my-link");
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&first)
        .arg("--out-link")
        .arg(&link)
        .arg("/hello-single-layer")
        .output()
        .expect("makes runs");
    assert_success(&out);
    let c = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
    assert_eq!(std::fs::read_link(&link).expect("the link"), c);
    assert!(
        !sandbox
            .cache()
            .join("makes/out-hello-single-layer")
            .exists(),
        "--out-link replaces makes' own link"
    );
    let gc = run(sandbox.makes().args(["gc"]));
    let removed = String::from_utf8_lossy(&gc.stdout);
    for kept in [&a, &b, &c] {
        assert!(kept.exists(), "{} kept: removed {removed}", kept.display());
    }
    // Once the custom link is gone, its result goes too; --no-out-link keeps nothing.
    std::fs::remove_file(&link).expect("remove link");
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&second)
        .args(["--no-out-link", "/hello-single-layer"])
        .output()
        .expect("makes runs");
    assert_success(&out);
    let d = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
    run(sandbox.makes().args(["gc"]));
    assert!(!c.exists() && !d.exists(), "unlinked results are collected");
    assert!(a.exists() && b.exists());
}
