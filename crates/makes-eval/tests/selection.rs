//! Selections at one place of a program meeting sets of different shapes: each static name
//! remembers where it was last found, and a set where that position holds another name, or
//! nothing, or the same name as another copy of its text (from a string), must still give
//! the attribute a search would. Expected values are Nix 2.8's output for the same source.

use makes_eval::{print_value, DiskIo, EvalOptions, Evaluator};
use std::rc::Rc;

/// `src` evaluated strictly and printed.
fn eval(src: &str) -> String {
    let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
    let v = ev
        .eval_source("«selection»", src, std::path::Path::new("/"))
        .unwrap_or_else(|e| panic!("{e}"));
    ev.force_deep(&v).unwrap_or_else(|e| panic!("{e}"));
    let printed = print_value(&ev, &v, true).unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&printed).into_owned()
}

const SETS: &str = r#"
  sets = [
    { a = 1; b = 2; }
    { b = 3; }
    { aa = 0; ab = 1; b = 4; c = 5; }
    (builtins.listToAttrs [ { name = "b"; value = 6; } { name = "a"; value = 7; } ])
    { a = 8; }
    { b = { c = 9; }; }
    (builtins.listToAttrs (map (n: { name = "opt${toString n}"; value = n; }) [ 1 10 2 20 ])
      // { b = 10; })
  ];
"#;

#[test]
fn one_place_selects_from_sets_of_every_shape() {
    let src = format!("let {SETS} in map (s: s.b or \"none\") sets");
    assert_eq!(eval(&src), r#"[ 2 3 4 6 "none" { c = 9; } 10 ]"#);
    let src = format!("let {SETS} in map (s: s.b.c or \"none\") sets");
    assert_eq!(
        eval(&src),
        r#"[ "none" "none" "none" "none" "none" 9 "none" ]"#
    );
}

#[test]
fn one_place_tests_sets_of_every_shape() {
    let src = format!("let {SETS} in map (s: s ? b) sets");
    assert_eq!(eval(&src), "[ true true true true false true true ]");
    let src = format!("let {SETS} in map (s: s ? b.c) sets");
    assert_eq!(eval(&src), "[ false false false false false true false ]");
}

#[test]
fn computed_names_find_what_static_ones_do() {
    let src = format!("let {SETS} in map (s: s.${{\"b\"}} or \"none\") sets");
    assert_eq!(eval(&src), r#"[ 2 3 4 6 "none" { c = 9; } 10 ]"#);
    let src = format!(
        "let {SETS} in map (n: (builtins.elemAt sets 6).${{\"opt${{toString n}}\"}}) [ 1 2 10 20 ]"
    );
    assert_eq!(eval(&src), "[ 1 2 10 20 ]");
}

#[test]
fn one_function_binds_its_formals_from_sets_of_every_shape() {
    let src = format!("let {SETS} in map ({{ a ? \"none\", b ? \"none\", ... }}: [ a b ]) sets");
    assert_eq!(
        eval(&src),
        r#"[ [ 1 2 ] [ "none" 3 ] [ "none" 4 ] [ 7 6 ] [ 8 "none" ] [ "none" { c = 9; } ] [ "none" 10 ] ]"#
    );
    let src = format!(
        "let {SETS} in map ({{ b ? \"none\", c ? \"none\", ... }}@s: [ b c (s.a or \"none\") ]) sets"
    );
    assert_eq!(
        eval(&src),
        r#"[ [ 2 "none" 1 ] [ 3 "none" "none" ] [ 4 5 "none" ] [ 6 "none" 7 ] [ "none" "none" 8 ] [ { c = 9; } "none" "none" ] [ 10 "none" "none" ] ]"#
    );
}

#[test]
fn computed_names_walking_a_set_in_order_find_each_attribute() {
    // One place selects every name of each set in turn, then names of another set.
    let src = format!("let {SETS} in map (s: map (n: s.${{n}}) (builtins.attrNames s)) sets");
    assert_eq!(
        eval(&src),
        "[ [ 1 2 ] [ 3 ] [ 0 1 4 5 ] [ 7 6 ] [ 8 ] [ { c = 9; } ] [ 10 1 10 2 20 ] ]"
    );
    let src = format!(
        "let {SETS} in map (s: builtins.filter (n: s ? ${{n}}) \
         (builtins.attrNames (builtins.elemAt sets 6))) sets"
    );
    assert_eq!(
        eval(&src),
        r#"[ [ "b" ] [ "b" ] [ "b" ] [ "b" ] [ ] [ "b" ] [ "b" "opt1" "opt10" "opt2" "opt20" ] ]"#
    );
    let src = format!(
        "let {SETS} in map (s: map (n: s ? ${{n}}) [ \"a\" \"b\" \"c\" \"aa\" \"opt2\" ]) sets"
    );
    assert_eq!(
        eval(&src),
        "[ [ true true false false false ] [ false true false false false ] \
         [ false true true true false ] [ true true false false false ] \
         [ true false false false false ] [ false true false false false ] \
         [ false true false false true ] ]"
    );
}
