//! The sandbox's `chown` fallback, forced with the test knob `MAKES_SANDBOX_NO_IDMAP=1`: where
//! idmapped mounts are unavailable, makes (as root) shifts the owners of a fake root's tree on
//! disk before the script and back after it. `fakeRootCommands` and `runAsRoot` that
//! `chown 1000:1000` must give the layer those owners, exactly as with idmapped mounts, and
//! leave nothing outside the scratch root changed and no file owned by a sandbox host id. As
//! an unprivileged user a fake root has one id (0, the caller), so its scripts `chown 0:0`
//! there; the knob must change nothing.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{assert_success, have_tool, running_as_root, write_project, RunAs, Sandbox};

/// The lowest host id the sandbox hands out: nothing may keep it after a build.
const FIRST_SANDBOX_HOST_ID: u32 = 872_415_232;

/// The project; `OWNER` is replaced by the ids the scripts chown to.
const PROJECT: &str = r#"{ makeContainerImage, makeDerivation, ... }:
let
  tools = makeDerivation {
    name = "tools";
    builder = ''
      mkdir -p $out/bin
      cp ${/bin/busybox} $out/bin/busybox
    '';
  };
in {
  jobs."/layered" = makeContainerImage {
    layers = [ tools ];
    fakeRootCommands = ''
      mkdir data
      echo fake > data/owned
      chown OWNER data data/owned
      (grep -c idmapped /proc/self/mountinfo || true) > idmapped-fakeroot
    '';
  };
  jobs."/single" = makeContainerImage {
    layered = false;
    copyToRoot = [ tools ];
    runAsRoot = ''
      #!${tools}/bin/busybox sh
      ${tools}/bin/busybox mkdir /srv
      echo root > /srv/owned
      ${tools}/bin/busybox chown OWNER /srv /srv/owned
      (${tools}/bin/busybox grep -c idmapped /proc/self/mountinfo || true) > /idmapped-runasroot
    '';
  };
}
"#;

/// Runs makes, with the fallback forced when `no_idmap`, as the test's user or as nobody.
fn makes(sandbox: &Sandbox, nobody: bool, no_idmap: bool, args: &[&str]) -> Output {
    let who = if nobody {
        RunAs::Nobody
    } else {
        RunAs::TestUser
    };
    let mut cmd = sandbox.makes_in(who, &sandbox.cache(), Some(&sandbox.store()));
    cmd.args(args);
    if no_idmap {
        cmd.env("MAKES_SANDBOX_NO_IDMAP", "1");
    }
    cmd.output().expect("makes runs")
}

/// Path, uid, gid and contents of every regular file and directory in the archive's layers
/// (the last layer wins).
fn layer_entries(archive: &Path) -> BTreeMap<String, (u64, u64, Vec<u8>)> {
    let mut found = BTreeMap::new();
    let mut outer = tar::Archive::new(std::fs::File::open(archive).expect("archive"));
    for e in outer.entries().expect("entries") {
        let mut e = e.expect("entry");
        let path = e.path().expect("path").to_string_lossy().into_owned();
        if !path.starts_with("blobs/sha256/") {
            continue;
        }
        let mut blob = Vec::new();
        e.read_to_end(&mut blob).expect("read");
        if !blob.starts_with(&[0x1f, 0x8b]) {
            continue;
        }
        let mut layer = tar::Archive::new(flate2::read::MultiGzDecoder::new(&blob[..]));
        for entry in layer.entries().expect("layer entries") {
            let mut entry = entry.expect("entry");
            let name = entry.path().expect("path").to_string_lossy().into_owned();
            let header = entry.header();
            let (uid, gid) = (header.uid().expect("uid"), header.gid().expect("gid"));
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("data");
            let name = name
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_owned();
            found.insert(name, (uid, gid, data));
        }
    }
    found
}

/// Every file under `dir` owned by a sandbox host id.
fn owned_by_sandbox_ids(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.uid() >= FIRST_SANDBOX_HOST_ID || meta.gid() >= FIRST_SANDBOX_HOST_ID {
            found.push(path.clone());
        }
        if meta.is_dir() {
            for e in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                stack.push(e.path());
            }
        }
    }
    found
}

