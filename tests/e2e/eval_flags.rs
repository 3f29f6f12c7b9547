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
