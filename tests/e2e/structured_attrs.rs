//! `__structuredAttrs` derivations built by makes' sandbox: the builder finds `.attrs.json`
//! and `.attrs.sh` in its build directory (named by `NIX_ATTRS_JSON_FILE` and
//! `NIX_ATTRS_SH_FILE`) as Nix 2.8 writes them, outputs mapped to their paths.

use crate::common::{assert_success, have_tool, Sandbox};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A derivation of two outputs whose builder sources `.attrs.sh`, copies both files into its
/// output and writes what the shell variables hold: every kind of value `.attrs.sh` writes
/// (strings with quotes, numbers past 32 bits, Booleans, null, lists, sets) and some it leaves
/// out (a float, nested lists and sets, names that are not shell variables).
const STRUCTURED: &str = r#"derivation {
  name = "structured";
  system = "x86_64-linux";
  builder = "/bin/bash";
  args = [ "-c" ''
    set -e
    export PATH=/usr/bin:/bin
    source "$NIX_ATTRS_SH_FILE"
    mkdir -p "''${outputs[out]}" "''${outputs[dev]}"
    cd "''${outputs[out]}"
    cp "$NIX_ATTRS_JSON_FILE" attrs.json
    cp "$NIX_ATTRS_SH_FILE" attrs.sh
    cmp "$NIX_ATTRS_SH_FILE" "$NIX_BUILD_TOP/.attrs.sh"
    printf '%s|' "$0" "$greeting" "$count" "$big" "$yes" "$no" "$nothing" "''${list[@]}" \
      "''${obj[y z]}" "''${obj[x]}" > shell
    declare -p ratio nested deep not_a_var 2>> shell || true
    echo "''${outputs[dev]}" > dev-path
    echo dev > "''${outputs[dev]}/d"
  '' ];
  __structuredAttrs = true;
  outputs = [ "out" "dev" ];
  greeting = "it's \"quoted\"\n";
  count = 42; big = 12345678901; ratio = 2.5; yes = true; no = false; nothing = null;
  list = [ "a" "b c" 1 true ];
  nested = [ [ 1 ] ];
  obj = { x = "1"; "y z" = 2; };
  deep = { x = { y = 1; }; };
  "not-a-var" = "skip";
  _under = "u";
}
"#;

fn lines(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Where makes' store keeps the output `store_path`.
fn built(sandbox: &Sandbox, store_path: &str) -> PathBuf {
    let base = Path::new(store_path).file_name().expect("a store path");
    let in_store = sandbox.store().join("store").join(base);
    if in_store.exists() {
        return in_store;
    }
    sandbox.cache().join("makes/store/store").join(base)
}

#[test]
fn structured_attrs_builders_read_the_files_nix_writes_and_build_nix_s_output() {
    if !have_tool("nix-build") || !std::path::Path::new("/bin/bash").exists() {
        eprintln!("note: skipping: needs nix-build and /bin/bash");
        return;
    }
    let sandbox = Sandbox::new();
    let file = sandbox.dir.path().join("structured.nix");
    std::fs::write(&file, STRUCTURED).expect("write");

    let out = sandbox
        .makes()
        .args(["instantiate", "--realise"])
        .arg(&file)
        .output()
        .expect("makes runs");
    assert_success(&out);
    let ours = lines(&out.stdout);

    // Nix's own sandbox has no /bin/bash: build without it (the output is the same).
    let out = Command::new("nix-build")
        .args(["--no-out-link", "--option", "sandbox", "false"])
        .args(["--option", "substituters", ""])
        .arg(&file)
        .output()
        .expect("nix-build runs");
    assert_success(&out);
    // nix-build lists the default output; building it built both.
    let nix = lines(&out.stdout);
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert!(
        nix.iter().all(|p| ours.contains(p)),
        "{nix:?} among {ours:?}"
    );

    for path in &ours {
        let ours = built(&sandbox, path);
        let (hash, _) = makes_store::nar_hash_and_size(&ours).expect("NAR hash");
        let ours_hash = format!("sha256:{}", makes_store::nixbase32::encode(&hash));
        let out = Command::new("nix-store")
            .args(["--query", "--hash", path])
            .output()
            .expect("nix-store runs");
        assert_success(&out);
        let nix_hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(ours_hash, nix_hash, "the NAR of {path}");
    }

    // What the test derivation is meant to exercise did happen.
    let out_path = ours.iter().find(|p| !p.ends_with("-dev")).expect("out");
    let dir = built(&sandbox, out_path);
    let shell = std::fs::read_to_string(dir.join("shell")).expect("shell");
    assert!(
        shell.starts_with("bash|it's \"quoted\"\n|42|-539222987|1|||a|b c|1|1|2|1|"),
        "{shell}"
    );
    assert!(shell.contains("declare: ratio: not found"), "{shell}");
    let json = std::fs::read_to_string(dir.join("attrs.json")).expect("attrs.json");
    assert!(json.contains(&format!(r#""out":"{out_path}""#)), "{json}");
}