/// A snapshot (owner, mode, mtime) of every file under `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u32, u32, u32, i64, i64)> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        found.insert(
            path.clone(),
            (
                meta.uid(),
                meta.gid(),
                meta.mode(),
                meta.mtime(),
                meta.mtime_nsec(),
            ),
        );
        if meta.is_dir() {
            for e in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                stack.push(e.path());
            }
        }
    }
    found
}

type Entries = BTreeMap<String, (u64, u64, Vec<u8>)>;

/// Builds both images in a fresh store (as nobody or not, with the fallback forced or not),
/// checking that nothing outside the scratch root changed; returns the layers' entries.
fn build_images(nobody: bool, no_idmap: bool, owner: &str) -> (Entries, Entries) {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    write_project(&project, &PROJECT.replace("OWNER", owner));
    let project_arg = project.to_string_lossy().into_owned();
    let layered_out = makes(
        &sandbox,
        nobody,
        no_idmap,
        &["--project", &project_arg, "/layered"],
    );
    assert_success(&layered_out);
    // The store's paths as they are before the image whose root script runs on them.
    let store_dir = sandbox.store().join("store");
    let mut store_before = snapshot(&store_dir);
    store_before.remove(&store_dir);
    let project_before = snapshot(&project);
    let single_out = makes(
        &sandbox,
        nobody,
        no_idmap,
        &["--project", &project_arg, "/single"],
    );
    assert_success(&single_out);
    // Nothing outside the scratch root changed: the store's existing paths and the project
    // are as they were, and no file anywhere keeps a sandbox host id.
    let store_after = snapshot(&store_dir);
    for (path, before) in &store_before {
        assert_eq!(store_after.get(path), Some(before), "{}", path.display());
    }
    assert_eq!(snapshot(&project), project_before);
    assert_eq!(
        owned_by_sandbox_ids(sandbox.dir.path()),
        Vec::<PathBuf>::new()
    );
    let entries =
        |out: &Output| layer_entries(Path::new(String::from_utf8_lossy(&out.stdout).trim_end()));
    (entries(&layered_out), entries(&single_out))
}

/// The entries but the idmapped-mount probes.
fn without_probes(entries: &Entries) -> Entries {
    entries
        .iter()
        .filter(|(name, _)| !name.starts_with("idmapped-"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn owners(entries: &Entries, name: &str) -> (u64, u64) {
    let (uid, gid, _) = &entries[name];
    (*uid, *gid)
}

fn chown_fallback_builds(nobody: bool) {
    let (owner, ids) = if nobody {
        ("0:0", (0, 0))
    } else {
        ("1000:1000", (1000, 1000))
    };
    let (layered, single) = build_images(nobody, true, owner);
    // No idmapped mount was used: the fallback ran.
    assert_eq!(layered["idmapped-fakeroot"].2, b"0\n");
    assert_eq!(single["idmapped-runasroot"].2, b"0\n");
    // The fake root's chown is what the layer holds; what it did not chown is root's.
    assert_eq!(owners(&layered, "data"), ids);
    assert_eq!(owners(&layered, "data/owned"), ids);
    assert_eq!(layered["data/owned"].2, b"fake\n");
    assert_eq!(owners(&layered, "idmapped-fakeroot"), (0, 0));
    assert_eq!(owners(&single, "srv"), ids);
    assert_eq!(owners(&single, "srv/owned"), ids);
    assert_eq!(owners(&single, "idmapped-runasroot"), (0, 0));
    // The same layers as without the knob (idmapped mounts where the kernel has them).
    let (layered_idmap, single_idmap) = build_images(nobody, false, owner);
    assert_eq!(without_probes(&layered), without_probes(&layered_idmap));
    assert_eq!(without_probes(&single), without_probes(&single_idmap));
    if !nobody && layered_idmap["idmapped-fakeroot"].2 == b"0\n" {
        eprintln!("note: this kernel gave no idmapped mount: both builds took the fallback");
    }
}

#[test]
fn the_chown_fallback_gives_the_layers_the_fake_roots_owners() {
    if !have_tool("busybox") {
        return;
    }
    chown_fallback_builds(false);
}

#[test]
fn the_chown_fallback_as_an_unprivileged_user() {
    if !running_as_root() || !have_tool("setpriv") || !have_tool("busybox") {
        eprintln!("note: skipping: needs root to switch to an unprivileged user");
        return;
    }
    chown_fallback_builds(true);
}
