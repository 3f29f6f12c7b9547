//! End-to-end substitution from binary caches that Nix 2.8 made (`tests/regenerate.sh`),
//! served over HTTP on 127.0.0.1: the closure top -> mid -> leaf (top refers to itself) in one
//! cache per compression, and every way a substitution must fail without leaving anything.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::sync::Mutex;

use common::*;
use makes_store::nar_hash_and_size;
use makes_substituter::{substitute, NarInfoField, Progress, SubstituteError};

fn quiet(_: Progress) {}

#[test]
fn substitutes_the_closure_from_each_compression() {
    let closure = locked_closure();
    for compression in ["xz", "zstd", "bzip2", "none"] {
        let server = CacheServer::start(&fixtures().join(format!("cache-{compression}")));
        let (_dir, store) = store();
        let events = Mutex::new(Vec::new());
        let summary = substitute(&store, &closure, &options(vec![server.url.clone()]), &|e| {
            events.lock().expect("lock").push(e)
        })
        .unwrap_or_else(|e| panic!("{compression}: {e}"));

        let names: Vec<&str> = summary
            .substituted
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["subst-leaf", "subst-mid", "subst-top"],
            "{compression}"
        );
        assert!(summary.already_valid.is_empty());
        for locked in &closure {
            let real = store.real_path(&locked.path);
            assert_eq!(
                nar_hash_and_size(&real).expect("hash"),
                (locked.nar_hash, locked.nar_size),
                "{compression}: {} as Nix hashed it",
                locked.path
            );
            let info = store.path_info(&locked.path).expect("info");
            let mut refs = locked.references.clone();
            refs.sort();
            assert_eq!(info.references, refs, "{compression}");
        }
        let top = by_name(&closure, "subst-top");
        let mid = by_name(&closure, "subst-mid");
        let top_real = store.real_path(&top.path);
        assert_eq!(
            fs::read_to_string(top_real.join("self")).expect("self"),
            format!("I live at {}\n", top.path)
        );
        assert_eq!(
            fs::read_link(top_real.join("hello")).expect("link"),
            std::path::PathBuf::from(format!("{}/bin/hello", mid.path))
        );
        let hello = fs::metadata(store.real_path(&mid.path).join("bin/hello")).expect("hello");
        assert_eq!(hello.permissions().mode() & 0o777, 0o555);

        let requests = server.requests();
        assert_eq!(requests.len(), 6, "{compression}: {requests:?}");
        assert_eq!(
            requests.iter().filter(|r| r.ends_with(".narinfo")).count(),
            3
        );
        let events = events.into_inner().expect("lock");
        let count = |f: fn(&Progress) -> bool| events.iter().filter(|e| f(e)).count();
        assert_eq!(count(|e| matches!(e, Progress::Started { .. })), 3);
        assert_eq!(count(|e| matches!(e, Progress::Finished { .. })), 3);
        let last_bytes: u64 = closure
            .iter()
            .map(|l| {
                events
                    .iter()
                    .filter_map(|e| match e {
                        Progress::Downloaded { path, bytes } if *path == l.path => Some(*bytes),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0)
            })
            .sum();
        assert_eq!(last_bytes, summary.downloaded_bytes, "{compression}");
        assert_nothing_left(&store, &[]);
    }
}

#[test]
fn valid_paths_are_not_downloaded_again() {
    let closure = locked_closure();
    let server = CacheServer::start(&fixtures().join("cache-xz"));
    let (_dir, store) = store();
    let opts = options(vec![server.url.clone()]);
    let leaf = by_name(&closure, "subst-leaf");
    substitute(&store, std::slice::from_ref(&leaf), &opts, &quiet).expect("leaf");
    assert_eq!(server.requests().len(), 2);

    let summary = substitute(&store, &closure, &opts, &quiet).expect("closure");
    assert_eq!(summary.already_valid, vec![leaf.path.clone()]);
    assert_eq!(summary.substituted.len(), 2);
    let requests = server.requests();
    assert_eq!(requests.len(), 6, "{requests:?}");
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.contains(&leaf.path.hash))
            .count(),
        1,
        "the leaf's narinfo is fetched once: {requests:?}"
    );

    let again = substitute(&store, &closure, &opts, &quiet).expect("again");
    assert!(again.substituted.is_empty());
    assert_eq!(again.already_valid.len(), 3);
    assert_eq!(again.downloaded_bytes, 0);
    assert_eq!(server.requests().len(), 6, "a second run downloads nothing");
}

