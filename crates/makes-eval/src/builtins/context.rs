//! String contexts as values: `getContext`, `appendContext`, `hasContext` and the
//! `unsafeDiscard*` built-ins. makes' contexts are plain store paths (`{ path = true; }`).

use super::{arg_attrs, arg_string, attrs_value, BuiltinDef};
use crate::thunk::Thunk;
use crate::value::{Attrs, Context, NixString, Value};
use crate::{EvalError, Result};

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("unsafeDiscardStringContext", 1, |ev, a| {
        Ok(Value::string(arg_string(ev, &a[0])?.bytes()))
    }),
    ("unsafeDiscardOutputDependency", 1, |ev, a| {
        Ok(Value::String(arg_string(ev, &a[0])?))
    }),
    ("hasContext", 1, |ev, a| {
        Ok(Value::Bool(arg_string(ev, &a[0])?.has_context()))
    }),
    ("getContext", 1, |ev, a| {
        let s = arg_string(ev, &a[0])?;
        let mut out = Attrs::new();
        for path in s.context_paths() {
            let mut entry = Attrs::new();
            entry.insert("path", Thunk::value(Value::Bool(true)), None);
            out.insert(path.clone(), Thunk::value(attrs_value(entry)), None);
        }
        Ok(attrs_value(out))
    }),
    ("appendContext", 2, append_context),
];

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
        let wants_path = match info.get("path") {
            Some(p) => matches!(p.value.force(ev)?, Value::Bool(true)),
            None => false,
        };
        if wants_path || info.contains("outputs") || info.contains("allOutputs") {
            context.paths.insert(path.clone());
        }
    }
    Ok(Value::String(NixString::with_context(s.bytes(), context)))
}
