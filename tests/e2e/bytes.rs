//! Nix strings are bytes: text that is not UTF-8 (a Latin-1 file) reaches the store and the
//! builder unchanged, and where makes needs text it says so instead of changing the bytes.

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

    // A builder's environment is text in makes' derivations: the bytes are refused with the
    // attribute named, never replaced.
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/env")
        .output()
        .expect("makes runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not valid UTF-8"), "{stderr}");
    assert!(stderr.contains("env.envText"), "{stderr}");
}

#[test]
fn nix_source_that_is_not_utf8_is_refused_not_replaced() {
    let sandbox = Sandbox::new();
    let file = sandbox.dir.path().join("latin1.nix");
    let mut source = b"\"".to_vec();
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
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not valid UTF-8 at byte 4"),
        "the byte where the text stops being UTF-8: {stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing printed: {:?}", out.stdout);
}
