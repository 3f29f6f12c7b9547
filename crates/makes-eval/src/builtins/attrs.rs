//! Attribute-set built-ins.

use super::{
    arg_attrs, arg_function, arg_list, arg_string, attrs_value, call, list_value, BuiltinDef,
};
use crate::open_sets::{MappedOpen, RemovedOpen};
use crate::thunk::Thunk;
use crate::value::{Attr, AttrSet, Attrs, Value};
use crate::{EvalError, Evaluator, Result};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The set `t` with every attribute it has, for the builtins that list them: an open set's
/// unlisted names are asked of its source, and an open set whose names cannot be known is an
/// error (a silently shorter list would make `with (mapAttrs f pkgs); x` fail far away).
fn listed_attrs(ev: &Evaluator, t: &Thunk) -> Result<AttrSet> {
    all_attrs(arg_attrs(ev, t)?)
}

/// `attrs` with every attribute it has (see `listed_attrs`): what listing a set (`==`,
/// `toJSON`) needs.
pub(crate) fn all_attrs(attrs: AttrSet) -> Result<AttrSet> {
    let Some(open) = attrs.open_source().cloned() else {
        return Ok(attrs);
    };
    let names = open.names().map_err(|why| {
        EvalError::new(
            crate::EvalErrorKind::External {
                code: "makes::eval::unlisted_names",
                message: format!("cannot list the attributes of a set: {}", why.reason),
                help: why.help,
                related: Vec::new(),
            },
            None,
        )
    })?;
    let mut all = attrs.to_attrs();
    all.set_open_source(None);
    for name in names {
        if all.contains(&name) {
            continue;
        }
        if let Some(value) = open.lookup(&name) {
            all.insert(name, value, None);
        }
    }
    Ok(AttrSet::from(all))
}

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("attrNames", 1, |ev, a| {
        let attrs = listed_attrs(ev, &a[0])?;
        Ok(list_value(
            attrs
                .names()
                .map(|n| Thunk::value(Value::name(n)))
                .collect(),
        ))
    }),
    ("attrValues", 1, |ev, a| {
        let attrs = listed_attrs(ev, &a[0])?;
        Ok(list_value(
            attrs.iter().map(|(_, v)| v.value.clone()).collect(),
        ))
    }),
    ("getAttr", 2, |ev, a| {
        let name = arg_string(ev, &a[0])?;
        let attrs = arg_attrs(ev, &a[1])?;
        match attrs.select(&name.as_name()) {
            Some(attr) => attr.value.force(ev),
            None => Err(EvalError::other(
                format!("attribute '{}' missing for call to 'getAttr'", name.lossy()),
                None,
            )),
        }
    }),
    ("hasAttr", 2, |ev, a| {
        let name = arg_string(ev, &a[0])?;
        let attrs = arg_attrs(ev, &a[1])?;
        Ok(Value::Bool(attrs.has(&name.as_name())))
    }),
    ("removeAttrs", 2, |ev, a| {
        let mut attrs = arg_attrs(ev, &a[0])?.to_attrs();
        let mut names: Vec<Rc<str>> = Vec::new();
        for name in arg_list(ev, &a[1])?.iter() {
            names.push(arg_string(ev, name)?.to_name());
        }
        names.sort_unstable();
        attrs.retain(|n| names.binary_search_by(|k| (**k).cmp(n)).is_err());
        if let Some(open) = attrs.open_source().cloned() {
            attrs.set_open_source(Some(Rc::new(RemovedOpen::new(open, names))));
        }
        Ok(attrs_value(attrs))
    }),
    ("listToAttrs", 1, |ev, a| {
        let list = arg_list(ev, &a[0])?;
        let mut entries = Vec::with_capacity(list.len());
        // The elements are mostly sets of one shape: each name is where it was last time.
        let (name_at, value_at) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
        for item in list.iter() {
            let entry = arg_attrs(ev, item)?;
            let name = entry.get_at_last("name", &name_at).ok_or_else(|| {
                EvalError::other("attribute 'name' missing for call to 'listToAttrs'", None)
            })?;
            let name = arg_string(ev, &name.value)?;
            let value = entry.get_at_last("value", &value_at).ok_or_else(|| {
                EvalError::other("attribute 'value' missing for call to 'listToAttrs'", None)
            })?;
            entries.push((name.to_name(), value.clone()));
        }
        // The first occurrence of a name wins.
        Ok(attrs_value(Attrs::from_entries(entries, true)))
    }),
    ("mapAttrs", 2, |ev, a| {
        arg_function(ev, &a[0])?;
        // Lazy per attribute as in Nix: an open set's unlisted names stay unlisted, each
        // mapped when selected, so mapping a package set needs no listing of its names.
        let attrs = arg_attrs(ev, &a[1])?;
        let open = attrs
            .open_source()
            .map(|open| Rc::new(MappedOpen::new(a[0].clone(), open.clone())) as Rc<_>);
        let mapped = attrs.map_listed(open, |name, attr| {
            let name_v = Thunk::value(Value::name(name));
            let value = Thunk::apply2(a[0].clone(), name_v, attr.value.clone());
            // As Nix: a mapped attribute has no position (`unsafeGetAttrPos` gives null;
            // nixpkgs' module system tells generated options by it).
            Attr { value, span: None }
        });
        Ok(Value::Attrs(mapped))
    }),
    ("intersectAttrs", 2, |ev, a| {
        let x = arg_attrs(ev, &a[0])?;
        let y = arg_attrs(ev, &a[1])?;
        if y.open_source().is_some() {
            // `y`'s names are asked one by one: those of `x`, which must be listed.
            let x = all_attrs(x)?;
            let entries = x
                .names()
                .filter_map(|name| Some((name.clone(), y.select(name)?)))
                .collect();
            return Ok(attrs_value(Attrs::from_sorted(entries)));
        }
        let mut out = y.to_attrs();
        out.retain(|name| x.has(name));
        Ok(attrs_value(out))
    }),
    ("catAttrs", 2, |ev, a| {
        let name = arg_string(ev, &a[0])?;
        let name = name.as_name();
        let mut out = Vec::new();
        for item in arg_list(ev, &a[1])?.iter() {
            let attrs = arg_attrs(ev, item)?;
            if let Some(attr) = attrs.select(&name) {
                out.push(attr.value.clone());
            }
        }
        Ok(list_value(out))
    }),
    ("zipAttrsWith", 2, |ev, a| {
        arg_function(ev, &a[0])?;
        let mut grouped: BTreeMap<Rc<str>, Vec<Thunk>> = BTreeMap::new();
        for item in arg_list(ev, &a[1])?.iter() {
            for (name, attr) in arg_attrs(ev, item)?.iter() {
                grouped
                    .entry(name.clone())
                    .or_default()
                    .push(attr.value.clone());
            }
        }
        let entries = grouped
            .into_iter()
            .map(|(name, values)| {
                let name_v = Thunk::value(Value::name(&name));
                let list = Thunk::value(list_value(values));
                let value = Thunk::apply2(a[0].clone(), name_v, list);
                (name, Attr { value, span: None })
            })
            .collect();
        // The map's order is `str`'s, not the names' bytes': let the set sort them.
        Ok(attrs_value(Attrs::from_entries(entries, true)))
    }),
    ("functionArgs", 1, |ev, a| {
        let f = a[0].force(ev)?;
        let mut out = Attrs::new();
        if let Value::Lambda(closure) = &f {
            if let makes_syntax::ir::Param::Pattern { formals, .. } = &closure.def.param {
                for formal in formals {
                    out.insert(
                        formal.name.clone(),
                        Thunk::value(Value::Bool(formal.default.is_some())),
                        Some(formal.span),
                    );
                }
            }
        } else if !f.is_function() {
            return Err(EvalError::type_error("a function", &f, None));
        }
        Ok(attrs_value(out))
    }),
    ("genericClosure", 1, generic_closure),
    ("unsafeGetAttrPos", 2, |ev, a| {
        let name = arg_string(ev, &a[0])?;
        let attrs = arg_attrs(ev, &a[1])?;
        let Some(span) = name
            .to_str()
            .and_then(|n| attrs.get(n))
            .and_then(|attr| attr.span)
        else {
            return Ok(Value::Null);
        };
        let Some(file) = ev.sources.get(span.file) else {
            return Ok(Value::Null);
        };
        let (line, col) = file.line_col(span.start);
        let mut out = Attrs::new();
        out.insert(
            "file",
            Thunk::value(Value::string(file.name.as_str())),
            None,
        );
        out.insert("line", Thunk::value(Value::Int(line as i64)), None);
        out.insert("column", Thunk::value(Value::Int(col as i64)), None);
        Ok(attrs_value(out))
    }),
];

