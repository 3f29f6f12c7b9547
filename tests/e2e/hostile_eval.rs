//! Hostile Nix for the evaluator, through the real binary: cyclic values, absurdly deep values
//! and nesting, and evaluations that would exhaust memory end with exit code 1 and a message
//! naming the place (never an abort, a signal, or the OOM killer). Every case runs with a small
//! memory ceiling (`MAKES_MAX_MEMORY`) under `ulimit -v`, so that a regression fails the test
//! instead of taking the machine's memory.

use crate::common::{write_project, Sandbox};
use std::path::Path;
use std::process::{Command, Output};

/// Virtual memory for one run (KiB): room for the evaluation thread's 1 GiB stack reservation
/// and the ceiling below, far from what the cases would take unchecked.
const VIRTUAL_MEMORY_KIB: u32 = 4_000_000;
const CEILING: &str = "256M";

/// `makes ARGS` with the sandbox's environment, the ceiling, and `ulimit -v`.
fn bounded_makes(sandbox: &Sandbox, dir: &Path, args: &[&str]) -> Output {
    let reference = sandbox.makes();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v {VIRTUAL_MEMORY_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(reference.get_program())
        .args(args)
        .current_dir(dir)
        .env_clear();
    for (name, value) in reference.get_envs() {
        if let Some(value) = value {
            cmd.env(name, value);
        }
    }
    cmd.env("MAKES_MAX_MEMORY", CEILING);
    cmd.output().expect("sh runs makes")
}

/// The run failed as an evaluation error does (exit code 1, not a signal), saying `message` at
/// `place`.
fn assert_eval_error(out: &Output, message: &str, place: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: exit {:?}\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains(message),
        "{what}: no '{message}' in\n{stderr}"
    );
    assert!(stderr.contains(place), "{what}: no '{place}' in\n{stderr}");
}

fn eval_expr(sandbox: &Sandbox, expr: &str) -> Output {
    bounded_makes(
        sandbox,
        sandbox.dir.path(),
        &["eval", "--strict", "--expr", expr],
    )
}

const OVERFLOW: &str = "stack overflow (possible infinite recursion)";
const OUT_OF_MEMORY: &str =
    "out of memory: the evaluation needs more than its ceiling of 256.0 MiB";

#[test]
fn cyclic_values_are_errors_at_their_place() {
    let sandbox = Sandbox::new();
    for expr in [
        "let x = { a = x; }; in builtins.toJSON x",
        "let x = [ x ]; y = [ y ]; in x == y",
        "let x = { a = x; }; y = { a = y; }; in x != y",
        "let x = [ x ]; y = [ y ]; in x < y",
        "let x = [ x ]; in toString x",
        "let x = { outPath = x; }; in \"${x}\"",
        "let x = { __toString = self: self; }; in \"${x}\"",
    ] {
        assert_eval_error(&eval_expr(&sandbox, expr), OVERFLOW, "«string»:1:", expr);
    }
    // toXML of a cycle grows its text until a limit: the depth's or the memory ceiling's.
    let out = eval_expr(&sandbox, "let x = { a = x; }; in builtins.toXML x");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(OVERFLOW) || stderr.contains(OUT_OF_MEMORY),
        "{stderr}"
    );
}

#[test]
fn cyclic_values_print_as_repeated() {
    let sandbox = Sandbox::new();
    let out = eval_expr(&sandbox, "let x = { a = x; b = [ x ]; }; in x");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{ a = «repeated»; b = [ «repeated» ]; }\n"
    );
    let out = eval_expr(&sandbox, "let x = { a = x; }; in builtins.deepSeq x 1");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
}

#[test]
fn a_list_deeper_than_the_depth_limit_is_an_error_not_a_crash() {
    let sandbox = Sandbox::new();
    let deep = "(builtins.foldl' (acc: _: [ acc ]) [ ] (builtins.genList (x: x) 200000))";
    for expr in [
        deep.to_owned(),
        format!("builtins.toJSON {deep}"),
        format!("builtins.deepSeq {deep} 1"),
        format!("builtins.toXML {deep}"),
        format!("{deep} == {deep}"),
    ] {
        let out = eval_expr(&sandbox, &expr);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{expr}: {stderr}");
        assert!(
            stderr.contains(OVERFLOW) || stderr.contains(OUT_OF_MEMORY),
            "{expr}: {stderr}"
        );
    }
}

