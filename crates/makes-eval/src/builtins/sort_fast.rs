//! `sort` with Nix's own `<` as the comparator (`builtins.lessThan`, or a lambda `a: b: a < b`),
//! compared directly instead of through one function call per comparison, as Nix does for
//! `lessThan`. Only lists of integers or of strings take this path: `<` is a strict total order
//! on each, so any stable sort gives the one result the general merge sort gives.

use crate::thunk::Thunk;
use crate::value::Value;
use crate::{Evaluator, Result};
use makes_syntax::ir::{BinaryOp, ExprKind, Param, Var};

/// Whether calling `f a b` is `a < b` for every `a` and `b`.
pub(crate) fn is_less_than(f: &Value) -> bool {
    match f {
        Value::PrimOp(op) => op.arity == 2 && &*op.name == "lessThan",
        Value::Lambda(closure) => {
            let outer = &closure.def;
            let ExprKind::Lambda(inner) = &outer.body.kind else {
                return false;
            };
            if !matches!(outer.param, Param::Ident(_)) || !matches!(inner.param, Param::Ident(_)) {
                return false;
            }
            // `a` is the outer frame's only slot, `b` the inner one's.
            let ExprKind::Binary {
                op: BinaryOp::Less,
                lhs,
                rhs,
            } = &inner.body.kind
            else {
                return false;
            };
            matches!(lhs.kind, ExprKind::Var(Var::Local { depth: 1, slot: 0 }))
                && matches!(rhs.kind, ExprKind::Var(Var::Local { depth: 0, slot: 0 }))
        }
        _ => false,
    }
}

/// `items` sorted by `<`, every item forced first (as Nix forces them); `None` when the items
/// are not all integers or all strings (the caller then sorts by calling the comparator).
pub(crate) fn sort_by_less_than(ev: &Evaluator, items: &[Thunk]) -> Result<Option<Vec<Thunk>>> {
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        values.push(item.force(ev)?);
    }
    let ints: Option<Vec<i64>> = values
        .iter()
        .map(|v| match v {
            Value::Int(i) => Some(*i),
            _ => None,
        })
        .collect();
    if let Some(ints) = ints {
        return Ok(Some(stable_sort_by_key(items, ints)));
    }
    let strings: Option<Vec<&[u8]>> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => Some(s.as_bytes()),
            _ => None,
        })
        .collect();
    Ok(strings.map(|keys| stable_sort_by_key(items, keys)))
}

/// `items` ordered by their `keys` (one per item), equal keys in their original order.
fn stable_sort_by_key<K: Ord>(items: &[Thunk], keys: Vec<K>) -> Vec<Thunk> {
    let mut keyed: Vec<(K, &Thunk)> = keys.into_iter().zip(items).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, t)| t.clone()).collect()
}

#[cfg(test)]
mod tests {
    use crate::DiskIo;
    use crate::{EvalOptions, Evaluator};
    use std::path::Path;
    use std::rc::Rc;

    fn eval(text: &str) -> crate::Value {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        ev.eval_source("test", text, Path::new("/"))
            .expect("evaluates")
    }

    #[test]
    fn less_than_comparators_are_recognised() {
        assert!(super::is_less_than(&eval("builtins.lessThan")));
        assert!(super::is_less_than(&eval("a: b: a < b")));
        assert!(!super::is_less_than(&eval("a: b: b < a")));
        assert!(!super::is_less_than(&eval("a: b: a > b")));
        assert!(!super::is_less_than(&eval("a: b: a <= b")));
        assert!(!super::is_less_than(&eval("a: let c = a; in b: c < b")));
        assert!(!super::is_less_than(&eval("{ a, b }: a < b")));
        assert!(!super::is_less_than(&eval("builtins.add")));
    }
}
