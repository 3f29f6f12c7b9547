//! `makes eval` flags (`--arg`, `--argstr`, `--json`, `--xml`) print what `nix-instantiate
//! --eval` prints: recorded from Nix 2.8 here, and checked live when it is installed.

use crate::common::{run, Sandbox};
use std::process::Command;

const FUNCTION: &str = "{ a, b ? \"dflt\", c }: { inherit a b c; sum = a + 1; }\n";

/// (arguments, what Nix 2.8 printed)
fn cases() -> Vec<(Vec<&'static str>, &'static str)> {
    vec![
        (vec!["--strict", "--arg", "a", "41", "--argstr", "c", "hello", "fn.nix"], "{ a = 41; b = \"dflt\"; c = \"hello\"; sum = 42; }\n"),
        (vec!["--strict", "--json", "--arg", "a", "41", "--argstr", "c", "hello", "fn.nix"], "{\"a\":41,\"b\":\"dflt\",\"c\":\"hello\",\"sum\":42}"),
        // Selection paths: a quoted part holds dots; an empty last part selects nothing more.
        (vec!["--expr", "{ a = { \"x.y\" = [ 1 2 ]; }; }", "-A", "a.\"x.y\".1"], "2\n"),
        (vec!["--expr", "{ a = { \"x.y\" = 1; }; }", "-A", "a.x\".\"y"], "1\n"),
        (vec!["--strict", "--expr", "{ a.b = 1; }", "-A", "a.\"\""], "{ b = 1; }\n"),
        (
            vec!["--strict", "--xml", "--expr", "{ x = [ 1 \"s\" true null 1.5 ]; }"],
            "<?xml version='1.0' encoding='utf-8'?>\n<expr>\n  <attrs>\n    <attr column=\"3\" line=\"1\" name=\"x\" path=\"{ x = [ 1 &quot;s&quot; true null 1.5 ]; }\">\n      <list>\n        <int value=\"1\" />\n        <string value=\"s\" />\n        <bool value=\"true\" />\n        <null />\n        <float value=\"1.5\" />\n      </list>\n    </attr>\n  </attrs>\n</expr>\n",
        ),
    ]
}

#[test]
fn eval_flags_print_as_nix_instantiate_does() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("flags");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("fn.nix"), FUNCTION).expect("fn.nix");
    let nix = Command::new("sh")
        .args(["-c", "command -v nix-instantiate"])
        .output()
        .is_ok_and(|o| o.status.success());
    for (args, want) in cases() {
        let out = run(sandbox.makes().current_dir(&dir).arg("eval").args(&args));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            want,
            "makes eval {args:?}"
        );
        if nix {
            let live = run(Command::new("nix-instantiate")
                .current_dir(&dir)
                .env("NIX_REMOTE", "dummy://")
                .arg("--eval")
                .args(&args));
            assert_eq!(
                String::from_utf8_lossy(&live.stdout),
                want,
                "the recording of {args:?} is stale"
            );
        }
    }
}

#[test]
fn an_evaluation_error_shows_the_calls_that_led_there() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("trace");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("t.nix"),
        "let\n  f = x: g x;\n  g = y: y + \"a\";\nin f 1\n",
    )
    .expect("t.nix");
    let out = sandbox
        .makes()
        .current_dir(&dir)
        .args(["eval", "t.nix"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = stderr
        .find("cannot add a string to an integer")
        .expect("the error");
    let inner = stderr.find("t.nix:2:10").expect("the call g x");
    let outer = stderr.find("t.nix:4:4").expect("the call f 1");
    assert!(
        error < inner && inner < outer,
        "innermost call first: {stderr}"
    );
}

/// `builtins.warn` (newer Nix's): the warning as Nix prints it off a terminal, and with Nix's
/// `abort-on-warn` setting the evaluation stops there, uncatchably.
#[test]
fn warn_warns_and_abort_on_warn_stops() {
    let sandbox = Sandbox::new();
    let out = run(sandbox
        .makes()
        .args(["eval", "--expr", "builtins.warn \"careful\\nnow\" 1"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "evaluation warning: careful\n                    now\n"
    );
    let stopped = sandbox
        .makes()
        .args(["eval", "--option", "abort-on-warn", "true", "--expr"])
        .arg("builtins.tryEval (builtins.warn \"careful\" 1)")
        .output()
        .expect("makes runs");
    assert_eq!(stopped.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert!(
        stderr.starts_with("evaluation warning: careful\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("aborting to reveal stack trace of warning, as abort-on-warn is set"),
        "{stderr}"
    );
}
