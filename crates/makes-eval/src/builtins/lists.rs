//! List built-ins.

use super::{arg_function, arg_int, arg_list, attrs_value, call, list_value, BuiltinDef};
use crate::thunk::Thunk;
use crate::value::{Attrs, Value};
use crate::{EvalError, Evaluator, Result};
use std::collections::BTreeMap;
use std::rc::Rc;

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("length", 1, |ev, a| {
        Ok(Value::Int(arg_list(ev, &a[0])?.len() as i64))
    }),
    ("head", 1, |ev, a| match arg_list(ev, &a[0])?.first() {
        Some(t) => t.force(ev),
        None => Err(EvalError::other("list index 0 is out of bounds", None)),
    }),
    ("tail", 1, |ev, a| {
        let list = arg_list(ev, &a[0])?;
        if list.is_empty() {
            return Err(EvalError::other("'tail' called on an empty list", None));
        }
        Ok(Value::list_from(list[1..].iter().cloned()))
    }),
    ("elemAt", 2, |ev, a| {
        let list = arg_list(ev, &a[0])?;
        let i = arg_int(ev, &a[1])?;
        match usize::try_from(i).ok().and_then(|i| list.get(i)) {
            Some(t) => t.force(ev),
            None => Err(EvalError::other(
                format!("list index {i} is out of bounds"),
                None,
            )),
        }
    }),
    ("elem", 2, |ev, a| {
        a[0].force(ev)?;
        for item in arg_list(ev, &a[1])?.iter() {
            if ev.thunks_equal(&a[0], item)? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    }),
    ("map", 2, |ev, a| {
        a[0].force(ev)?;
        let list = arg_list(ev, &a[1])?;
        Ok(Value::list_from(
            list.iter().map(|x| Thunk::apply(a[0].clone(), x.clone())),
        ))
    }),
    ("filter", 2, |ev, a| {
        let f = arg_function(ev, &a[0])?;
        let mut out = Vec::new();
        for x in arg_list(ev, &a[1])?.iter() {
            if truthy(call(ev, &f, std::slice::from_ref(x))?)? {
                out.push(x.clone());
            }
        }
        Ok(list_value(out))
    }),
    ("foldl'", 3, |ev, a| {
        let f = arg_function(ev, &a[0])?;
        // As Nix: each step's result is forced, the initial accumulator only when the list
        // is empty (`foldl' (_: x: x) (throw "unused") [ 1 ]` is 1).
        let mut acc = a[1].clone();
        let mut last = None;
        for x in arg_list(ev, &a[2])?.iter() {
            let v = ev.apply2(&f, acc, x.clone(), super::no_span())?;
            acc = Thunk::value(v.clone());
            last = Some(v);
        }
        match last {
            Some(v) => Ok(v),
            None => a[1].force(ev),
        }
    }),
    ("concatLists", 1, |ev, a| {
        let lists = arg_list(ev, &a[0])?
            .iter()
            .map(|l| arg_list(ev, l))
            .collect::<Result<Vec<_>>>()?;
        // As Nix: when only one list has elements, the result is that list itself (printing
        // then shows it as repeated), and no copy is made.
        let mut non_empty = lists.iter().filter(|l| !l.is_empty());
        if let (Some(only), None) = (non_empty.next(), non_empty.next()) {
            return Ok(Value::List(only.clone()));
        }
        let len = lists.iter().map(|l| l.len()).sum();
        let mut out = Vec::with_capacity(len);
        for l in &lists {
            out.extend(l.iter().cloned());
        }
        Ok(list_value(out))
    }),
    ("concatMap", 2, |ev, a| {
        let f = arg_function(ev, &a[0])?;
        let mut out = Vec::new();
        for x in arg_list(ev, &a[1])?.iter() {
            match call(ev, &f, std::slice::from_ref(x))? {
                Value::List(l) => out.extend(l.iter().cloned()),
                other => return Err(EvalError::type_error("a list", &other, None)),
            }
        }
        Ok(list_value(out))
    }),
    ("genList", 2, |ev, a| {
        let f = arg_function(ev, &a[0])?;
        let n = arg_int(ev, &a[1])?;
        if n < 0 {
            return Err(EvalError::other(
                format!("cannot create list of size {n}"),
                None,
            ));
        }
        // One check for the whole list: a billion elements is an error, not an abort.
        crate::memory::reserve((n as usize).saturating_mul(Thunk::BYTES), None)?;
        let f = Thunk::value(f);
        // `n` is not negative (checked above) and fits a `usize` (reserved above).
        Ok(Value::list_from((0..n as usize).map(|i| {
            Thunk::apply(f.clone(), Thunk::value(Value::Int(i as i64)))
        })))
    }),
    ("any", 2, |ev, a| {
        let f = arg_function(ev, &a[0])?;
        for x in arg_list(ev, &a[1])?.iter() {
            if truthy(call(ev, &f, std::slice::from_ref(x))?)? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    }),
    ("all", 2, |ev, a| {
        let f = arg_function(ev, &a[0])?;
        for x in arg_list(ev, &a[1])?.iter() {
            if !truthy(call(ev, &f, std::slice::from_ref(x))?)? {
                return Ok(Value::Bool(false));
            }
        }
        Ok(Value::Bool(true))
    }),
    ("sort", 2, sort),
    ("partition", 2, |ev, a| {
        let f = arg_function(ev, &a[0])?;
        let (mut right, mut wrong) = (Vec::new(), Vec::new());
        for x in arg_list(ev, &a[1])?.iter() {
            if truthy(call(ev, &f, std::slice::from_ref(x))?)? {
                right.push(x.clone());
            } else {
                wrong.push(x.clone());
            }
        }
        let mut out = Attrs::new();
        out.insert("right", Thunk::value(list_value(right)), None);
        out.insert("wrong", Thunk::value(list_value(wrong)), None);
        Ok(attrs_value(out))
    }),
    ("groupBy", 2, |ev, a| {
        let f = arg_function(ev, &a[0])?;
        let mut groups: BTreeMap<Rc<str>, Vec<Thunk>> = BTreeMap::new();
        for x in arg_list(ev, &a[1])?.iter() {
            let key = match call(ev, &f, std::slice::from_ref(x))? {
                Value::String(s) => s.to_name(),
                other => return Err(EvalError::type_error("a string", &other, None)),
            };
            groups.entry(key).or_default().push(x.clone());
        }
        Ok(attrs_value(
            groups
                .into_iter()
                .map(|(k, v)| (k, Thunk::value(list_value(v))))
                .collect(),
        ))
    }),
];

fn truthy(v: Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(b),
        other => Err(EvalError::type_error("a Boolean", &other, None)),
    }
}

