//! Helpers shared by the end-to-end tests: an isolated environment per test, and the tools.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("fixtures").join(name)
}

/// Who a run of makes is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAs {
    /// The user running the tests.
    TestUser,
    /// The unprivileged user 65534, switched to through `setpriv` (the caller must be root).
    Nobody,
}

/// A private cache and store, so that tests never share state or touch the user's.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// `makes ARGS` with this sandbox's cache and store and a clean environment.
    pub fn makes(&self) -> Command {
        self.makes_in(RunAs::TestUser, &self.cache(), Some(&self.store()))
    }

    /// `makes ARGS` as the unprivileged user 65534 with this sandbox's cache (and the store
    /// makes keeps there) and a clean environment.
    pub fn makes_as_nobody(&self) -> Command {
        self.makes_in(RunAs::Nobody, &self.cache(), None)
    }

    /// `makes ARGS` as `who`, with a clean environment whose `HOME` is the sandbox's
    /// directory, `cache` the cache and `store` the store (`None`: makes' default, in the
    /// cache). For [`RunAs::Nobody`] the sandbox's directory is opened to everyone so that
    /// the user can write there.
    pub fn makes_in(&self, who: RunAs, cache: &Path, store: Option<&Path>) -> Command {
        let mut cmd = match who {
            RunAs::TestUser => Command::new(env!("CARGO_BIN_EXE_makes")),
            RunAs::Nobody => {
                let mut perms = std::fs::metadata(self.dir.path())
                    .expect("the sandbox exists")
                    .permissions();
                std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o777);
                std::fs::set_permissions(self.dir.path(), perms).expect("chmod the sandbox");
                let mut cmd = Command::new("setpriv");
                cmd.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
                    .arg(env!("CARGO_BIN_EXE_makes"));
                cmd
            }
        };
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CACHE_HOME", cache);
        if let Some(store) = store {
            cmd.env("MAKES_STORE_DIR", store);
        }
        cmd
    }

    /// Builds `job` of `project` as the unprivileged user 65534 (see
    /// [`Sandbox::makes_as_nobody`]) and returns the printed result path.
    pub fn build_as_nobody(&self, project: &Path, job: &str) -> PathBuf {
        let out = self
            .makes_as_nobody()
            .arg("--project")
            .arg(project)
            .arg(job)
            .output()
            .expect("setpriv runs");
        assert_success(&out);
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }

    /// Builds `job` of `project` and returns the printed result path.
    pub fn build(&self, project: &Path, job: &str) -> PathBuf {
        let out = self
            .makes()
            .arg("--project")
            .arg(project)
            .arg(job)
            .output()
            .expect("makes runs");
        assert_success(&out);
        let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "stdout must hold the result path alone: {stdout:?}"
        );
        let path = PathBuf::from(lines[0]);
        assert!(
            path.is_absolute() && path.is_file(),
            "{path:?} is an existing absolute path"
        );
        path
    }
}

impl Sandbox {
    /// Builds `job` of `project`, whose result is a directory, without running its action;
    /// returns its printed path.
    pub fn build_dir(&self, project: &Path, job: &str) -> PathBuf {
        let out = self
            .makes()
            .arg("--no-run")
            .arg("--project")
            .arg(project)
            .arg(job)
            .output()
            .expect("makes runs");
        assert_success(&out);
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end());
        assert!(path.is_dir(), "{path:?} is a directory");
        path
    }
}

pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "command failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `tool` is on PATH. When it is not, a test that needs it fails if the test script
/// asked for all tools (MAKES_REQUIRE_TOOLS=1, as CI does) and is skipped with a note otherwise.
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

/// Whether the tests run as root (some need to chown to other users or write /nix/store).
pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} could not start: {e}"));
    assert_success(&out);
    out
}

pub fn write_project(dir: &Path, makes_nix: &str) {
    std::fs::create_dir_all(dir).expect("project dir");
    std::fs::write(dir.join("makes.nix"), makes_nix).expect("write makes.nix");
}