#[test]
fn exhausting_memory_is_an_error_at_the_expression() {
    let sandbox = Sandbox::new();
    for expr in [
        "builtins.genList (x: x) 1000000000",
        "let f = s: builtins.seq s (f (s + s)); in f \"x\"",
        "let f = s: builtins.seq s (f \"${s}${s}\"); in f \"x\"",
        "let f = l: builtins.seq l (f (l ++ l)); in f [ 1 ]",
        "builtins.length (builtins.genList (x: [ x x x x ]) 100000000)",
        "builtins.concatStringsSep \"\" (builtins.genList (x: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\") 100000000)",
    ] {
        assert_eval_error(
            &eval_expr(&sandbox, expr),
            OUT_OF_MEMORY,
            "«string»:1:",
            expr,
        );
    }
    let out = eval_expr(&sandbox, "builtins.genList (x: x) 1000000000");
    assert!(String::from_utf8_lossy(&out.stderr).contains("MAKES_MAX_MEMORY"));
}

#[test]
fn an_unreadable_ceiling_is_refused() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .makes()
        .env("MAKES_MAX_MEMORY", "lots")
        .args(["eval", "--expr", "1"])
        .output()
        .expect("makes runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MAKES_MAX_MEMORY"));
}

/// Deep nesting and long paths parse in linear time and memory: under the `ulimit -v` here,
/// the quadratic parser of before ran out of memory or took minutes.
#[test]
fn deep_nesting_and_long_attribute_paths() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path();
    let n = 100_000;
    let files = [
        ("lists.nix", format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        ("not.nix", format!("{}true", "!".repeat(n))),
        ("sum.nix", format!("let a = 1; in a{}", "+a".repeat(n))),
        (
            "path.nix",
            format!("{{ {} = 1; }}", vec!["a"; 40_000].join(".")),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).expect("write the case");
        for strict in [false, true] {
            let mut args = vec!["eval", *name];
            if strict {
                args.insert(1, "--strict");
            }
            let out = bounded_makes(&sandbox, dir, &args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            // A result or a clean error (the parser's nesting bound, the evaluation's depth
            // limit), never a signal.
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{name} {args:?}: {:?}\n{stderr}",
                out.status
            );
            if out.status.code() == Some(1) {
                assert!(
                    stderr.contains(OVERFLOW) || stderr.contains("nested too deeply"),
                    "{name}: {stderr}"
                );
            }
        }
    }
    let out = bounded_makes(&sandbox, dir, &["eval", "path.nix"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{ a = <CODE>; }\n");
    let out = bounded_makes(&sandbox, dir, &["eval", "lists.nix"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lists.nix:1:"), "{stderr}");
    // Up to the bound, deep nesting evaluates.
    let n = 25_000;
    std::fs::write(dir.join("not.nix"), format!("{}true", "!".repeat(n))).expect("write");
    let out = bounded_makes(&sandbox, dir, &["eval", "not.nix"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "true\n");
    let lists = format!("{}1{}", "[".repeat(n), "]".repeat(n));
    std::fs::write(dir.join("lists.nix"), lists).expect("write");
    let out = bounded_makes(&sandbox, dir, &["eval", "--strict", "lists.nix"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("[ [ [ [") && stdout.contains("[ 1 ] ] ]"),
        "{:?}",
        out.status
    );
}

/// The same through a makes.nix: `makes show` and building the job report the error at its
/// line of makes.nix.
#[test]
fn hostile_jobs_fail_at_their_line() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    write_project(
        &project,
        r#"{ makeDerivation, ... }:
{
  jobs."/cyclic" = makeDerivation {
    name = "cyclic";
    builder = builtins.toJSON (let x = { a = x; }; in x);
  };
  jobs."/huge" = makeDerivation {
    name = "huge";
    builder = toString (builtins.genList (x: x) 1000000000);
  };
}
"#,
    );
    let project_arg = project.to_str().expect("a UTF-8 path");
    for (job, message, line) in [
        ("/cyclic", OVERFLOW, "makes.nix:5:"),
        ("/huge", OUT_OF_MEMORY, "makes.nix:9:"),
    ] {
        for args in [
            vec!["--project", project_arg, "show", job],
            vec!["--project", project_arg, job],
        ] {
            let out = bounded_makes(&sandbox, &project, &args);
            assert_eval_error(&out, message, line, &format!("{args:?}"));
        }
    }
}

/// An error far into one line (generated or minified code) is reported with its place, not
/// quoted: the quote's padding to such a column would overflow the report's formatting.
#[test]
fn an_error_far_into_a_line_is_reported_not_a_panic() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path();
    let files = [
        ("var.nix", format!("{}undefinedvar\n", " ".repeat(70_000))),
        ("concat.nix", format!("1{}\n", " ++ 1".repeat(100_000))),
    ];
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).expect("write the case");
        let out = bounded_makes(&sandbox, dir, &["eval", "--strict", name]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(&format!("/{name}:1:")), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}
