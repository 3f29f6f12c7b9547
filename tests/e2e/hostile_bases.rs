//! Hostile base images (`fromImage`), made by hand in each test: a first layer with symlinks
//! out of the image root (`evil -> <a victim directory on the host>`, `rel -> ../../..`), and a
//! second layer that tries to delete, replace or link host files through them (whiteouts, an
//! opaque marker, a whiteout named `..`, a file over a directory, a hard link, a `../..`
//! path). A `runAsRoot` image built on each either succeeds with the victims untouched or fails
//! with a clear error, as root and as an unprivileged user; nothing outside the store changes.
//! Tampered archives (blob bytes, diff_id, size) are refused, naming the layer, and leave no
//! image.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};
use tar::EntryType;

use crate::common::{running_as_root, write_project, RunAs, Sandbox};

fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// A layer tar of (raw path, type, data or link target); names are written raw, as a hostile
/// tool writes them (the `tar` builder would refuse `..`).
fn layer_tar(entries: &[(String, EntryType, String)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(*kind);
        header.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
        header.set_mtime(1);
        header.set_uid(0);
        header.set_gid(0);
        let body: &[u8] = if *kind == EntryType::Regular {
            data.as_bytes()
        } else {
            b""
        };
        header.set_size(body.len() as u64);
        header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        if matches!(kind, EntryType::Symlink | EntryType::Link) {
            header.as_old_mut().linkname[..data.len()].copy_from_slice(data.as_bytes());
        }
        header.set_cksum();
        builder.append(&header, body).expect("append");
    }
    builder.into_inner().expect("tar")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

/// An image archive file: (name, bytes) in a tar.
fn archive_of(files: Vec<(String, Vec<u8>)>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .expect("append");
    }
    builder.into_inner().expect("tar")
}

/// What to spoil in an OCI archive.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Spoil {
    Nothing,
    BlobBytes,
    DiffId,
    Size,
}

/// An OCI archive (`index.json`, `blobs/sha256/`) of gzip layers made from `tars`.
fn oci_archive(tars: &[Vec<u8>], spoil: Spoil) -> Vec<u8> {
    let mut files = Vec::new();
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for (i, tar) in tars.iter().enumerate() {
        let mut blob = gzip(tar);
        let digest = sha256(&blob);
        let mut size = blob.len();
        let mut diff_id = sha256(tar);
        if i == tars.len() - 1 {
            match spoil {
                Spoil::BlobBytes => {
                    let at = blob.len() / 2;
                    blob[at] ^= 0x55;
                }
                Spoil::DiffId => diff_id = sha256(b"something else"),
                Spoil::Size => size += 7,
                Spoil::Nothing => {}
            }
        }
        descs.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": digest, "size": size,
        }));
        diff_ids.push(diff_id);
        files.push((format!("blobs/sha256/{}", &digest[7..]), blob));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": { "Env": ["PATH=/bin"] },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    }))
    .expect("json");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": sha256(&config), "size": config.len() },
        "layers": descs,
    }))
    .expect("json");
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{ "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": sha256(&manifest), "size": manifest.len() }],
    }))
    .expect("json");
    files.push((format!("blobs/sha256/{}", &sha256(&config)[7..]), config));
    files.push((
        format!("blobs/sha256/{}", &sha256(&manifest)[7..]),
        manifest,
    ));
    files.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    files.push(("index.json".into(), index));
    archive_of(files)
}

/// A docker archive (`manifest.json`, `<n>/layer.tar`) of uncompressed layers.
fn docker_archive(tars: &[Vec<u8>]) -> Vec<u8> {
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": { "Env": ["PATH=/bin"] },
        "rootfs": { "type": "layers",
                    "diff_ids": tars.iter().map(|t| sha256(t)).collect::<Vec<_>>() },
    }))
    .expect("json");
    let mut files = vec![("config.json".to_owned(), config)];
    let mut names = Vec::new();
    for (i, tar) in tars.iter().enumerate() {
        names.push(format!("{i}/layer.tar"));
        files.push((format!("{i}/layer.tar"), tar.clone()));
    }
    let manifest = serde_json::to_vec(&serde_json::json!([
        { "Config": "config.json", "RepoTags": ["hostile:1"], "Layers": names }
    ]))
    .expect("json");
    files.push(("manifest.json".into(), manifest));
    archive_of(files)
}

