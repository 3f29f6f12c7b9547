//! `builtins.toFile NAME TEXT`: a text file in the store, referring to the plain store paths
//! of the text's context, as Nix 2.8's `prim_toFile` writes it. A derivation's output cannot
//! be referred to (it may not exist yet); its `.drv` file can (`unsafeDiscardOutputDependency
//! d.drvPath`), and is written into makes' store for it.

use crate::registry::Derivations;
use makes_eval::{Context, EvalError, EvalErrorKind, Evaluator, NixString, Thunk, Value};
use makes_store::StorePath;

pub(crate) fn to_file(
    ev: &Evaluator,
    registry: &Derivations,
    name: &Thunk,
    contents: &Thunk,
) -> makes_eval::Result<Value> {
    let name = crate::builtins::string_without_context(ev, name)?;
    let text = match contents.force(ev)? {
        Value::String(s) => s,
        other => return Err(EvalError::type_error("a string", &other, None)),
    };
    let store = registry.store().ok_or_else(|| {
        EvalError::new(
            EvalErrorKind::NotSupported("builtins.toFile without a store".into()),
            None,
        )
    })?;
    let mut references = Vec::new();
    if let Some(context) = text.context() {
        if let Some(element) = context.encoded().into_iter().find(|e| !e.starts_with('/')) {
            return Err(EvalError::other(
                format!("in 'toFile': the file named '{name}' must not contain a reference to a derivation but contains ({element})"),
                None,
            ));
        }
        for path in &context.paths {
            let sp = if registry.get(path).is_some() {
                registry
                    .write_drv_file(path)
                    .map_err(|e| EvalError::other(e.to_string(), None))?
            } else {
                StorePath::parse(path).map_err(|e| EvalError::other(e.to_string(), None))?
            };
            if !store.is_valid(&sp) {
                return Err(EvalError::other(
                    format!("in 'toFile': the file named '{name}' refers to '{path}', which is not in the store"),
                    None,
                ));
            }
            references.push(sp);
        }
    }
    let sp = store
        .add_text(&name, text.as_bytes(), &references)
        .map_err(|e| EvalError::new(EvalErrorKind::Io(e.to_string()), None))?;
    let abs = sp.to_absolute();
    let mut ctx = Context::default();
    ctx.paths.insert(abs.as_str().into());
    Ok(Value::String(NixString::with_context(abs, ctx)))
}
