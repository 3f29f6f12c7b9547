//! No panic and no stack overflow on large or deep inputs: deep nesting in the parser, the
//! lowering, the evaluator, the printer and `Drop`; long operator chains; a million-element
//! `foldl'`/`genList`; unbounded recursion reported cleanly; a 10 MB string.

use makes_eval::{print_value, run_with_stack, DiskIo, EvalOptions, Evaluator};
use std::rc::Rc;

/// Evaluates `src` strictly on the big-stack thread and prints it (or the error message).
fn eval(src: String) -> Result<String, String> {
    run_with_stack(move || {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let v = ev
            .eval_source("«string»", &src, std::path::Path::new("/"))
            .map_err(|e| e.to_string())?;
        ev.force_deep(&v).map_err(|e| e.to_string())?;
        let printed = print_value(&ev, &v, true).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&printed).into_owned())
    })
}

#[test]
fn deep_lists_sets_and_parens() {
    let n = 10_000;
    let lists = format!("{}1{}", "[ ".repeat(n), " ]".repeat(n));
    assert!(eval(lists).is_ok_and(|s| s.starts_with("[ [ [")));
    // Nix 2.8 itself gives up on these ("memory exhausted"); rnix stops cleanly too.
    let sets = format!("{}1{}", "{ a = ".repeat(n), "; }".repeat(n));
    match eval(sets) {
        Ok(s) => assert!(s.starts_with("{ a = { a =")),
        Err(e) => assert!(e.contains("nested too deeply"), "{e}"),
    }
    let sets = format!("{}1{}", "{ a = ".repeat(200), "; }".repeat(200));
    assert!(eval(sets).is_ok_and(|s| s.starts_with("{ a = { a =")));
    for deep in [
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}x", "let x = 1; in ".repeat(n)),
        format!("{}1", "x: ".repeat(n)),
        format!("{}1", "if true then ".repeat(n) + &" else 0".repeat(n)),
    ] {
        match eval(deep) {
            Ok(s) => assert!(s == "1" || s == "<LAMBDA>", "{s}"),
            Err(e) => assert!(e.contains("nested too deeply"), "{e}"),
        }
    }
}

#[test]
fn long_operator_chains() {
    let n = 10_000;
    let sum = format!("let a = 1; in a{}", " + a".repeat(n));
    assert_eq!(eval(sum).as_deref(), Ok("10001"));
    let strings = format!(
        "let a = \"x\"; in builtins.stringLength (a{})",
        " + a".repeat(n)
    );
    assert_eq!(eval(strings).as_deref(), Ok("10001"));
    let lists = format!("builtins.length ([ 1 ]{})", " ++ [ 1 ]".repeat(n));
    assert_eq!(eval(lists).as_deref(), Ok("10001"));
    let updates = format!(
        "builtins.length (builtins.attrNames ({{ }}{}))",
        " // { a = 1; }".repeat(n)
    );
    assert_eq!(eval(updates).as_deref(), Ok("1"));
}

#[test]
fn a_million_elements() {
    let fold = "builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 1000000)".to_owned();
    assert_eq!(eval(fold).as_deref(), Ok("499999500000"));
    let gen = "builtins.length (builtins.genList (x: x * 2) 1000000)".to_owned();
    assert_eq!(eval(gen).as_deref(), Ok("1000000"));
}

#[test]
fn deep_but_bounded_recursion_succeeds() {
    let src = "let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 20000".to_owned();
    assert_eq!(eval(src).as_deref(), Ok("20000"));
}

#[test]
fn unbounded_recursion_is_a_clean_error() {
    let src = "let f = n: 1 + f (n + 1); in f 0".to_owned();
    assert_eq!(
        eval(src).unwrap_err(),
        "stack overflow (possible infinite recursion)"
    );
    let src = "let xs = n: [ (xs (n + 1)) ]; in xs 0".to_owned();
    assert!(eval(src).is_err());
}

#[test]
fn a_ten_megabyte_string() {
    let src = format!(
        "builtins.stringLength (builtins.replaceStrings [ \"a\" ] [ \"b\" ] \"{}\")",
        "a".repeat(10 << 20)
    );
    assert_eq!(eval(src).as_deref(), Ok("10485760"));
}

#[test]
fn cyclic_values_are_errors_or_repeated() {
    for src in [
        "let x = { a = x; }; in builtins.toJSON x",
        "let x = [ x ]; y = [ y ]; in x == y",
        "let x = [ x ]; y = [ y ]; in x < y",
        "let x = [ x ]; in toString x",
        "let x = { outPath = x; }; in \"${x}\"",
        "let x = { __functor = self: self; }; in x 1",
    ] {
        let err = eval(src.to_owned()).unwrap_err();
        assert!(
            err == "stack overflow (possible infinite recursion)",
            "{src}: {err}"
        );
    }
    let printed = eval("let x = { a = x; b = [ x ]; }; in x".to_owned());
    assert_eq!(
        printed.as_deref(),
        Ok("{ a = «repeated»; b = [ «repeated» ]; }")
    );
}

#[test]
fn walks_over_a_value_deeper_than_the_depth_limit_stop_cleanly() {
    let deep = "(builtins.foldl' (acc: _: [ acc ]) [ ] (builtins.genList (x: x) 110000))";
    for src in [
        deep.to_owned(),
        format!("builtins.toJSON {deep}"),
        format!("{deep} == {deep}"),
    ] {
        assert_eq!(
            eval(src.clone()).unwrap_err(),
            "stack overflow (possible infinite recursion)",
            "{src}"
        );
    }
}

#[test]
fn a_list_past_the_memory_ceiling_is_an_error() {
    // Without the binary's counting allocator only the up-front checks apply; a ceiling far
    // above what the other tests of this file build keeps them unaffected.
    makes_eval::memory::set_ceiling(1 << 30, "raise it");
    let err = eval("builtins.genList (x: x) 1000000000".to_owned()).unwrap_err();
    assert!(err.starts_with("out of memory"), "{err}");
}

#[test]
fn absurd_nesting_is_a_syntax_error() {
    let n = 100_000;
    for src in [
        format!("{}1{}", "[".repeat(n), "]".repeat(n)),
        format!("{}true", "!".repeat(n)),
        format!("let a = 1; in a{}", "+a".repeat(n)),
    ] {
        let err = eval(src).unwrap_err();
        assert!(err.contains("nested too deeply"), "{err}");
    }
    let path = format!("{{ {} = 1; }}", vec!["a"; 40_000].join("."));
    assert!(eval(path).is_ok_and(|s| s.starts_with("{ a = { a =")));
}
