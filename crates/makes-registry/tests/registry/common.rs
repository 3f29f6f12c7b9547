//! Helpers for the registry tests: real `docker-registry` processes on 127.0.0.1 (plain, TLS,
//! htpasswd), certificates made with the `openssl` CLI, and small OCI layouts written here.

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use makes_registry::{ClientOptions, Digest, RegistryClient};
use serde_json::json;

/// Whether `tool` is on PATH; with `MAKES_REQUIRE_TOOLS=1` (as CI sets) a missing tool fails
/// the test instead of skipping it (the convention of tests/e2e/common.rs).
pub fn have_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("MAKES_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{tool} is required (MAKES_REQUIRE_TOOLS=1) but not on PATH");
        }
        eprintln!("note: skipping: {tool} is not installed (scripts/test.sh installs it)");
    }
    found
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} could not start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
pub struct Tls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn make_tls(dir: &Path) -> Tls {
    let p = |n: &str| dir.join(n);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(Command::new("openssl")
        .args(["req", "-x509"])
        .args(ec)
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem"))
        .args(["-days", "2", "-subj", "/CN=makes test CA"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]));
    run(Command::new("openssl")
        .arg("req")
        .args(ec)
        .arg("-keyout")
        .arg(p("server.key"))
        .arg("-out")
        .arg(p("server.csr"))
        .args(["-subj", "/CN=127.0.0.1"]));
    fs::write(
        p("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext.cnf");
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(p("server.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("server.pem"))
        .arg("-extfile")
        .arg(p("ext.cnf")));
    Tls {
        ca: p("ca.pem"),
        cert: p("server.pem"),
        key: p("server.key"),
    }
}

/// How to start a registry.
#[derive(Default)]
pub struct RegistryConfig<'a> {
    /// Reuse a storage directory (to restart a registry on the same data).
    pub storage: Option<PathBuf>,
    pub port: Option<u16>,
    pub tls: Option<&'a Tls>,
    /// `(user, password)` for an htpasswd file.
    pub htpasswd: Option<(&'a str, &'a str)>,
    /// A raw `auth:` section (token authentication).
    pub token_auth: Option<String>,
}

/// A running `docker-registry serve`; killed when dropped.
pub struct Registry {
    child: Mutex<Child>,
    pub port: u16,
    pub storage: PathBuf,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start(config: RegistryConfig<'_>) -> Registry {
        let dir = tempfile::tempdir().expect("tmp");
        let storage = config.storage.unwrap_or_else(|| dir.path().join("storage"));
        fs::create_dir_all(&storage).expect("storage");
        let port = config.port.unwrap_or_else(free_port);
        let mut yml = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: makes-test-secret\n",
            storage.display()
        );
        if let Some(tls) = config.tls {
            yml.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                tls.cert.display(),
                tls.key.display()
            ));
        }
        if let Some((user, pass)) = config.htpasswd {
            let line = run(Command::new("htpasswd").args(["-Bbn", user, pass]));
            let path = dir.path().join("htpasswd");
            fs::write(&path, line.trim()).expect("htpasswd");
            yml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: makes-test\n    path: {}\n",
                path.display()
            ));
        }
        if let Some(section) = config.token_auth {
            yml.push_str(&section);
        }
        let config_path = dir.path().join("config.yml");
        fs::write(&config_path, yml).expect("config.yml");
        let log = dir.path().join("registry.log");
        let out = fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("docker-registry starts");
        let registry = Registry {
            child: Mutex::new(child),
            port,
            storage,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = registry.child.lock().expect("lock").try_wait() {
                panic!(
                    "docker-registry exited with {status}:\n{}",
                    registry.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen:\n{}",
                registry.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many access-log lines contain `needle`.
    pub fn count_in_log(&self, needle: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }

    pub fn kill(&self) {
        let mut child = self.child.lock().expect("lock");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The data file of a blob in the registry's storage.
    pub fn blob_data(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Options for a test client: short backoff so failure tests stay quick.
pub fn options() -> ClientOptions {
    ClientOptions {
        http: makes_registry::HttpOptions {
            retry: makes_registry::RetryPolicy {
                initial_backoff: Duration::from_millis(50),
                ..Default::default()
            },
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(30),
            ..Default::default()
        },
        ..ClientOptions::default()
    }
}

/// A client for which `registry` is insecure (plain HTTP).
pub fn insecure_client(registry: &Registry) -> RegistryClient {
    RegistryClient::new(ClientOptions {
        insecure_registries: vec![registry.host()],
        ..options()
    })
    .expect("client")
}

/// A small image written as an OCI layout.
#[derive(Debug, Clone)]
pub struct TestImage {
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    /// (digest = diff_id, size) of each uncompressed layer.
    pub layers: Vec<(Digest, u64)>,
}

pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

fn put_blob(dir: &Path, bytes: &[u8]) -> Digest {
    let digest = Digest::of(bytes);
    let path = dir.join(digest.layout_path());
    fs::create_dir_all(path.parent().expect("parent")).expect("blobs dir");
    fs::write(path, bytes).expect("blob");
    digest
}

/// A tar holding `files` (deterministic headers).
pub fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1);
        h.set_cksum();
        b.append_data(&mut h, name, *data).expect("append");
    }
    b.into_inner().expect("tar")
}

/// Writes an image of `layers` for `arch` into the layout `dir` (blobs only; see
/// [`write_index_json`]).
pub fn write_image_blobs(dir: &Path, arch: &str, layers: &[Vec<u8>]) -> TestImage {
    let layer_info: Vec<(Digest, u64)> = layers
        .iter()
        .map(|l| (put_blob(dir, l), l.len() as u64))
        .collect();
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": layer_info.iter().map(|(d, _)| d.to_string()).collect::<Vec<_>>()},
        "history": layer_info.iter().map(|_| json!({"created_by": "makes-registry test"})).collect::<Vec<_>>(),
    });
    let config = serde_json::to_vec(&config).expect("json");
    let config_digest = put_blob(dir, &config);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": layer_info.iter().map(|(d, s)| json!({"mediaType": LAYER_TAR, "digest": d.to_string(), "size": s})).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec(&manifest).expect("json");
    let manifest_digest = put_blob(dir, &manifest);
    TestImage {
        manifest,
        manifest_digest,
        config_digest,
        layers: layer_info,
    }
}