fn generic_closure(ev: &Evaluator, args: &[Thunk]) -> Result<Value> {
    let spec = arg_attrs(ev, &args[0])?;
    let start = spec
        .get("startSet")
        .ok_or_else(|| EvalError::other("attribute 'startSet' required", None))?;
    let operator = spec
        .get("operator")
        .ok_or_else(|| EvalError::other("attribute 'operator' required", None))?;
    let operator = arg_function(ev, &operator.value)?;
    let mut queue: std::collections::VecDeque<Thunk> =
        arg_list(ev, &start.value)?.iter().cloned().collect();
    // The keys met so far, sorted: as Nix 2.8's ordered set of keys, with its comparison.
    let mut seen: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    while let Some(item) = queue.pop_front() {
        let attrs = arg_attrs(ev, &item)?;
        let key = attrs
            .get("key")
            .ok_or_else(|| EvalError::other("attribute 'key' required", None))?
            .value
            .force(ev)?;
        let mut known = false;
        let (mut low, mut high) = (0, seen.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if key_less(ev, &key, &seen[mid])? {
                high = mid;
            } else if key_less(ev, &seen[mid], &key)? {
                low = mid + 1;
            } else {
                known = true;
                break;
            }
        }
        if known {
            continue;
        }
        seen.insert(low, key);
        out.push(item.clone());
        let next = call(ev, &operator, &[item])?;
        match next {
            Value::List(items) => queue.extend(items.iter().cloned()),
            other => return Err(EvalError::type_error("a list", &other, None)),
        }
    }
    Ok(list_value(out))
}

/// How genericClosure orders keys (Nix 2.8's `CompareValues`): numbers, strings, paths and
/// lists (lexicographically); keys of other types, or of two types that do not compare, are an
/// error naming the new key's type first, as Nix's ordered set asks.
fn key_less(ev: &Evaluator, a: &Value, b: &Value) -> Result<bool> {
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Int(x), Value::Float(y)) => (*x as f64) < *y,
        (Value::Float(x), Value::Int(y)) => *x < (*y as f64),
        (Value::String(x), Value::String(y)) => x.as_bytes() < y.as_bytes(),
        (Value::Path(x), Value::Path(y)) => x < y,
        (Value::List(x), Value::List(y)) => {
            for (i, j) in x.iter().zip(y.iter()) {
                if !ev.thunks_equal(i, j)? {
                    let (i, j) = (i.force(ev)?, j.force(ev)?);
                    return ev.nested(None, || key_less(ev, &i, &j));
                }
            }
            x.len() < y.len()
        }
        _ => {
            return Err(EvalError::other(
                format!("cannot compare {} with {}", a.describe(), b.describe()),
                None,
            ))
        }
    })
}