const PROJECT: &str = r#"{ makeContainerImage, makeDerivation, ... }:
let
  busybox = makeDerivation {
    name = "busybox";
    builder = "mkdir -p $out/bin; cp ${/bin/busybox} $out/bin/busybox";
  };
in {
  jobs."/derived" = makeContainerImage {
    layered = false;
    name = "hostile-image";
    fromImage = ./base.tar;
    runAsRoot = ''
      #!${busybox}/bin/busybox sh
      ${busybox}/bin/busybox touch /made-by-run-as-root
    '';
  };
}
"#;

/// Every file and directory under `dir` outside the store and caches, with what identifies its
/// state (size, mode, mtime, links, sha256 of the bytes of files).
fn host_state(dir: &Path) -> BTreeMap<PathBuf, (u64, u32, i64, i64, u64, String)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if d == dir && name.is_some_and(|n| n.starts_with("store") || n.starts_with("cache")) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            let bytes = if meta.is_file() {
                sha256(&std::fs::read(&path).expect("read"))
            } else {
                String::new()
            };
            out.insert(
                path.clone(),
                (
                    meta.len(),
                    meta.mode(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                    meta.nlink(),
                    bytes,
                ),
            );
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

/// A test directory open to every user, with a victim directory planted in it.
struct Scene {
    sandbox: Sandbox,
    victim: PathBuf,
}

impl Scene {
    fn new() -> Scene {
        let sandbox = Sandbox::new();
        std::fs::set_permissions(sandbox.dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let victim = sandbox.dir.path().join("victim");
        std::fs::create_dir_all(victim.join("sub")).expect("victim");
        std::fs::write(victim.join("file"), "precious").expect("victim file");
        std::fs::write(victim.join("sub/inner"), "precious too").expect("victim file");
        Scene { sandbox, victim }
    }

    /// The first layer: symlinks out of the root, absolute and relative.
    fn first_layer(&self) -> Vec<u8> {
        layer_tar(&[
            ("etc/".into(), EntryType::Directory, String::new()),
            (
                "evil".into(),
                EntryType::Symlink,
                self.victim.display().to_string(),
            ),
            (
                "rel".into(),
                EntryType::Symlink,
                "../../../../../../../../../../../..".into(),
            ),
        ])
    }

    /// Writes the project with `archive` as its `base.tar`; returns the project directory.
    fn project(&self, name: &str, archive: &[u8]) -> PathBuf {
        let project = self.sandbox.dir.path().join(name);
        write_project(&project, PROJECT);
        std::fs::write(project.join("base.tar"), archive).expect("base.tar");
        project
    }

    /// Builds `/derived` of `project`, as root or as user 65534 (with its own store).
    fn build(&self, project: &Path, unprivileged: bool) -> Output {
        if !unprivileged {
            return self
                .sandbox
                .makes()
                .arg("--project")
                .arg(project)
                .arg("/derived")
                .output()
                .expect("makes runs");
        }
        let dir = self.sandbox.dir.path();
        self.sandbox
            .makes_in(
                RunAs::Nobody,
                &dir.join("cache-nobody"),
                Some(&dir.join("store-nobody")),
            )
            .arg("--project")
            .arg(project)
            .arg("/derived")
            .output()
            .expect("setpriv runs")
    }

    /// The image outputs in the store.
    fn images(&self, unprivileged: bool) -> Vec<String> {
        let store = if unprivileged {
            self.sandbox.dir.path().join("store-nobody")
        } else {
            self.sandbox.store()
        };
        let mut names: Vec<String> = std::fs::read_dir(store.join("store"))
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains("hostile-image"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn out_link(&self, unprivileged: bool) -> PathBuf {
        let cache = if unprivileged {
            self.sandbox.dir.path().join("cache-nobody")
        } else {
            self.sandbox.cache()
        };
        cache.join("makes/out-derived")
    }
}

/// A hostile second layer: its name, entries, and the error expected (`None`: success).
type HostileCase = (
    &'static str,
    Vec<(String, EntryType, String)>,
    Option<&'static str>,
);

/// The hostile second layers: success must leave the victims untouched, an error must say why.
fn hostile_cases(victim: &Path) -> Vec<HostileCase> {
    let reg = EntryType::Regular;
    let victim_rel = victim
        .display()
        .to_string()
        .trim_start_matches('/')
        .to_owned();
    vec![
        (
            "whiteout of a victim file",
            vec![("evil/.wh.file".into(), reg, String::new())],
            None,
        ),
        (
            "whiteout through the relative symlink",
            vec![(format!("rel/{victim_rel}/.wh.sub"), reg, String::new())],
            None,
        ),
        (
            "opaque marker",
            vec![("evil/.wh..wh..opq".into(), reg, String::new())],
            None,
        ),
        (
            "whiteout named ..",
            vec![("evil/.wh...".into(), reg, String::new())],
            Some("invalid whiteout name"),
        ),
        (
            "file over a victim directory",
            vec![
                ("evil/sub".into(), reg, "replaced".into()),
                (format!("rel/{victim_rel}/sub"), reg, "replaced".into()),
            ],
            None,
        ),
        (
            "hard link to a victim file",
            vec![("stolen".into(), EntryType::Link, "evil/file".into())],
            Some("hard link to evil/file"),
        ),
        (
            "dot-dot path",
            vec![("../../victim/file".into(), reg, "clobbered".into())],
            None,
        ),
    ]
}

fn check_hostile_bases(docker: bool, unprivileged: bool) {
    if unprivileged && (!running_as_root() || !crate::common::have_tool("setpriv")) {
        eprintln!("note: skipping: needs root to switch to an unprivileged user");
        return;
    }
    let scene = Scene::new();
    for (i, (case, second, expected_error)) in hostile_cases(&scene.victim).into_iter().enumerate()
    {
        let tars = [scene.first_layer(), layer_tar(&second)];
        let archive = if docker {
            docker_archive(&tars)
        } else {
            oci_archive(&tars, Spoil::Nothing)
        };
        let project = scene.project(&format!("case-{i}"), &archive);
        let before = host_state(scene.sandbox.dir.path());
        let link_before = std::fs::read_link(scene.out_link(unprivileged)).ok();
        let images_before = scene.images(unprivileged);
        let out = scene.build(&project, unprivileged);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            host_state(scene.sandbox.dir.path()),
            before,
            "{case}: nothing outside the store changes\n{stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(scene.victim.join("file")).expect("victim"),
            "precious",
            "{case}"
        );
        match expected_error {
            None => {
                assert!(out.status.success(), "{case}: {stderr}");
                let result = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
                assert!(result.is_file(), "{case}: {result:?}");
            }
            Some(message) => {
                assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
                assert!(stderr.contains(message), "{case}: {stderr}");
                assert!(
                    stderr.contains("base.tar"),
                    "{case}: names the base: {stderr}"
                );
                assert!(
                    stderr.contains("layer sha256:"),
                    "{case}: names the layer: {stderr}"
                );
                assert_eq!(
                    std::fs::read_link(scene.out_link(unprivileged)).ok(),
                    link_before,
                    "{case}: no new image"
                );
                assert_eq!(
                    scene.images(unprivileged),
                    images_before,
                    "{case}: no new image"
                );
            }
        }
    }
}

#[test]
fn hostile_oci_bases_stay_inside_the_image_root() {
    check_hostile_bases(false, false);
}

#[test]
fn hostile_docker_bases_stay_inside_the_image_root() {
    check_hostile_bases(true, false);
}

#[test]
fn hostile_bases_stay_inside_the_image_root_for_an_unprivileged_user() {
    check_hostile_bases(false, true);
    check_hostile_bases(true, true);
}

#[test]
fn tampered_local_archives_are_refused_naming_the_layer() {
    let scene = Scene::new();
    let honest = layer_tar(&[("etc/".into(), EntryType::Directory, String::new())]);
    let cases = [
        (
            "blob bytes",
            oci_archive(std::slice::from_ref(&honest), Spoil::BlobBytes),
            "has digest sha256:",
        ),
        (
            "diff_id",
            oci_archive(std::slice::from_ref(&honest), Spoil::DiffId),
            "has diff_id sha256:",
        ),
        (
            "size",
            oci_archive(std::slice::from_ref(&honest), Spoil::Size),
            "has size",
        ),
    ];
    for (i, (case, archive, message)) in cases.into_iter().enumerate() {
        let project = scene.project(&format!("tampered-{i}"), &archive);
        let out = scene.build(&project, false);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
        assert!(stderr.contains(message), "{case}: {stderr}");
        assert!(stderr.contains("layer blobs/sha256/"), "{case}: {stderr}");
        assert!(stderr.contains("expected"), "{case}: {stderr}");
        assert!(!scene.out_link(false).exists(), "{case}: no image");
        assert!(scene.images(false).is_empty(), "{case}: no image");
    }
}

/// The project building `/derived` on `imageName@imageDigest` pulled from a registry.
fn pulled_project(image: &str, digest: &str) -> String {
    PROJECT
        .replace(
            "fromImage = ./base.tar;",
            &format!(
                r#"fromImage = inputs.nixpkgs.dockerTools.pullImage {{
      imageName = "{image}";
      imageDigest = "{digest}";
      sha256 = "0000000000000000000000000000000000000000000000000000";
      finalImageTag = "1";
      tlsVerify = false;
    }};"#
            ),
        )
        .replace(
            "{ makeContainerImage, makeDerivation, ... }:",
            "{ inputs, makeContainerImage, makeDerivation, ... }:",
        )
}

#[test]
fn hostile_bases_pulled_by_digest_stay_inside_the_image_root() {
    if !["docker-registry", "skopeo"]
        .iter()
        .all(|t| crate::common::have_tool(t))
    {
        return;
    }
    let registry = crate::registry_harness::Registry::start(
        crate::registry_harness::RegistryConfig::default(),
    );
    let scene = Scene::new();
    let cases = hostile_cases(&scene.victim);
    let chosen = [
        "whiteout of a victim file",
        "opaque marker",
        "whiteout named ..",
    ];
    for (i, (case, second, expected_error)) in cases
        .into_iter()
        .filter(|(case, ..)| chosen.contains(case))
        .enumerate()
    {
        let archive = oci_archive(&[scene.first_layer(), layer_tar(&second)], Spoil::Nothing);
        let file = scene.sandbox.dir.path().join(format!("pushed-{i}.tar"));
        std::fs::write(&file, archive).expect("archive");
        let image = format!("{}/hostile-{i}", registry.host());
        let digest_file = scene.sandbox.dir.path().join(format!("digest-{i}"));
        crate::common::run(
            Command::new("skopeo")
                .args(["copy", "--dest-tls-verify=false", "--digestfile"])
                .arg(&digest_file)
                .arg(format!("oci-archive:{}", file.display()))
                .arg(format!("docker://{image}:1")),
        );
        let digest = std::fs::read_to_string(&digest_file).expect("digest");
        let project = scene.sandbox.dir.path().join(format!("pulled-{i}"));
        write_project(&project, &pulled_project(&image, digest.trim()));
        let before = host_state(scene.sandbox.dir.path());
        let out = scene.build(&project, false);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            host_state(scene.sandbox.dir.path()),
            before,
            "{case}: nothing outside the store changes\n{stderr}"
        );
        match expected_error {
            None => assert!(out.status.success(), "{case}: {stderr}"),
            Some(message) => {
                assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
                assert!(stderr.contains(message), "{case}: {stderr}");
                assert!(stderr.contains("layer sha256:"), "{case}: {stderr}");
            }
        }
    }
}
