//! Test harness: a static file server for binary-cache directories on 127.0.0.1 that records
//! every request and can answer 503 a few times first, and the fixtures made by Nix
//! (`tests/regenerate.sh`).

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use makes_store::{LocalStore, StorePath};
use makes_substituter::{parse_nar_hash, LockedPath, SubstituterOptions, TrustedKey};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The closure as `nix path-info --json -r` recorded it, in that order (top, mid, leaf).
pub fn locked_closure() -> Vec<LockedPath> {
    let text = fs::read_to_string(fixtures().join("path-info.json")).expect("path-info.json");
    let infos: serde_json::Value = serde_json::from_str(&text).expect("json");
    infos
        .as_array()
        .expect("array")
        .iter()
        .map(|info| {
            let path =
                |v: &serde_json::Value| StorePath::parse(v.as_str().expect("str")).expect("path");
            LockedPath {
                path: path(&info["path"]),
                nar_hash: parse_nar_hash(info["narHash"].as_str().expect("narHash")).expect("hash"),
                nar_size: info["narSize"].as_u64().expect("narSize"),
                references: info["references"]
                    .as_array()
                    .expect("references")
                    .iter()
                    .map(path)
                    .collect(),
            }
        })
        .collect()
}

pub fn by_name(closure: &[LockedPath], name: &str) -> LockedPath {
    closure
        .iter()
        .find(|l| l.path.name == name)
        .cloned()
        .expect("in the closure")
}

pub fn trusted_key(file: &str) -> TrustedKey {
    TrustedKey::parse(&fs::read_to_string(fixtures().join(file)).expect("key")).expect("parse")
}

pub fn options(caches: Vec<String>) -> SubstituterOptions {
    SubstituterOptions {
        caches,
        trusted_keys: vec![trusted_key("cache.pk")],
        parallelism: 3,
        http: makes_http::HttpOptions {
            // Three tries: the first and two retries.
            retry: makes_http::RetryPolicy {
                max_tries: 3,
                initial_backoff: std::time::Duration::from_millis(10),
            },
            ..Default::default()
        },
    }
}

pub fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(dir.path().join("store-root")).expect("open");
    (dir, store)
}

/// A copy of a fixture cache that a test may alter.
pub fn copy_cache(name: &str, into: &Path) -> PathBuf {
    let dst = into.join(name);
    copy_tree(&fixtures().join(name), &dst);
    dst
}

fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).expect("mkdir");
    for entry in fs::read_dir(src).expect("read_dir") {
        let entry = entry.expect("entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            fs::copy(entry.path(), &to).expect("copy");
        }
    }
}

/// The narinfo of `path` in the cache directory `cache`, parsed into `(key, value)` lines.
pub fn narinfo_field(cache: &Path, path: &StorePath, key: &str) -> String {
    let text = fs::read_to_string(cache.join(format!("{}.narinfo", path.hash))).expect("narinfo");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .expect("field")
        .to_owned()
}

/// Nothing of `failed` is in the store, no staging directory is left, and every path the
/// store directory holds is valid (no half-installed contents).
pub fn assert_nothing_left(store: &LocalStore, failed: &[&StorePath]) {
    for path in failed {
        assert!(!store.is_valid(path), "{path} is valid");
        assert!(
            fs::symlink_metadata(store.real_path(path)).is_err(),
            "{path} has contents"
        );
    }
    let tmp: Vec<_> = fs::read_dir(store.root().join("tmp"))
        .expect("tmp")
        .collect();
    assert!(tmp.is_empty(), "staging left: {tmp:?}");
    for entry in fs::read_dir(store.store_dir()).expect("store dir") {
        let name = entry.expect("entry").file_name();
        let path = StorePath::from_base_name(name.to_str().expect("utf-8")).expect("store path");
        assert!(store.is_valid(&path), "{path} has contents but no record");
    }
}

/// A static file server for one directory.
pub struct CacheServer {
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl CacheServer {
    pub fn start(root: &Path) -> CacheServer {
        CacheServer::start_failing(root, 0)
    }

    /// Answers 503 to the first `failures` requests of each URL path.
    pub fn start_failing(root: &Path, failures: u32) -> CacheServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let failed: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let root = root.to_owned();
        let log = requests.clone();
        // The thread lives as long as the test process; its socket closes with it.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (root, log, failed) = (root.clone(), log.clone(), failed.clone());
                std::thread::spawn(move || serve(stream, &root, &log, &failed, failures));
            }
        });
        CacheServer { url, requests }
    }

    /// The URL paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

fn serve(
    mut stream: TcpStream,
    root: &Path,
    log: &Mutex<Vec<String>>,
    failed: &Mutex<HashMap<String, u32>>,
    failures: u32,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let target = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    log.lock().expect("lock").push(target.clone());
    let fail = {
        let mut failed = failed.lock().expect("lock");
        let count = failed.entry(target.clone()).or_default();
        *count += 1;
        *count <= failures
    };
    let relative = target.trim_start_matches('/');
    let file = root.join(relative);
    let (status, body) = if fail {
        ("503 Service Unavailable", b"try again".to_vec())
    } else if relative.split('/').any(|c| c == "..") {
        ("403 Forbidden", Vec::new())
    } else {
        match fs::read(&file) {
            Ok(body) => ("200 OK", body),
            Err(_) => ("404 Not Found", b"404".to_vec()),
        }
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}
