//! Hostile builds: a makeDerivation builder, runAsRoot, fakeRootCommands and extraCommands
//! each try to read /etc/shadow, a host process's root and environment through /proc, a block
//! device; to write an input store path, an unrelated store path and a victim file outside
//! the scratch root; to reach the network; to make a setuid file. Every attempt must fail and
//! every victim stay as it was, as root and as an unprivileged user.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{assert_success, have_tool, running_as_root, write_project, RunAs, Sandbox};

/// What makes' environment holds and no build may see (split in the scripts, so that no
/// command line of theirs holds it whole).
const SECRET: &str = "s3cr3t-registry-token";
const SECRET_HALVES: (&str, &str) = ("s3cr3t-reg", "istry-token");

/// Everything a hostile script is told about its victims.
struct Targets {
    victim: PathBuf,
    unrelated: String,
    block_device: String,
    port: u16,
}

/// A file whose bytes and mtime must not change.
struct Victim {
    path: PathBuf,
    bytes: Vec<u8>,
    mtime: (i64, i64),
}

impl Victim {
    fn record(path: &Path) -> Victim {
        let meta = std::fs::metadata(path).expect("victim");
        Victim {
            path: path.to_owned(),
            bytes: std::fs::read(path).expect("victim"),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        }
    }

    fn assert_untouched(&self) {
        let meta = std::fs::metadata(&self.path).expect("victim still there");
        assert_eq!(
            std::fs::read(&self.path).expect("victim"),
            self.bytes,
            "{}",
            self.path.display()
        );
        assert_eq!(
            (meta.mtime(), meta.mtime_nsec()),
            self.mtime,
            "{}",
            self.path.display()
        );
        let parent = self.path.parent().expect("parent");
        let names: Vec<_> = std::fs::read_dir(parent)
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(
            !names.iter().any(|n| n.to_string_lossy() == "new"),
            "nothing created next to {}",
            self.path.display()
        );
    }
}

/// A block device of this machine (vda, sda, nvme0n1, ...), as /dev sees it.
fn block_device() -> String {
    std::fs::read_dir("/sys/block")
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| format!("/dev/{}", e.file_name().to_string_lossy()))
        .find(|d| {
            !d.contains("loop")
                && std::fs::metadata(d)
                    .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type()))
        })
        .unwrap_or_else(|| "/dev/vda".to_owned())
}

/// The hostile script. `t` prefixes every tool (busybox in a chroot, nothing on the host's
/// bash), `report` is where the findings go, `input` an input store path (a Nix expression),
/// `name` keeps the files of the scripts of one image apart.
fn hostile_script(t: &str, report: &str, input: &str, name: &str, x: &Targets) -> String {
    let victim = x.victim.display();
    let victim_dir = x.victim.parent().expect("parent").display();
    let (s1, s2) = SECRET_HALVES;
    let network = if t.is_empty() {
        format!("bash -c 'exec 3<>/dev/tcp/127.0.0.1/{}'", x.port)
    } else {
        format!("{t}nc 127.0.0.1 {}", x.port)
    };
    format!(
        r#"
R={report}
try() {{ n=$1; shift; if "$@" </dev/null >/dev/null 2>&1; then echo "$n: ALLOWED" >> $R; else echo "$n: denied" >> $R; fi; }}
try shadow {t}cat /etc/shadow
try proc1-root-list {t}ls /proc/1/root{victim_dir}
try proc1-root-read {t}cat /proc/1/root{victim}
try proc-any-root-read {t}sh -c 'for p in /proc/[0-9]*; do {t}cat $p/root{victim} && exit 0; done; exit 1'
{t}cat /proc/[0-9]*/environ > $R.env 2>/dev/null || true
if {t}grep -q "{s1}""{s2}" $R.env; then echo "environ: ALLOWED" >> $R; else echo "environ: denied" >> $R; fi
try control-environ {t}grep -q PATH= $R.env
{t}rm -f $R.env
try block-device {t}head -c 1 {block}
try control-read-input {t}cat {input}/file
try write-input {t}sh -c "echo x >> {input}/file"
try create-in-input {t}touch {input}/new
try write-unrelated {t}sh -c "echo x >> {unrelated}/file"
try write-victim {t}sh -c "echo x >> {victim}"
try write-victim-by-proc {t}sh -c "echo x >> /proc/1/root{victim}"
try write-victim-by-any-proc {t}sh -c 'for p in /proc/[0-9]*; do echo x >> $p/root{victim} && exit 0; done; exit 1'
try network {network}
{t}touch setuid-{name}
try control-chmod {t}chmod 0755 setuid-{name}
try setuid {t}chmod u+s setuid-{name}
try setgid {t}chmod g+s setuid-{name}
if [ -u setuid-{name} ] || [ -g setuid-{name} ]; then echo "setuid-bit: ALLOWED" >> $R; else echo "setuid-bit: denied" >> $R; fi
{t}rm -f setuid-{name}
echo "uid: $({t}id -u)" >> $R
{t}touch owned-{name}
{t}chown 1234:1234 owned-{name} 2>/dev/null || true
"#,
        block = x.block_device,
        unrelated = x.unrelated,
    )
}

