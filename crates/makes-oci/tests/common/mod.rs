//! A small fake store and helpers shared by the integration tests: two store paths, `hello`
//! (a `#!/bin/sh` script in `bin/`) referring to `greeting` (a data file), laid out in a temp
//! directory as a store outside `/nix/store` would be.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use makes_spec::{Created, ImageSpec};
use makes_store::{PathInfo, StorePath};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

pub const HELLO_HASH: &str = "0c6kzph7l0dcbfmjap64f0czdafn3b7x";
pub const GREETING_HASH: &str = "1ffsr7q9nrx4ws0x3l1nh0pl2g3mdvf5";

pub fn hello() -> StorePath {
    StorePath {
        hash: HELLO_HASH.into(),
        name: "hello-1.0".into(),
    }
}

pub fn greeting() -> StorePath {
    StorePath {
        hash: GREETING_HASH.into(),
        name: "greeting".into(),
    }
}

/// Writes the fake store into `store` (one directory per store path, named by base name) and
/// returns its closure.
pub fn make_store(store: &Path) -> Vec<PathInfo> {
    let g = store.join(greeting().base_name());
    fs::create_dir_all(g.join("share")).expect("mkdir");
    fs::write(g.join("share/greeting"), "hello from makes\n").expect("write");
    let h = store.join(hello().base_name());
    fs::create_dir_all(h.join("bin")).expect("mkdir");
    let script = format!(
        "#!/bin/sh\ncat {}/share/greeting\n",
        greeting().to_absolute()
    );
    fs::write(h.join("bin/hello"), script).expect("write");
    fs::set_permissions(h.join("bin/hello"), fs::Permissions::from_mode(0o755)).expect("chmod");
    // A name longer than 100 bytes, to exercise PAX headers end to end.
    let long = h.join("share").join("l".repeat(110));
    fs::create_dir_all(&long).expect("mkdir");
    fs::write(long.join("file"), "long\n").expect("write");
    std::os::unix::fs::symlink("hello", h.join("bin/hi")).expect("symlink");
    vec![
        PathInfo {
            path: hello(),
            references: vec![greeting(), hello()],
            nar_size: 400,
            nar_hash: String::new(),
        },
        PathInfo {
            path: greeting(),
            references: vec![],
            nar_size: 200,
            nar_hash: String::new(),
        },
    ]
}

pub fn spec(layered: bool) -> ImageSpec {
    let mut config = BTreeMap::new();
    config.insert("Cmd".to_string(), json!(["/bin/hello"]));
    config.insert("Env".to_string(), json!(["GREETING=1", "PATH=/bin"]));
    config.insert("WorkingDir".to_string(), json!("/"));
    config.insert("ExposedPorts".to_string(), json!({"8080/tcp": {}}));
    config.insert(
        "Labels".to_string(),
        json!({"org.opencontainers.image.description": "makes test image"}),
    );
    ImageSpec {
        name: "makes-test".into(),
        tag: "1.0.0".into(),
        created: Created::At("2026-01-19T10:30:00Z".into()),
        layered,
        contents: vec![hello()],
        config,
        extra_commands: "mkdir -p tmp\nchmod 1777 tmp\nmkdir -p etc\necho 'root:x:0:0::/:/bin/sh' > etc/passwd\n".into(),
        architecture: "amd64".into(),
        ..ImageSpec::default()
    }
}

/// Whether `tool` can be run; prints a skip message when not.
pub fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty());
    if !ok {
        // scripts/test.sh (and so CI) installs every tool and asks for them all.
        assert!(
            std::env::var("MAKES_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{tool} is required (MAKES_REQUIRE_TOOLS=1) but cannot be run"
        );
        eprintln!("SKIP: {tool} is not installed; the checks that need it did not run");
    }
    ok
}

/// Runs a command, panicking with its output when it fails; returns stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The files of the outer archive, by name (directories omitted).
pub fn read_archive(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut ar = tar::Archive::new(fs::File::open(path).expect("open archive"));
    let mut files = BTreeMap::new();
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = e.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read");
        assert!(files.insert(name.clone(), data).is_none(), "{name} twice");
    }
    files
}

pub fn blob<'a>(files: &'a BTreeMap<String, Vec<u8>>, digest: &str) -> &'a [u8] {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    files
        .get(&format!("blobs/sha256/{hex}"))
        .unwrap_or_else(|| panic!("blob {digest} missing"))
}

pub fn decompress(media_type: &str, data: &[u8]) -> Vec<u8> {
    if media_type.ends_with("+gzip") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    } else {
        assert!(media_type.ends_with(".tar"), "{media_type}");
        data.to_vec()
    }
}

pub fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid json")
}

pub fn real_path_in(store: &Path) -> impl Fn(&StorePath) -> PathBuf + '_ {
    move |p: &StorePath| store.join(p.base_name())
}