/// A stable merge sort with a Nix comparator, which is called once per comparison (as
/// `less(later, earlier)`); an error from the comparator ends the sort. Never panics, whatever
/// the comparator answers.
fn sort(ev: &Evaluator, args: &[Thunk]) -> Result<Value> {
    let f = arg_function(ev, &args[0])?;
    let mut items: Vec<Thunk> = arg_list(ev, &args[1])?.to_vec();
    if items.len() > 1 && super::sort_fast::is_less_than(&f) {
        if let Some(sorted) = super::sort_fast::sort_by_less_than(ev, &items)? {
            return Ok(list_value(sorted));
        }
    }
    let less = |p: &Thunk, q: &Thunk| {
        ev.apply2(&f, p.clone(), q.clone(), super::no_span())
            .and_then(truthy)
    };
    const RUN: usize = 8;
    // Sorted runs of RUN items by insertion.
    for start in (0..items.len()).step_by(RUN) {
        let end = (start + RUN).min(items.len());
        for i in start + 1..end {
            let mut j = i;
            while j > start && less(&items[j], &items[j - 1])? {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
    }
    // Then merges of neighbouring runs, taking from the right only when strictly less.
    let mut width = RUN;
    let mut scratch: Vec<Thunk> = Vec::with_capacity(items.len());
    while width < items.len() {
        scratch.clear();
        for start in (0..items.len()).step_by(2 * width) {
            let mid = (start + width).min(items.len());
            let end = (start + 2 * width).min(items.len());
            let (mut i, mut j) = (start, mid);
            while i < mid && j < end {
                if less(&items[j], &items[i])? {
                    scratch.push(items[j].clone());
                    j += 1;
                } else {
                    scratch.push(items[i].clone());
                    i += 1;
                }
            }
            scratch.extend_from_slice(&items[i..mid]);
            scratch.extend_from_slice(&items[j..end]);
        }
        std::mem::swap(&mut items, &mut scratch);
        width *= 2;
    }
    Ok(list_value(items))
}