/// The findings of a report: `name -> outcome`.
fn findings(report: &str) -> BTreeMap<String, String> {
    report
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Every attempt was denied, every control allowed (so that a script whose tools cannot run
/// does not pass as denied everything); the script's uid is `uid`.
fn assert_all_denied(what: &str, report: &str, uid: &str) {
    let found = findings(report);
    for control in ["control-environ", "control-read-input", "control-chmod"] {
        assert_eq!(
            found.get(control).map(String::as_str),
            Some("ALLOWED"),
            "{what}: {control}\n{report}"
        );
    }
    assert!(!report.contains(SECRET), "{what} saw the secret:\n{report}");
    for attempt in [
        "shadow",
        "proc1-root-list",
        "proc1-root-read",
        "proc-any-root-read",
        "environ",
        "block-device",
        "write-input",
        "create-in-input",
        "write-unrelated",
        "write-victim",
        "write-victim-by-proc",
        "write-victim-by-any-proc",
        "network",
        "setuid",
        "setgid",
        "setuid-bit",
    ] {
        assert_eq!(
            found.get(attempt).map(String::as_str),
            Some("denied"),
            "{what}: {attempt}\n{report}"
        );
    }
    assert_eq!(
        found.get("uid").map(String::as_str),
        Some(uid),
        "{what}\n{report}"
    );
}

/// Runs makes (as `who`) with the secret in its environment; returns its output.
fn makes(sandbox: &Sandbox, who: RunAs, store: &Path, args: &[&str]) -> Output {
    sandbox
        .makes_in(who, &store.with_extension("cache"), Some(store))
        .env("REGISTRY_TOKEN", SECRET)
        .args(args)
        .output()
        .expect("makes runs")
}

fn built_path(out: &Output) -> PathBuf {
    assert_success(out);
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end())
}

/// The regular files named `names` of an image archive's layers (the last layer wins), with
/// their owner.
fn files_in_layers(archive: &Path, names: &[&str]) -> BTreeMap<String, (String, u64)> {
    let mut blobs = Vec::new();
    let mut tar = tar::Archive::new(std::fs::File::open(archive).expect("archive"));
    for e in tar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let path = e.path().expect("path").to_string_lossy().into_owned();
        if path.starts_with("blobs/sha256/") {
            let mut data = Vec::new();
            e.read_to_end(&mut data).expect("read");
            blobs.push(data);
        }
    }
    let mut found = BTreeMap::new();
    for blob in blobs {
        if !blob.starts_with(&[0x1f, 0x8b]) {
            continue;
        }
        let mut layer = tar::Archive::new(flate2::read::MultiGzDecoder::new(&blob[..]));
        for e in layer.entries().expect("layer entries") {
            let mut e = e.expect("entry");
            let path = e.path().expect("path").to_string_lossy().into_owned();
            if names.contains(&path.trim_start_matches("./")) {
                let uid = e.header().uid().expect("uid");
                let mut text = String::new();
                e.read_to_string(&mut text).expect("text");
                found.insert(path.trim_start_matches("./").to_owned(), (text, uid));
            }
        }
    }
    found
}