#[test]
fn next_cache_when_the_first_lacks_the_path_and_retries_on_5xx() {
    let closure = locked_closure();
    let empty = tempfile::tempdir().expect("tempdir");
    let first = CacheServer::start(empty.path());
    let second = CacheServer::start_failing(&fixtures().join("cache-zstd"), 1);
    let (_dir, store) = store();
    let retries = Mutex::new(0);
    let summary = substitute(
        &store,
        &closure,
        &options(vec![first.url.clone(), second.url.clone()]),
        &|e| {
            if let Progress::Retrying { .. } = e {
                *retries.lock().expect("lock") += 1;
            }
        },
    )
    .expect("substitute");
    assert_eq!(summary.substituted.len(), 3);
    assert_eq!(
        first.requests().len(),
        3,
        "only the narinfos: {:?}",
        first.requests()
    );
    // Every URL of the second cache answered 503 once, then 200.
    assert_eq!(second.requests().len(), 12, "{:?}", second.requests());
    assert_eq!(*retries.lock().expect("lock"), 6);
}

#[test]
fn tampered_nar_is_rejected() {
    let closure = locked_closure();
    let top = by_name(&closure, "subst-top");
    for compression in ["none", "xz"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = copy_cache(&format!("cache-{compression}"), dir.path());
        let nar = cache.join(narinfo_field(&cache, &top.path, "URL"));
        let mut bytes = fs::read(&nar).expect("nar");
        let at = bytes.len() * 2 / 3;
        bytes[at] ^= 0x01;
        fs::write(&nar, bytes).expect("write");
        let server = CacheServer::start(&cache);
        let (_dir, store) = store();
        let err = substitute(&store, &closure, &options(vec![server.url.clone()]), &quiet)
            .expect_err("tampered");
        let message = err.to_string();
        assert_eq!(err.store_path(), Some(&top.path), "{message}");
        assert!(message.contains(&server.url), "{message}");
        match compression {
            "none" => assert!(
                matches!(err, SubstituteError::NarMismatch { .. }),
                "{compression}: {message}"
            ),
            _ => assert!(
                matches!(
                    err,
                    SubstituteError::Download { .. } | SubstituteError::NarMismatch { .. }
                ),
                "{compression}: {message}"
            ),
        }
        assert_nothing_left(&store, &[&top.path]);
    }
}

#[test]
fn signature_by_another_key_of_the_same_name_is_rejected() {
    let closure = locked_closure();
    let server = CacheServer::start(&fixtures().join("cache-xz"));
    let (_dir, store) = store();
    let mut opts = options(vec![server.url.clone()]);
    opts.trusted_keys = vec![trusted_key("impostor.pk")];
    let err = substitute(&store, &closure, &opts, &quiet).expect_err("bad signature");
    let message = err.to_string();
    assert!(
        matches!(err, SubstituteError::BadSignature { .. }),
        "{message}"
    );
    assert!(message.contains("does not verify"), "{message}");
    assert!(message.contains(&server.url), "{message}");
    assert!(message.contains("/nix/store/"), "{message}");
    assert!(
        server.requests().iter().all(|r| r.ends_with(".narinfo")),
        "no NAR downloaded: {:?}",
        server.requests()
    );
    let paths: Vec<_> = closure.iter().map(|l| &l.path).collect();
    assert_nothing_left(&store, &paths);
}

#[test]
fn altered_narinfo_fails_its_signature() {
    // The narinfo claims another NAR size (and the lock agrees), but the signature was made
    // over the real one.
    let mut closure = locked_closure();
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = copy_cache("cache-none", dir.path());
    let leaf = by_name(&closure, "subst-leaf");
    let file = cache.join(format!("{}.narinfo", leaf.path.hash));
    let size = narinfo_field(&cache, &leaf.path, "NarSize");
    let text = fs::read_to_string(&file).expect("read");
    fs::write(
        &file,
        text.replace(&format!("NarSize: {size}"), "NarSize: 144"),
    )
    .expect("write");
    for l in closure.iter_mut().filter(|l| l.path == leaf.path) {
        l.nar_size = 144;
    }
    let server = CacheServer::start(&cache);
    let (_dir, store) = store();
    let err = substitute(&store, &closure, &options(vec![server.url.clone()]), &quiet)
        .expect_err("altered");
    assert!(matches!(err, SubstituteError::BadSignature { .. }), "{err}");
    assert_eq!(err.store_path(), Some(&leaf.path));
    let paths: Vec<_> = closure.iter().map(|l| &l.path).collect();
    assert_nothing_left(&store, &paths);
}

#[test]
fn untrusted_key_is_rejected() {
    let closure = locked_closure();
    let server = CacheServer::start(&fixtures().join("cache-xz"));
    let (_dir, store) = store();
    let mut opts = options(vec![server.url.clone()]);
    opts.trusted_keys = vec![makes_substituter::TrustedKey::parse(
        "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=",
    )
    .expect("key")];
    let err = substitute(&store, &closure, &opts, &quiet).expect_err("untrusted");
    let message = err.to_string();
    assert!(
        matches!(err, SubstituteError::UntrustedKey { .. }),
        "{message}"
    );
    assert!(message.contains("signed by an untrusted key"), "{message}");
    assert!(message.contains("makes-test-cache-1"), "{message}");
    assert!(message.contains(&server.url), "{message}");
    let paths: Vec<_> = closure.iter().map(|l| &l.path).collect();
    assert_nothing_left(&store, &paths);
}

