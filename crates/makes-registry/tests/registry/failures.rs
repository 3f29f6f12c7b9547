//! Wrong digests, tampered blobs, missing images and a registry killed mid-push: each a clear
//! error, nothing partial left behind, and a retried push that succeeds.

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use makes_registry::{Digest, ImageSource, Platform, Reference, RegistryError};

use crate::common::*;

fn pushed(registry: &Registry, tmp: &std::path::Path, salt: &str) -> (TestImage, Reference) {
    let src = tmp.join("src");
    let image = write_layout(&src, "1.0", salt);
    let reference = Reference::parse(&format!("{}/app:1.0", registry.host())).expect("ref");
    insecure_client(registry)
        .push(&ImageSource::Layout(src), &reference)
        .expect("push");
    (image, reference)
}

#[test]
fn wrong_or_tampered_content_is_a_clear_error_and_leaves_nothing_partial() {
    if !have_tool("docker-registry") {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let (image, reference) = pushed(&registry, tmp.path(), "tamper");
    let client = insecure_client(&registry);
    let platform = Platform::linux_host();

    // A digest the registry does not have: not found, naming registry, repository and digest.
    let dest = tmp.path().join("wrong-digest");
    let wrong = Digest::of(b"some other manifest");
    let err = client
        .pull(&reference, Some(&wrong), &platform, &dest)
        .expect_err("unknown digest");
    eprintln!("unknown digest: {err}");
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&registry.host()) && msg.contains("app") && msg.contains(&wrong.to_string()),
        "{msg}"
    );
    assert!(list_files(&dest).is_empty(), "{:?}", list_files(&dest));

    // A layer changed in the registry's storage (same length): the digest mismatch names the
    // layer and both digests; the layout has no index.json and no temporary file.
    let (layer, _) = &image.layers[1];
    let data = registry.blob_data(layer);
    let original = fs::read(&data).expect("layer data");
    let mut tampered = original.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    fs::write(&data, &tampered).expect("tamper");
    let dest = tmp.path().join("tampered-layer");
    let err = client
        .pull(&reference, Some(&image.manifest_digest), &platform, &dest)
        .expect_err("tampered layer");
    eprintln!("tampered layer: {err}");
    let msg = err.to_string();
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
    assert!(
        msg.contains("layer") && msg.contains(&layer.to_string()),
        "{msg}"
    );
    assert!(msg.contains(&Digest::of(&tampered).to_string()), "{msg}");
    assert!(!dest.join("index.json").exists());
    assert!(!dest.join(layer.layout_path()).exists());
    assert_only_verified_blobs(&dest);
    fs::write(&data, &original).expect("restore");
    client
        .pull(&reference, Some(&image.manifest_digest), &platform, &dest)
        .expect("the same pull works once the blob is whole again");
    assert_only_verified_blobs(&dest);

    // The manifest changed in storage: fetched by digest, its bytes do not hash to it.
    let data = registry.blob_data(&image.manifest_digest);
    let mut manifest = fs::read(&data).expect("manifest data");
    manifest.push(b'\n'); // still valid JSON, which the registry parses before serving it
    fs::write(&data, &manifest).expect("tamper");
    let dest = tmp.path().join("tampered-manifest");
    let err = client
        .pull(&reference, Some(&image.manifest_digest), &platform, &dest)
        .expect_err("tampered manifest");
    eprintln!("tampered manifest: {err}");
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&image.manifest_digest.to_string()),
        "{err}"
    );
    assert!(list_files(&dest).is_empty(), "{:?}", list_files(&dest));

    // A tag that does not exist.
    let missing = Reference::parse(&format!("{}/app:nope", registry.host())).expect("ref");
    let err = client
        .pull(&missing, None, &platform, &tmp.path().join("missing"))
        .expect_err("missing tag");
    eprintln!("missing tag: {err}");
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains("app") && err.to_string().contains("nope"),
        "{err}"
    );
}

