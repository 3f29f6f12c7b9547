//! The constant path literals of a lowered file (`./a`, `/b`: no interpolation, not `~/`), as
//! the absolute paths they evaluate to, so that the store can check them ahead of evaluation.
//! The walk only reads the tree; it says nothing about whether evaluation reaches a literal.

use crate::ir::{AttrKey, AttrSetDef, BindingValue, Expr, ExprKind, Param, PathKind, StrPart};

/// The absolute paths of the constant path literals in `root`, each once: in source order but
/// for a set's bindings (which lowering sorts by name).
pub fn path_literals(root: &Expr) -> Vec<String> {
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // An explicit stack: a generated file may nest lists or operators deeper than the
    // thread's stack would allow recursion.
    let mut stack: Vec<&Expr> = vec![root];
    while let Some(expr) = stack.pop() {
        let before = stack.len();
        children(expr, &mut stack);
        // Children are pushed in source order and popped in reverse: flip them back.
        stack[before..].reverse();
        if let ExprKind::Path {
            kind: PathKind::Plain,
            parts,
            ..
        } = &expr.kind
        {
            // Lowering makes a constant literal's text absolute and canonical.
            if let [StrPart::Literal(text)] = parts.as_slice() {
                if text.starts_with('/') && seen.insert(text.clone()) {
                    found.push(text.to_string());
                }
            }
        }
    }
    found
}

/// Pushes the direct subexpressions of `expr`, in source order.
fn children<'a>(expr: &'a Expr, out: &mut Vec<&'a Expr>) {
    let parts = |parts: &'a [StrPart], out: &mut Vec<&'a Expr>| {
        for part in parts {
            if let StrPart::Interpolation(e) = part {
                out.push(e);
            }
        }
    };
    let keys = |keys: &'a [AttrKey], out: &mut Vec<&'a Expr>| {
        for key in keys {
            if let AttrKey::Dynamic(e) = key {
                out.push(e);
            }
        }
    };
    let bindings = |def: &'a AttrSetDef, out: &mut Vec<&'a Expr>| {
        let value = |v: &'a BindingValue| match v {
            BindingValue::Expr(e) | BindingValue::Inherit(e) => e,
        };
        for binding in &def.statics {
            out.push(value(&binding.value));
        }
        for binding in &def.dynamics {
            out.push(&binding.name);
            out.push(value(&binding.value));
        }
    };
    match &expr.kind {
        ExprKind::Interpolated(p) | ExprKind::Path { parts: p, .. } => parts(p, out),
        ExprKind::Select {
            target,
            path,
            default,
        } => {
            out.push(target);
            keys(path, out);
            out.extend(default.as_deref());
        }
        ExprKind::HasAttr { target, path } => {
            out.push(target);
            keys(path, out);
        }
        ExprKind::Apply { func, arg } => out.extend([&**func, &**arg]),
        ExprKind::Lambda(def) => {
            if let Param::Pattern { formals, .. } = &def.param {
                out.extend(formals.iter().filter_map(|f| f.default.as_deref()));
            }
            out.push(&def.body);
        }
        ExprKind::AttrSet(def) => bindings(def, out),
        ExprKind::Let {
            bindings: def,
            body,
        } => {
            bindings(def, out);
            out.push(body);
        }
        ExprKind::List(items) => out.extend(items.iter().map(|e| &**e)),
        ExprKind::Unary { operand, .. } => out.push(operand),
        ExprKind::Binary { lhs, rhs, .. } => out.extend([&**lhs, &**rhs]),
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => out.extend([&**cond, &**then, &**otherwise]),
        ExprKind::Assert { cond, body } => out.extend([&**cond, &**body]),
        ExprKind::With { namespace, body } => out.extend([&**namespace, &**body]),
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Var(_)
        | ExprKind::CurPos => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_file, SourceMap};
    use std::path::Path;

    fn literals(text: &str) -> Vec<String> {
        let sources = SourceMap::new();
        let file = sources.add("t.nix", Some(Path::new("/p/t.nix")), text);
        let globals: Vec<std::rc::Rc<str>> = ["import", "map", "null", "toString"]
            .map(Into::into)
            .to_vec();
        let expr = parse_file(&sources, file, &globals).expect("parses");
        path_literals(&expr)
    }

    #[test]
    fn constant_literals_anywhere_each_once() {
        let text = r#"{ a ? ./d, ... }@args: let x = ./a/../b; in {
          l = [ ./c /abs/e ./c ];
          s = "${./f}";
          ${"dyn"} = if ./g == null then map (p: p) [ ./h ] else with { }; ./i;
          sel = args.${toString ./j} or ./k;
          inherit x;
        }"#;
        let mut found = literals(text);
        found.sort();
        assert_eq!(
            found,
            ["/abs/e", "/p/b", "/p/c", "/p/d", "/p/f", "/p/g", "/p/h", "/p/i", "/p/j", "/p/k"]
        );
    }

    #[test]
    fn a_list_keeps_its_order() {
        assert_eq!(literals("[ ./z ./a ./m ]"), ["/p/z", "/p/a", "/p/m"]);
    }

    #[test]
    fn interpolated_and_home_paths_are_left_to_evaluation() {
        assert!(literals(r#"let n = "x"; in [ ./a/${n} ~/b ]"#).is_empty());
    }
}