#[test]
fn nar_hash_differing_from_the_lock_is_rejected() {
    let mut closure = locked_closure();
    let mid = by_name(&closure, "subst-mid");
    for l in closure.iter_mut().filter(|l| l.path == mid.path) {
        l.nar_hash[0] ^= 0xff;
    }
    let server = CacheServer::start(&fixtures().join("cache-xz"));
    let (_dir, store) = store();
    let err = substitute(&store, &closure, &options(vec![server.url.clone()]), &quiet)
        .expect_err("mismatch");
    let message = err.to_string();
    assert!(
        matches!(
            err,
            SubstituteError::NarInfoMismatch {
                field: NarInfoField::NarHash,
                ..
            }
        ),
        "{message}"
    );
    assert_eq!(err.store_path(), Some(&mid.path));
    assert!(message.contains(&server.url), "{message}");
    assert!(
        !server.requests().iter().any(|r| r.contains(&narinfo_field(
            &fixtures().join("cache-xz"),
            &mid.path,
            "URL"
        ))),
        "the NAR of mid is never downloaded"
    );
    // mid and top are not there; leaf may have been installed before the failure.
    let top = by_name(&closure, "subst-top");
    assert_nothing_left(&store, &[&mid.path, &top.path]);
}

#[test]
fn unreachable_cache_names_the_url() {
    let closure = locked_closure();
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (_dir, store) = store();
    let retries = Mutex::new(Vec::new());
    let mut opts = options(vec![url.clone()]);
    opts.parallelism = 1;
    let err = substitute(&store, &closure, &opts, &|e| {
        if let Progress::Retrying { attempt, .. } = e {
            retries.lock().expect("lock").push(attempt);
        }
    })
    .expect_err("unreachable");
    let message = err.to_string();
    assert!(
        matches!(err, SubstituteError::Unreachable { .. }),
        "{message}"
    );
    assert!(message.contains(&format!("{url}/")), "{message}");
    assert!(message.contains(".narinfo"), "{message}");
    assert_eq!(
        *retries.lock().expect("lock"),
        vec![1, 2],
        "two retries, then the error"
    );
    let paths: Vec<_> = closure.iter().map(|l| &l.path).collect();
    assert_nothing_left(&store, &paths);
}

#[test]
fn missing_everywhere_names_the_caches() {
    let closure = locked_closure();
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let (first, second) = (CacheServer::start(a.path()), CacheServer::start(b.path()));
    let (_dir, store) = store();
    let err = substitute(
        &store,
        &closure,
        &options(vec![first.url.clone(), format!("{}/", second.url)]),
        &quiet,
    )
    .expect_err("missing");
    let message = err.to_string();
    assert!(matches!(err, SubstituteError::NotFound { .. }), "{message}");
    assert!(
        message.contains(&first.url) && message.contains(&second.url),
        "{message}"
    );
    assert!(message.contains("none of the binary caches"), "{message}");
    let paths: Vec<_> = closure.iter().map(|l| &l.path).collect();
    assert_nothing_left(&store, &paths);
}

#[test]
fn open_lock_is_rejected_before_any_download() {
    let closure = locked_closure();
    let server = CacheServer::start(&fixtures().join("cache-xz"));
    let (_dir, store) = store();
    let top = by_name(&closure, "subst-top");
    let err = substitute(
        &store,
        std::slice::from_ref(&top),
        &options(vec![server.url.clone()]),
        &quiet,
    )
    .expect_err("open lock");
    assert!(
        matches!(err, SubstituteError::MissingReference { .. }),
        "{err}"
    );
    assert!(server.requests().is_empty());
}

/// A cache that answers every request with a status line and headers sent one byte every
/// 200 ms (with a long header, so that the whole answer would take a minute).
fn header_dripping_cache() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let head = format!("HTTP/1.1 200 OK\r\nX-Slow: {}\r\n\r\n", "a".repeat(300));
                for byte in head.bytes() {
                    if stream.write_all(&[byte]).is_err() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            });
        }
    });
    url
}

#[test]
fn a_cache_that_drips_its_headers_fails_at_the_request_deadline() {
    let closure = locked_closure();
    let url = header_dripping_cache();
    let (_dir, store) = store();
    let mut opts = options(vec![url.clone()]);
    opts.parallelism = 1;
    opts.http.limits.request_timeout = std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    let err = substitute(&store, &closure, &opts, &quiet).expect_err("no answer in time");
    let message = err.to_string();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "ended at the deadline, not retried: {:?}",
        started.elapsed()
    );
    assert!(message.contains(&format!("{url}/")), "{message}");
    assert!(message.contains("deadline of 2 s"), "{message}");
    let paths: Vec<_> = closure.iter().map(|l| &l.path).collect();
    assert_nothing_left(&store, &paths);
}