pub fn write_index_json(dir: &Path, media_type: &str, digest: &Digest, size: usize, tag: &str) {
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": media_type, "digest": digest.to_string(), "size": size,
            "annotations": {"org.opencontainers.image.ref.name": tag}
        }]
    });
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("json"),
    )
    .expect("index.json");
}

/// A one-platform image layout with two layers, tagged `tag`.
pub fn write_layout(dir: &Path, tag: &str, salt: &str) -> TestImage {
    let l1 = layer_tar(&[("hello.txt", format!("hello {salt}\n").as_bytes())]);
    let l2 = layer_tar(&[("etc/motd", format!("motd {salt}\n").as_bytes())]);
    let image = write_image_blobs(dir, "amd64", &[l1, l2]);
    write_index_json(
        dir,
        "application/vnd.oci.image.manifest.v1+json",
        &image.manifest_digest,
        image.manifest.len(),
        tag,
    );
    image
}

/// Packs a layout directory as makes' archive does: an uncompressed tar of `oci-layout`,
/// `index.json` and `blobs/sha256/*`.
pub fn pack_archive(layout: &Path, out: &Path) {
    let mut b = tar::Builder::new(fs::File::create(out).expect("archive"));
    b.mode(tar::HeaderMode::Deterministic);
    b.append_dir_all(".", layout).expect("pack");
    b.finish().expect("finish");
}

/// Every file under `dir`, relative, sorted.
pub fn list_files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).expect("readable").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .expect("under root")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// Asserts that `dir` holds no temporary file and that every blob hashes to its name.
pub fn assert_only_verified_blobs(dir: &Path) {
    for f in list_files(dir) {
        let name = f.rsplit('/').next().expect("name");
        assert!(!name.starts_with(".tmp"), "temporary file left: {f}");
        if let Some(hex) = f.strip_prefix("blobs/sha256/") {
            let mut bytes = Vec::new();
            fs::File::open(dir.join(&f))
                .and_then(|mut file| file.read_to_end(&mut bytes))
                .expect("read blob");
            assert_eq!(
                Digest::of(&bytes).hex(),
                hex,
                "blob {f} does not hash to its name"
            );
        }
    }
}
