//! String contexts as values: `getContext`, `appendContext`, `hasContext` and the
//! `unsafeDiscard*` built-ins, over Nix's three kinds of context (a plain path
//! `{ path = true; }`, a derivation with all its outputs `{ allOutputs = true; }`, outputs of a
//! derivation `{ outputs = [ ... ]; }`), as Nix 2.8's `primops/context.cc` has them.

use super::{arg_attrs, arg_list, arg_string, attrs_value, list_value, BuiltinDef};
use crate::thunk::Thunk;
use crate::value::{Attrs, Context, NixString, Value};
use crate::{EvalError, Result};
use std::collections::BTreeMap;
use std::rc::Rc;

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    // These two coerce as interpolation does (a derivation, a set with `__toString`, a path
    // copied to the store), as Nix 2.8 does.
    ("unsafeDiscardStringContext", 1, |ev, a| {
        Ok(Value::string(coerced(ev, &a[0])?.bytes()))
    }),
    ("unsafeDiscardOutputDependency", 1, |ev, a| {
        let s = coerced(ev, &a[0])?;
        let Some(old) = s.context() else {
            return Ok(Value::String(s));
        };
        // A derivation's "all outputs" becomes the plain `.drv` path: the builder gets the
        // file without anything being built.
        let mut context = old.clone();
        let derivations = std::mem::take(&mut context.derivations);
        context.paths.extend(derivations);
        Ok(Value::String(NixString::with_context(s.bytes(), context)))
    }),
    ("addDrvOutputDependencies", 1, add_drv_output_dependencies),
    ("hasContext", 1, |ev, a| {
        Ok(Value::Bool(arg_string(ev, &a[0])?.has_context()))
    }),
    ("getContext", 1, get_context),
    ("appendContext", 2, append_context),
];

/// The opposite of `unsafeDiscardOutputDependency` (a newer Nix's built-in): the one plain
/// `.drv` path of the context becomes the derivation with all its outputs (one that already
/// is stays as it is).
fn add_drv_output_dependencies(ev: &crate::Evaluator, a: &[Thunk]) -> Result<Value> {
    let s = coerced(ev, &a[0])?;
    let empty = Context::default();
    let context = s.context().unwrap_or(&empty);
    let count = context.paths.len() + context.derivations.len() + context.outputs.len();
    if count != 1 {
        return Err(EvalError::other(
            format!(
                "context of string '{}' must have exactly one element, but has {count}",
                s.lossy()
            ),
            None,
        ));
    }
    let drv = if let Some(path) = context.paths.first() {
        if !path.ends_with(".drv") {
            return Err(EvalError::other(
                format!("path '{path}' is not a derivation"),
                None,
            ));
        }
        path.clone()
    } else if let Some(drv) = context.derivations.first() {
        drv.clone()
    } else {
        let output = context.outputs.first().map_or("", |(_, o)| &**o);
        return Err(EvalError::other(
            format!(
                "`addDrvOutputDependencies` can only act on derivations, not on a derivation output such as '{output}'"
            ),
            None,
        ));
    };
    let mut deep = Context::default();
    deep.derivations.insert(drv);
    Ok(Value::String(NixString::with_context(s.bytes(), deep)))
}

fn coerced(ev: &crate::Evaluator, t: &Thunk) -> Result<NixString> {
    let v = t.force(ev)?;
    ev.coerce_to_string(&v, crate::CoercionMode::INTERPOLATION, super::no_span())
}

#[derive(Default)]
struct ContextInfo {
    path: bool,
    all_outputs: bool,
    outputs: Vec<Rc<str>>,
}

fn get_context(ev: &crate::Evaluator, a: &[Thunk]) -> Result<Value> {
    let s = arg_string(ev, &a[0])?;
    let mut infos: BTreeMap<Rc<str>, ContextInfo> = BTreeMap::new();
    if let Some(context) = s.context() {
        for path in &context.paths {
            infos.entry(path.clone()).or_default().path = true;
        }
        for drv in &context.derivations {
            infos.entry(drv.clone()).or_default().all_outputs = true;
        }
        for (drv, output) in &context.outputs {
            infos
                .entry(drv.clone())
                .or_default()
                .outputs
                .push(output.clone());
        }
    }
    let mut out = Attrs::new();
    for (key, info) in infos {
        let mut entry = Attrs::new();
        if info.path {
            entry.insert("path", Thunk::value(Value::Bool(true)), None);
        }
        if info.all_outputs {
            entry.insert("allOutputs", Thunk::value(Value::Bool(true)), None);
        }
        if !info.outputs.is_empty() {
            let names = info
                .outputs
                .into_iter()
                .map(|o| Thunk::value(Value::string(o)))
                .collect();
            entry.insert("outputs", Thunk::value(list_value(names)), None);
        }
        out.insert(key, Thunk::value(attrs_value(entry)), None);
    }
    Ok(attrs_value(out))
}

fn append_context(ev: &crate::Evaluator, a: &[Thunk]) -> Result<Value> {
    let s = arg_string(ev, &a[0])?;
    let extra = arg_attrs(ev, &a[1])?;
    let mut context = Context::default();
    s.merge_context_into(&mut context);
    for (path, info) in extra.iter() {
        if !path.starts_with("/nix/store/") {
            return Err(EvalError::other(
                format!("Context key '\"{path}\"' is not a store path"),
                None,
            ));
        }
        let info = arg_attrs(ev, &info.value)?;
        let is_derivation = path.ends_with(".drv");
        if let Some(p) = info.get("path") {
            if forced_bool(ev, &p.value)? {
                context.paths.insert(path.clone());
            }
        }
        if let Some(all) = info.get("allOutputs") {
            if forced_bool(ev, &all.value)? {
                if !is_derivation {
                    return Err(EvalError::other(
                        format!("Tried to add all-outputs context of {path}, which is not a derivation, to a string"),
                        None,
                    ));
                }
                context.derivations.insert(path.clone());
            }
        }
        if let Some(outputs) = info.get("outputs") {
            let outputs = arg_list(ev, &outputs.value)?;
            if !outputs.is_empty() && !is_derivation {
                return Err(EvalError::other(
                    format!("Tried to add derivation output context of {path}, which is not a derivation, to a string"),
                    None,
                ));
            }
            for output in outputs.iter() {
                let name = arg_string(ev, output)?;
                if name.has_context() {
                    return Err(EvalError::other(
                        format!(
                            "the string '{}' is not allowed to refer to a store path",
                            name.lossy()
                        ),
                        None,
                    ));
                }
                context.outputs.insert((path.clone(), name.to_rc_str()?));
            }
        }
    }
    Ok(Value::String(NixString::with_context(s.bytes(), context)))
}

fn forced_bool(ev: &crate::Evaluator, t: &Thunk) -> Result<bool> {
    match t.force(ev)? {
        Value::Bool(b) => Ok(b),
        other => Err(EvalError::type_error("a Boolean", &other, None)),
    }
}
