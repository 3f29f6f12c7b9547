//! `run_derivation` end to end: real bash in the real sandbox, with the store in a temporary
//! directory (so `/nix/store` inside the builder is a bind mount).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use makes_spec::{DerivationSpec, SearchPaths};
use makes_store::{derivation_output_path, run_derivation, LocalStore, StoreError, StorePath};

fn spec(name: &str, builder: &str) -> DerivationSpec {
    DerivationSpec {
        name: name.into(),
        builder: builder.into(),
        env: Default::default(),
        env_files: Default::default(),
        search_paths: SearchPaths::default(),
        sha256: None,
        local: false,
        input_paths: vec![],
    }
}

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(dir.path().join("makes-store")).expect("open");
    (dir, store)
}

fn staging_dirs_left(store: &LocalStore) -> usize {
    fs::read_dir(store.root().join("tmp")).expect("tmp").count()
}

fn read(store: &LocalStore, out: &makes_store::StorePath, rel: &str) -> String {
    fs::read_to_string(store.real_path(out).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn builder_writes_files_into_out() {
    let (_dir, store) = store();
    let s = spec(
        "files",
        "mkdir -p $out/bin\necho hello > $out/greeting\nprintf '#!/bin/sh\\n' > $out/bin/tool\nchmod +x $out/bin/tool\ninfo done",
    );
    let out = derivation_output_path(&s);
    let info = run_derivation(&store, &s, &out).expect("build");
    assert_eq!(info.path, out);
    assert!(info.references.is_empty(), "{:?}", info.references);
    assert_eq!(read(&store, &out, "greeting"), "hello\n");
    let real = store.real_path(&out);
    let mode = |rel: &str| fs::symlink_metadata(real.join(rel)).expect("stat").mode() & 0o7777;
    assert_eq!(
        (mode(""), mode("greeting"), mode("bin/tool")),
        (0o555, 0o444, 0o555)
    );
    assert_eq!(
        fs::metadata(real.join("greeting")).expect("stat").mtime(),
        1
    );
    let log = fs::read_to_string(store.log_path(&out)).expect("log");
    assert!(log.contains("[INFO] done"), "{log}");
    assert_eq!(staging_dirs_left(&store), 0);
}

#[test]
fn inputs_are_readable_at_nix_store_and_become_references() {
    let (dir, store) = store();
    let src = dir.path().join("dep.txt");
    fs::write(&src, "from the input\n").expect("write");
    let dep = store.add_source_path(&src, "dep.txt").expect("add");
    let mut s = spec(
        "uses-dep",
        &format!(
            "mkdir $out\ncat {dep} > $out/copy\nln -s {dep} $out/link\ntest -r {dep} && echo readable > $out/readable"
        ),
    );
    s.input_paths = vec![dep.clone()];
    let out = derivation_output_path(&s);
    let info = run_derivation(&store, &s, &out).expect("build");
    assert_eq!(read(&store, &out, "copy"), "from the input\n");
    assert_eq!(read(&store, &out, "readable"), "readable\n");
    assert_eq!(info.references, vec![dep.clone()]);
    let closure = store.closure(std::slice::from_ref(&out)).expect("closure");
    assert_eq!(closure.len(), 2);
}

#[test]
fn invalid_inputs_are_refused_before_building() {
    let (_dir, store) = store();
    let mut s = spec("needs-missing", "touch $out");
    s.input_paths = vec![
        StorePath::parse("/nix/store/s1g4g3n6lg8iv0422i2kkcafp6xpbii9-missing")
            .expect("a store path"),
    ];
    let out = derivation_output_path(&s);
    let err = run_derivation(&store, &s, &out).expect_err("invalid input");
    assert!(matches!(err, StoreError::InputNotValid { .. }), "{err}");
    assert!(!store.real_path(&out).exists());
}

#[test]
fn failing_builder_reports_the_log_tail_and_leaves_nothing() {
    let (_dir, store) = store();
    let s = spec(
        "fails",
        "mkdir $out\necho partial > $out/x\nfor i in $(seq 1 50); do echo \"noise $i\"; done\nerror something went wrong\necho unreachable",
    );
    let out = derivation_output_path(&s);
    let err = run_derivation(&store, &s, &out).expect_err("must fail");
    match &err {
        StoreError::BuilderFailed { tail, log, .. } => {
            assert!(tail.contains("[ERROR] something went wrong"), "{tail}");
            assert!(
                tail.contains("noise 50") && !tail.contains("noise 20\n"),
                "{tail}"
            );
            assert!(!tail.contains("unreachable"));
            assert_eq!(tail.lines().count(), 30);
            assert_eq!(log, &store.log_path(&out));
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(!store.real_path(&out).exists());
    assert!(!store.is_valid(&out));
    assert_eq!(staging_dirs_left(&store), 0);

    let s = spec("forgets-out", "echo nothing");
    let out = derivation_output_path(&s);
    let err = run_derivation(&store, &s, &out).expect_err("no $out");
    assert!(matches!(err, StoreError::BuilderFailed { .. }), "{err}");
    assert!(err.to_string().contains("without creating $out"), "{err}");
}

#[test]
fn environment_is_clean_and_complete() {
    // Safe in edition 2021; no other test reads this variable.
    std::env::set_var("MAKES_STORE_TEST_HOST_VAR", "leaked");
    let (_dir, store) = store();
    let mut s = spec(
        "env",
        r#"mkdir $out
echo "$envGreeting" > $out/env
cat "$envConfigPath" > $out/file
echo "$HOME" > $out/home
echo "${MAKES_STORE_TEST_HOST_VAR:-unset}" > $out/host
echo "$PATH" > $out/path
echo "$TMPDIR $NIX_BUILD_TOP $SOURCE_DATE_EPOCH" > $out/dirs
pwd > $out/pwd
require_env_var envGreeting
(require_env_var envMissing) 2> $out/missing || true
awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' /proc/net/dev > $out/net
shopt dotglob > $out/dotglob
"#,
    );
    s.env.insert("envGreeting".into(), "hi there".into());
    s.env_files
        .insert("envConfig".into(), "line 1\nline 2\n".into());
    let out = derivation_output_path(&s);
    run_derivation(&store, &s, &out).expect("build");
    assert_eq!(read(&store, &out, "env"), "hi there\n");
    assert_eq!(read(&store, &out, "file"), "line 1\nline 2\n");
    assert_eq!(read(&store, &out, "home"), "/homeless-shelter\n");
    assert_eq!(read(&store, &out, "host"), "unset\n");
    assert_eq!(read(&store, &out, "path"), "/usr/bin:/bin\n");
    assert_eq!(read(&store, &out, "dirs"), "/build /build 1\n");
    assert_eq!(read(&store, &out, "pwd"), "/build\n");
    assert!(read(&store, &out, "missing").contains("envMissing"));
    assert_eq!(read(&store, &out, "net"), "lo\n", "no network namespace?");
    assert!(read(&store, &out, "dotglob").contains("on"));
}

#[test]
fn search_paths_are_applied() {
    let (dir, store) = store();
    let pkg = dir.path().join("pkg");
    fs::create_dir_all(pkg.join("bin")).expect("mkdir");
    fs::write(pkg.join("bin/say-hi"), "#!/bin/sh\necho hi from pkg\n").expect("write");
    fs::set_permissions(
        pkg.join("bin/say-hi"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    fs::write(pkg.join("setup.sh"), "export FROM_SETUP=yes\n").expect("write");
    let pkg = store.add_source_path(&pkg, "pkg").expect("add");
    let mut s = spec(
        "search",
        "mkdir $out\nsay-hi > $out/hi\necho \"$FROM_SETUP $MY_PATH\" > $out/vars",
    );
    s.search_paths.bin = vec![pkg.to_absolute()];
    s.search_paths.source = vec![format!("{pkg}/setup.sh")];
    s.search_paths.export = vec![("MY_PATH".into(), pkg.to_absolute(), "/lib".into())];
    s.input_paths = vec![pkg.clone()];
    let out = derivation_output_path(&s);
    let info = run_derivation(&store, &s, &out).expect("build");
    assert_eq!(read(&store, &out, "hi"), "hi from pkg\n");
    assert_eq!(read(&store, &out, "vars"), format!("yes {pkg}/lib\n"));
    assert_eq!(info.references, vec![pkg]);
}

#[test]
fn a_built_path_is_not_rebuilt() {
    let (_dir, store) = store();
    let s = spec("once", "echo building\nmkdir $out\ndate +%s%N > $out/stamp");
    let out = derivation_output_path(&s);
    let first = run_derivation(&store, &s, &out).expect("build");
    let stamp = read(&store, &out, "stamp");
    let log = store.log_path(&out);
    fs::remove_file(&log).expect("log exists after a build");
    let second = run_derivation(&store, &s, &out).expect("again");
    assert_eq!(first, second);
    assert_eq!(read(&store, &out, "stamp"), stamp);
    assert!(!Path::new(&log).exists(), "the builder ran again");
}

#[test]
fn fixed_output_hash_is_checked() {
    let (_dir, store) = store();
    // The NAR hash (recursive sha256) of a single file holding "fixed\n".
    let mut s = spec("fixed", "printf 'fixed\\n' > $out");
    let good = {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("f");
        fs::write(&f, "fixed\n").expect("write");
        let (hash, _) = makes_store::nar_hash_and_size(&f).expect("hash");
        makes_store::nixbase32::encode(&hash)
    };
    s.sha256 = Some(good);
    let out = derivation_output_path(&s);
    run_derivation(&store, &s, &out).expect("matching hash");

    s.builder = "printf 'other\\n' > $out".into();
    let out = derivation_output_path(&s);
    let err = run_derivation(&store, &s, &out).expect_err("mismatch");
    assert!(matches!(err, StoreError::HashMismatch { .. }), "{err}");
    assert!(!store.real_path(&out).exists());

    s.sha256 = Some("not-a-hash".into());
    let out = derivation_output_path(&s);
    let err = run_derivation(&store, &s, &out).expect_err("bad hash");
    assert!(matches!(err, StoreError::InvalidHash { .. }), "{err}");
}