fn hostile_builds(who: RunAs) {
    let sandbox = Sandbox::new();
    let store = sandbox.dir.path().join("store");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).expect("nonblocking");

    // A victim outside the scratch root that any user could write.
    let victim_path = sandbox.dir.path().join("victims/victim");
    std::fs::create_dir_all(victim_path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&victim_path, "untouched\n").expect("write");
    std::fs::set_permissions(&victim_path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    std::fs::set_permissions(
        victim_path.parent().expect("parent"),
        std::fs::Permissions::from_mode(0o777),
    )
    .expect("chmod");
    let victim = Victim::record(&victim_path);

    // A valid store path no hostile build has among its inputs.
    let unrelated_project = sandbox.dir.path().join("unrelated");
    write_project(
        &unrelated_project,
        r#"{ makeDerivation, ... }: {
  jobs."/unrelated" = makeDerivation { name = "unrelated"; builder = "mkdir $out; echo unrelated > $out/file"; };
}"#,
    );
    let project_arg = unrelated_project.to_string_lossy().into_owned();
    let unrelated_real = built_path(&makes(
        &sandbox,
        who,
        &store,
        &["--project", &project_arg, "/unrelated"],
    ));
    let unrelated_victim = Victim::record(&unrelated_real.join("file"));
    let unrelated = format!(
        "/nix/store/{}",
        unrelated_real.file_name().expect("name").to_string_lossy()
    );
    let targets = Targets {
        victim: victim_path.clone(),
        unrelated,
        block_device: block_device(),
        port: listener.local_addr().expect("addr").port(),
    };

    let project = sandbox.dir.path().join("hostile");
    std::fs::create_dir_all(project.join("input")).expect("mkdir");
    std::fs::write(project.join("input/file"), "input\n").expect("write");
    let input = "${./input}";
    let busybox = "${tools}/bin/busybox ";
    let builder = hostile_script("", "$out", input, "builder", &targets);
    let extra = hostile_script("", "report-extra", input, "extra", &targets);
    let fake_root = hostile_script("", "report-fakeroot", input, "fakeroot", &targets);
    let run_as_root = hostile_script(busybox, "report-runasroot", input, "runasroot", &targets);
    write_project(
        &project,
        &format!(
            r#"{{ makeContainerImage, makeDerivation, ... }}:
let
  tools = makeDerivation {{
    name = "tools";
    builder = ''
      mkdir -p $out/bin
      cp ${{/bin/busybox}} $out/bin/busybox
    '';
  }};
in {{
  jobs."/builder" = makeDerivation {{ name = "hostile"; builder = ''{builder}''; }};
  jobs."/layered" = makeContainerImage {{
    layers = [ tools ];
    extraCommands = ''{extra}'';
    fakeRootCommands = ''{fake_root}'';
  }};
  jobs."/single" = makeContainerImage {{
    layered = false;
    copyToRoot = [ tools ];
    runAsRoot = ''
      #!${{tools}}/bin/busybox sh
      {run_as_root}'';
  }};
}}"#
        ),
    );
    let input_victim = {
        // The input's store path: the only directory of the store holding input/file's bytes.
        let project_arg = project.to_string_lossy().into_owned();
        let report = built_path(&makes(
            &sandbox,
            who,
            &store,
            &["--project", &project_arg, "/builder"],
        ));
        let text = std::fs::read_to_string(&report).expect("report");
        assert_all_denied("makeDerivation", &text, "1000");
        let input_dir = std::fs::read_dir(store.join("store"))
            .expect("store")
            .map(|e| e.expect("entry").path())
            .find(|p| p.to_string_lossy().ends_with("-input"))
            .expect("the input in the store");
        Victim::record(&input_dir.join("file"))
    };

    let project_arg = project.to_string_lossy().into_owned();
    let layered = built_path(&makes(
        &sandbox,
        who,
        &store,
        &["--project", &project_arg, "/layered"],
    ));
    let files = files_in_layers(
        &layered,
        &["report-extra", "report-fakeroot", "owned-fakeroot"],
    );
    assert_all_denied("extraCommands", &files["report-extra"].0, "1000");
    assert_all_denied("fakeRootCommands", &files["report-fakeroot"].0, "0");

    let single = built_path(&makes(
        &sandbox,
        who,
        &store,
        &["--project", &project_arg, "/single"],
    ));
    let single_files = files_in_layers(&single, &["report-runasroot", "owned-runasroot"]);
    assert_all_denied("runAsRoot", &single_files["report-runasroot"].0, "0");

    if who == RunAs::TestUser && running_as_root() {
        // A fake root's chown is what the layer gets.
        assert_eq!(files["owned-fakeroot"].1, 1234);
        assert_eq!(single_files["owned-runasroot"].1, 1234);
    }
    for v in [&victim, &unrelated_victim, &input_victim] {
        v.assert_untouched();
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "no build reached the test's listener"
    );
}

#[test]
fn hostile_builds_as_the_test_user_reach_nothing() {
    hostile_builds(RunAs::TestUser);
}

#[test]
fn hostile_builds_as_an_unprivileged_user_reach_nothing() {
    if !running_as_root() || !have_tool("setpriv") {
        eprintln!("note: skipping: needs root to switch to an unprivileged user");
        return;
    }
    hostile_builds(RunAs::Nobody);
}
