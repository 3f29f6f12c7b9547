//! makes-store against the real Nix: NARs, NAR hashes and source store paths recorded from
//! Nix 2.8 by `tests/oracle/regenerate.sh` (which builds the same fixture as
//! [`make_fixture`]). Runs without Nix installed.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use makes_store::{nar_hash_and_size, nixbase32, source_store_path, write_nar, LocalStore};

const ORACLE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle");

/// Builds the fixture under `dir`; a mirror of the fixture section of regenerate.sh.
fn make_fixture(dir: &Path) {
    let t = dir.join("tree");
    let file = |rel: &str, contents: &[u8], mode: u32| {
        let p = t.join(rel);
        fs::write(&p, contents).expect("write fixture file");
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod fixture file");
    };
    fs::create_dir_all(t.join("emptydir")).expect("mkdir");
    fs::create_dir_all(t.join("sub/nested")).expect("mkdir");
    file("a.txt", b"hello\n", 0o644);
    file("a-b", b"dash\n", 0o644);
    file("empty", b"", 0o644);
    file("run.sh", b"#!/bin/sh\necho hi\n", 0o755);
    file("group-x", b"g\n", 0o654);
    symlink("a.txt", t.join("link")).expect("symlink");
    symlink("../nowhere/at/all", t.join("dangling")).expect("symlink");
    file("sub/Zeta", b"Z\n", 0o644);
    file("sub/nested/deep.txt", b"deep\n", 0o644);
    file("sub/nested/exec", b"x", 0o700);
    file("h\u{e9}llo w\u{f6}rld.txt", "\u{fc}\n".as_bytes(), 0o644);
    let big: String = (1..=3000).map(|i| format!("{i}\n")).collect();
    file("big", big.as_bytes(), 0o644);
    fs::write(dir.join("single.txt"), b"single file\n").expect("write");
    symlink("tree/a.txt", dir.join("single-link")).expect("symlink");
}

fn expected() -> BTreeMap<String, String> {
    let text = fs::read_to_string(Path::new(ORACLE_DIR).join("expected.txt")).expect("oracle");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn tree_nar_is_byte_identical_to_nix_store_dump() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_fixture(dir.path());
    let mut nar = Vec::new();
    write_nar(&dir.path().join("tree"), &mut nar).expect("nar");
    let oracle = fs::read(Path::new(ORACLE_DIR).join("tree.nar")).expect("tree.nar");
    if nar != oracle {
        let at = nar.iter().zip(&oracle).position(|(a, b)| a != b);
        panic!(
            "NAR differs from nix-store --dump (lengths {} vs {}, first difference at {at:?})",
            nar.len(),
            oracle.len()
        );
    }
}

#[test]
fn nar_hashes_sizes_and_store_paths_match_nix() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_fixture(dir.path());
    let expected = expected();
    let get = |k: &str| {
        expected
            .get(k)
            .unwrap_or_else(|| panic!("oracle has no {k}"))
    };
    for name in ["tree", "single.txt", "single-link"] {
        let path = dir.path().join(name);
        let (hash, size) = nar_hash_and_size(&path).expect("hash");
        assert_eq!(
            &hex(&hash),
            get(&format!("{name}.nar_sha256")),
            "{name} NAR sha256"
        );
        assert_eq!(
            &size.to_string(),
            get(&format!("{name}.nar_size")),
            "{name} NAR size"
        );
        assert_eq!(
            &format!("sha256:{}", nixbase32::encode(&hash)),
            get(&format!("{name}.nar_hash")),
            "{name} NAR hash in nix-base32"
        );
        assert_eq!(
            &source_store_path(&hash, name).to_string(),
            get(&format!("{name}.store_path")),
            "{name} store path of \"${{path}}\""
        );
        assert_eq!(
            &source_store_path(&hash, "custom-name").to_string(),
            get(&format!("{name}.store_path_custom_name")),
            "{name} store path of builtins.path with a name"
        );
    }
}

#[test]
fn local_store_adds_the_fixture_at_nix_s_path_with_the_same_nar() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_fixture(dir.path());
    let expected = expected();
    let store = LocalStore::open(dir.path().join("store")).expect("open");
    for name in ["tree", "single.txt", "single-link"] {
        let p = store
            .add_source_path(&dir.path().join(name), name)
            .expect("add");
        assert_eq!(
            Some(&p.to_string()),
            expected.get(&format!("{name}.store_path"))
        );
        let info = store.path_info(&p).expect("info");
        assert_eq!(
            Some(&info.nar_hash),
            expected.get(&format!("{name}.nar_hash"))
        );
        // The copy in the store serialises to the same NAR as the original.
        let (hash, _) = nar_hash_and_size(&store.real_path(&p)).expect("hash copy");
        assert_eq!(
            Some(&hex(&hash)),
            expected.get(&format!("{name}.nar_sha256"))
        );
    }
}
