//! What `makes eval` writes to stderr off a terminal reads as Nix 2.8's does to a `grep`
//! across lines (nixpkgs' lib/tests/modules.sh matches its errors so): a message of several
//! lines without the report's `│` gutter, and escape sequences filtered from messages and
//! traces as Nix filters them (tabs expanded, carriage returns dropped).

use crate::common::Sandbox;
use std::io::Write;
use std::process::{Command, Stdio};

/// A module-system-like error: a message of several lines, coloured with escape sequences as
/// nixpkgs' lib colours some of its own, after a trace carrying a tab and escapes.
const EXPR: &str = r#"
let
  esc = builtins.fromJSON "\"\\u001b\"";
  code = s: "${esc}[1m${s}${esc}[0m";
in builtins.trace "traced ${code "x"}	y" (throw ''
  The option `enable' does not exist. Definition values:
  - In `define-enable.nix': ${code "true"}

  It seems as if you're trying to declare an option.'')
"#;

fn stderr_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("the command runs");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8(out.stderr).expect("UTF-8 stderr")
}

/// Whether `grep -zP PATTERN` finds `pattern` in `text`, as modules.sh matches its errors.
fn grep_finds(pattern: &str, text: &str) -> bool {
    let mut grep = Command::new("grep")
        .args(["-zP", "--silent", pattern])
        .stdin(Stdio::piped())
        .spawn()
        .expect("grep runs");
    let mut stdin = grep.stdin.take().expect("grep's stdin");
    stdin.write_all(text.as_bytes()).expect("grep reads");
    drop(stdin);
    grep.wait().expect("grep ends").success()
}

const PATTERN: &str =
    r"The option .* does not exist. Definition values:\n\s*- In .*: true\n\n\s*It seems as if";

#[test]
fn a_message_of_several_lines_is_grep_able_text_without_escapes() {
    let sandbox = Sandbox::new();
    let stderr = stderr_of(sandbox.makes().args(["eval", "--expr", EXPR]));
    assert!(
        !stderr.contains('\u{1b}'),
        "escapes are filtered: {stderr:?}"
    );
    assert!(stderr.contains("trace: traced x y\n"), "{stderr}");
    assert!(grep_finds(PATTERN, &stderr), "{stderr}");
    if crate::common::have_tool("nix-instantiate") {
        let nix = stderr_of(Command::new("nix-instantiate").args(["--eval", "-E", EXPR]));
        assert!(
            grep_finds(PATTERN, &nix),
            "the pattern matches Nix 2.8's text: {nix}"
        );
        assert!(nix.contains("trace: traced x y\n"), "{nix}");
    }
}

#[test]
fn no_color_and_a_dumb_terminal_keep_the_plain_text() {
    let sandbox = Sandbox::new();
    for (name, value) in [("NO_COLOR", "1"), ("TERM", "dumb")] {
        let stderr = stderr_of(
            sandbox
                .makes()
                .env(name, value)
                .args(["eval", "--expr", EXPR]),
        );
        assert!(!stderr.contains('\u{1b}'), "{name}={value}: {stderr:?}");
        assert!(
            stderr.contains("Definition values:\n    - In `define-enable.nix': true"),
            "{name}={value}: {stderr}"
        );
    }
}

#[test]
fn a_name_not_found_suggests_the_close_ones_as_nix_does() {
    let sandbox = Sandbox::new();
    let args = ["--expr", "{ a = { xy = 1; abc = 2; }; }", "-A", "a.xz"];
    let pattern = r"attribute 'xz' in selection path 'a.xz' not found\n\s*Did you mean xy\?";
    let stderr = stderr_of(sandbox.makes().arg("eval").args(args));
    assert!(grep_finds(pattern, &stderr), "{stderr}");
    if crate::common::have_tool("nix-instantiate") {
        let nix = stderr_of(Command::new("nix-instantiate").arg("--eval").args(args));
        assert!(grep_finds(pattern, &nix), "{nix}");
    }
    let stderr = stderr_of(
        sandbox
            .makes()
            .args(["eval", "--expr", "{ xy = 1; abc = 2; }.xz"]),
    );
    assert!(stderr.contains("help: Did you mean xy?"), "{stderr}");
}
