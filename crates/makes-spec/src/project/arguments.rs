//! The arguments every makes module receives: the ones implemented here (pure helpers,
//! `projectSrc`, `projectIdentifier`, the lazy `inputs`/`outputs`), the native ones given by
//! the caller, and a "not supported yet" error for the rest, raised only when used.

use super::{no_span, MAKES_ARGUMENTS};
use crate::reduce_derivation::sanitize_derivation_name;
use makes_eval::{
    make_primop, Attrs, CoercionMode, EvalError, EvalErrorKind, PrimOpFn, Thunk, Value,
};
use std::path::Path;
use std::rc::Rc;

pub(super) fn makes_arguments(
    dir: &Path,
    native: Vec<(&str, Thunk)>,
    inputs: Thunk,
    outputs: Thunk,
) -> Rc<Attrs> {
    let mut args = Attrs::new();
    for name in MAKES_ARGUMENTS {
        let owned = name.to_string();
        args.insert(
            *name,
            Thunk::deferred(move |_| Err(EvalError::new(EvalErrorKind::NotSupported(owned), None))),
            None,
        );
    }
    args.insert("inputs", inputs, None);
    args.insert("outputs", outputs, None);
    let project_id = dir
        .file_name()
        .map(|n| sanitize_derivation_name(&n.to_string_lossy()))
        .unwrap_or_else(|| "project".into());
    args.insert(
        "projectIdentifier",
        Thunk::value(Value::string(project_id)),
        None,
    );
    let root: Rc<str> = dir.to_string_lossy().into();
    // `projectPath` needs the store: it comes with the native arguments.
    args.insert("projectSrc", Thunk::value(Value::Path(root)), None);
    let to_name: PrimOpFn = Rc::new(|ev, a| match a[0].force(ev)? {
        Value::String(s) => Ok(Value::string(sanitize_derivation_name(s.as_str()))),
        other => Err(EvalError::type_error("a string", &other, None)),
    });
    args.insert(
        "toDerivationName",
        Thunk::value(make_primop("toDerivationName", 1, to_name)),
        None,
    );
    let attrs_optional: PrimOpFn = Rc::new(|ev, a| match a[0].force(ev)? {
        Value::Bool(true) => a[1].force(ev),
        Value::Bool(false) => Ok(Value::Attrs(Rc::new(Attrs::new()))),
        other => Err(EvalError::type_error("a Boolean", &other, None)),
    });
    args.insert(
        "attrsOptional",
        Thunk::value(make_primop("attrsOptional", 2, attrs_optional)),
        None,
    );
    let to_bash_array: PrimOpFn = Rc::new(|ev, a| {
        let Value::List(items) = a[0].force(ev)? else {
            return Err(EvalError::other("toBashArray expects a list", None));
        };
        let mut context = makes_eval::Context::default();
        let mut words = Vec::new();
        for item in items.iter() {
            let v = item.force(ev)?;
            let s = ev.coerce_to_string(&v, CoercionMode::TO_STRING, no_span())?;
            s.merge_context_into(&mut context);
            words.push(format!("'{}'", s.as_str().replace('\'', "'\\''")));
        }
        Ok(Value::String(makes_eval::NixString::with_context(
            format!("( {} )", words.join(" ")),
            context,
        )))
    });
    let from_yaml: PrimOpFn = Rc::new(|ev, a| match a[0].force(ev)? {
        Value::String(s) => super::yaml::from_yaml(s.as_str()),
        other => Err(EvalError::type_error("a string", &other, None)),
    });
    args.insert(
        "fromYaml",
        Thunk::value(make_primop("fromYaml", 1, from_yaml)),
        None,
    );
    args.insert(
        "toBashArray",
        Thunk::value(make_primop("toBashArray", 1, to_bash_array)),
        None,
    );
    // `__packageSetAt` serves `inputs.nixpkgs = ./path` only; it is no makes argument.
    for (name, value) in native.into_iter().filter(|(n, _)| *n != "__packageSetAt") {
        args.insert(name, value, None);
    }
    Rc::new(args)
}