/// Copies a directory tree (files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Copies the image at the skopeo reference `source` into a layout, unpacks it with umoci
/// and runs it with runc; returns stdout. `name` keeps the directories of two runs apart.
pub fn run_image(sandbox: &Sandbox, source: &str, name: &str) -> String {
    let layout = sandbox.dir.path().join(format!("layout-{name}"));
    let bundle = sandbox.dir.path().join(format!("bundle-{name}"));
    run(Command::new("skopeo")
        .arg("copy")
        .arg(source)
        .arg(format!("oci:{}:x", layout.display())));
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:x", layout.display()))
        .arg(&bundle));
    let config_path = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).expect("config")).expect("json");
    config["process"]["terminal"] = serde_json::Value::Bool(false);
    if let Some(linux) = config["linux"].as_object_mut() {
        linux.remove("resources");
    }
    std::fs::write(&config_path, serde_json::to_vec(&config).expect("json")).expect("write");
    let id = format!(
        "makes-e2e-{name}-{}",
        sandbox
            .dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().trim_start_matches('.').to_owned())
            .unwrap_or_default()
    );
    let out = Command::new("runc")
        .arg("run")
        .arg("--bundle")
        .arg(&bundle)
        .arg(&id)
        .output()
        .expect("runc");
    let _ = Command::new("runc")
        .args(["delete", "--force", &id])
        .output();
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An image archive's gzip layers, bottom first: `(layer digest, store path base names in it)`.
pub fn layer_store_paths(archive: &Path) -> Vec<(String, BTreeSet<String>)> {
    let check = makes_oci::fsck_archive(archive).expect("fsck accepts the archive");
    let mut files = BTreeMap::new();
    let mut tar = tar::Archive::new(std::fs::File::open(archive).expect("open"));
    for e in tar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = e.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read");
        files.insert(name, data);
    }
    check
        .layers
        .iter()
        .map(|(digest, _)| {
            let blob = &files[&format!("blobs/sha256/{}", digest.hex())];
            let mut paths = BTreeSet::new();
            let mut layer = tar::Archive::new(flate2::read::MultiGzDecoder::new(&blob[..]));
            for e in layer.entries().expect("entries") {
                let e = e.expect("entry");
                let p = e.path().expect("path").to_string_lossy().into_owned();
                let parts: Vec<&str> = p.trim_end_matches('/').split('/').collect();
                if parts.len() == 3 && parts[..2] == ["nix", "store"] {
                    paths.insert(parts[2].to_string());
                }
            }
            (digest.to_string(), paths)
        })
        .collect()
}

/// A stand-in for nixpkgs whose bash and coreutils are the host's, for makeScript (whose
/// scripts run on the host), with a CA bundle and a `glow` that prints the file it is given.
const HOST_TOOLS_NIXPKGS: &str = r#"{ system ? builtins.currentSystem, config ? { }, overlays ? [ ], ... }:
let
  mk = name: script: derivation {
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" script ];
    PATH = "/usr/bin:/bin";
  };
in {
  bash = mk "bash-host" "mkdir -p $out/bin; cp /bin/bash $out/bin/bash";
  coreutils = mk "coreutils-host" "mkdir -p $out/bin; for t in cat echo mkdir mktemp rm ls; do cp $(command -v $t) $out/bin/; done";
  cacert = mk "nss-cacert-host" "mkdir -p $out/etc/ssl/certs; echo host CA bundle > $out/etc/ssl/certs/ca-bundle.crt";
  less = mk "less-host" "mkdir -p $out/bin";
  glow = mk "glow-host" "mkdir -p $out/bin; printf '#!/bin/sh\\nfor f; do last=$f; done\\nexec cat \"$last\"\\n' > $out/bin/glow; chmod +x $out/bin/glow";
}
"#;

/// Writes the host-tools stand-in for nixpkgs into the sandbox; returns its directory.
pub fn host_tools_nixpkgs(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.path().join("host-tools-nixpkgs");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("default.nix"), HOST_TOOLS_NIXPKGS).expect("write");
    dir
}
