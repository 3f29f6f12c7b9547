//! Nix strings are bytes: text that is not UTF-8 (a Latin-1 file) reaches the store, the
//! builder's environment and env files unchanged, and where makes needs text it says so
//! instead of changing the bytes.

use crate::common::{write_project, Sandbox};

/// "café ÿ naïve" in Latin-1: not UTF-8.
const LATIN1: &[u8] = b"caf\xe9 \xff na\xefve\n";

const PROJECT: &str = r#"{ makeDerivation, ... }:
let
  text = builtins.readFile ./latin1.txt;
  file = builtins.toFile "latin1" text;
in {
  jobs."/copy" = makeDerivation {
    name = "copy";
    builder = ''
      mkdir $out
      cp ${file} $out/latin1
      printf '%s' ${builtins.toString (builtins.stringLength text)} > $out/length
    '';
  };
  jobs."/env" = makeDerivation {
    name = "env";
    env.envText = text;
    envFiles.envFile = text;
    builder = ''
      mkdir $out
      printf '%s' "$envText" > $out/env
      cp "$envFilePath" $out/file
    '';
  };
  jobs."/utf8" = makeDerivation {
    name = "utf8";
    env.envText = "café";
    builder = "mkdir $out";
  };
}
"#;

#[test]
fn bytes_of_a_latin1_file_reach_the_build_unchanged() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("bytes");
    write_project(&project, PROJECT);
    std::fs::write(project.join("latin1.txt"), LATIN1).expect("write latin1.txt");

    let out = sandbox.build_dir(&project, "/copy");
    let copied = std::fs::read(out.join("latin1")).expect("the copied file");
    assert_eq!(copied, LATIN1, "{}", copied.escape_ascii());
    let length = std::fs::read_to_string(out.join("length")).expect("the length");
    assert_eq!(length, LATIN1.len().to_string());

    // A builder's environment holds the bytes, as Nix 2.8 gives them
    // (fixtures/bytes-oracle: what Nix built from the same bytes), and so do env files.
    let out = sandbox.build_dir(&project, "/env");
    let oracle = crate::common::fixture("bytes-oracle");
    assert_eq!(
        std::fs::read(oracle.join("latin1.txt")).expect("the oracle's input"),
        LATIN1
    );
    let nix_gave = std::fs::read(oracle.join("env.out")).expect("the oracle's output");
    assert_eq!(std::fs::read(out.join("env")).expect("env"), nix_gave);
    assert_eq!(std::fs::read(out.join("file")).expect("file"), LATIN1);

    // UTF-8 values keep the store paths they had when values had to be text (this one as
    // makes gave it before).
    let utf8 = sandbox.build_dir(&project, "/utf8");
    assert_eq!(
        utf8.file_name().map(|n| n.to_string_lossy().into_owned()),
        Some("vgc1hfg3gn3lbzj7sd333fwp84qv39q2-utf8".to_owned()),
    );
}

#[test]
fn nix_source_that_is_not_utf8_keeps_its_bytes() {
    // As Nix: a string literal written in Latin-1 is those bytes, printed back unchanged.
    let sandbox = Sandbox::new();
    let file = sandbox.dir.path().join("latin1.nix");
    let mut source = b"# \xff in a comment\n\"".to_vec();
    source.extend_from_slice(LATIN1.trim_ascii_end());
    source.extend_from_slice(b"\"\n");
    std::fs::write(&file, source).expect("write latin1.nix");
    let out = sandbox
        .makes()
        .args(["eval", "--strict"])
        .arg(&file)
        .output()
        .expect("makes runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let mut expected = b"\"".to_vec();
    expected.extend_from_slice(LATIN1.trim_ascii_end());
    expected.extend_from_slice(b"\"\n");
    assert_eq!(
        out.stdout,
        expected,
        "{:?}",
        out.stdout.escape_ascii().to_string()
    );
}