/// A TCP proxy in front of the registry that kills it once `kill_after` bytes of requests have
/// gone through, then stops listening.
struct KillingProxy {
    dead: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KillingProxy {
    fn start(port: u16, registry: Arc<Registry>, kill_after: u64) -> KillingProxy {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("proxy port");
        listener.set_nonblocking(true).expect("nonblocking");
        let dead = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let flag = dead.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                let (client, _) = match listener.accept() {
                    Ok(c) => c,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                client.set_nonblocking(false).expect("blocking");
                let Ok(upstream) = TcpStream::connect(("127.0.0.1", registry.port)) else {
                    continue;
                };
                let (c2, u2) = (
                    client.try_clone().expect("clone"),
                    upstream.try_clone().expect("clone"),
                );
                // Responses flow back untouched.
                std::thread::spawn(move || pump(u2, c2));
                let (registry, flag, sent) = (registry.clone(), flag.clone(), sent.clone());
                std::thread::spawn(move || {
                    let (mut from, mut to) = (client, upstream);
                    let mut buf = [0u8; 16 << 10];
                    while let Ok(n @ 1..) = from.read(&mut buf) {
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        if sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64 > kill_after {
                            registry.kill();
                            flag.store(true, Ordering::SeqCst);
                            break;
                        }
                    }
                    let _ = from.shutdown(Shutdown::Both);
                    let _ = to.shutdown(Shutdown::Both);
                });
            }
            // The listener is dropped here: later connections are refused.
        });
        KillingProxy {
            dead,
            thread: Some(thread),
        }
    }
}

impl Drop for KillingProxy {
    fn drop(&mut self) {
        self.dead.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Both);
}

#[test]
fn registry_killed_mid_push_then_a_retried_push_succeeds() {
    if !have_tool("docker-registry") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let storage = tmp.path().join("storage");
    let registry = Arc::new(Registry::start(RegistryConfig {
        storage: Some(storage.clone()),
        ..RegistryConfig::default()
    }));
    let public_port = free_port();
    // A layer of 8 MiB: the registry dies about 2 MiB into its upload.
    let mut big = vec![0u8; 8 << 20];
    let mut x: u32 = 12345;
    for b in big.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let src = tmp.path().join("src");
    let small = layer_tar(&[("small.txt", b"small\n")]);
    let big = layer_tar(&[("big.bin", &big)]);
    let image = write_image_blobs(&src, "amd64", &[small, big]);
    write_index_json(
        &src,
        "application/vnd.oci.image.manifest.v1+json",
        &image.manifest_digest,
        image.manifest.len(),
        "1.0",
    );
    let host = format!("127.0.0.1:{public_port}");
    let reference = Reference::parse(&format!("{host}/app:1.0")).expect("ref");
    let client = makes_registry::RegistryClient::new(makes_registry::ClientOptions {
        insecure_registries: vec![host.clone()],
        ..options()
    })
    .expect("client");

    let proxy = KillingProxy::start(public_port, registry.clone(), 2 << 20);
    let err = client
        .push(&ImageSource::Layout(src.clone()), &reference)
        .expect_err("the registry died");
    eprintln!("the registry died: {err}");
    drop(proxy);
    assert!(
        matches!(err, RegistryError::Unreachable { tries: 4, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&host) && msg.contains("after 4 tries"),
        "{msg}"
    );

    // The registry comes back on the same address with the same storage: the push is retried
    // and succeeds, skipping what the first attempt completed.
    drop(registry);
    let registry = Registry::start(RegistryConfig {
        storage: Some(storage),
        port: Some(public_port),
        ..RegistryConfig::default()
    });
    let summary = client
        .push(&ImageSource::Layout(src.clone()), &reference)
        .expect("retried push");
    assert_eq!(summary.manifest_digest, image.manifest_digest);
    assert!(summary.uploaded.contains(&image.layers[1].0), "{summary:?}");
    assert!(
        !summary.skipped.is_empty(),
        "the config and small layer were already there: {summary:?}"
    );

    let dest = tmp.path().join("pulled");
    let pulled = client
        .pull(
            &reference,
            Some(&image.manifest_digest),
            &Platform::linux_host(),
            &dest,
        )
        .expect("pull");
    assert_eq!(pulled.layers[1].size, image.layers[1].1);
    assert_only_verified_blobs(&dest);
    drop(registry);
}
