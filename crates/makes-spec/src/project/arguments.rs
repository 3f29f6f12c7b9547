//! The set a module function is applied to: the makes arguments the caller gives, plus the
//! project's lazy `inputs`, `outputs`, `config` (the module system's merged options) and
//! `options` (its option sets), and
//! `projectIdentifier` as makes passes it: the option's value, `""` by default.

use makes_eval::AttrSet;
use makes_eval::{Attrs, EvalError, Thunk, Value};

pub(super) fn project_arguments(
    arguments: Vec<(&str, Thunk)>,
    inputs: Thunk,
    outputs: Thunk,
    config: Thunk,
    options: Thunk,
) -> AttrSet {
    let mut args = Attrs::new();
    // `__packageSetAt` serves `inputs.nixpkgs = ./path` only, and the modules become jobs:
    // neither is a makes argument.
    for (name, value) in arguments
        .into_iter()
        .filter(|(n, _)| *n != "__packageSetAt" && *n != super::MODULES_ARGUMENT)
    {
        args.insert(name, value, None);
    }
    args.insert("inputs", inputs, None);
    args.insert("outputs", outputs, None);
    args.insert(
        "projectIdentifier",
        project_identifier(config.clone()),
        None,
    );
    args.insert("config", config, None);
    args.insert("options", options, None);
    AttrSet::from(args)
}

/// `config.projectIdentifier`, a string, `""` when no module sets it.
fn project_identifier(config: Thunk) -> Thunk {
    Thunk::deferred(move |ev| {
        let Value::Attrs(config) = config.force(ev)? else {
            return Ok(Value::string(""));
        };
        match config.get("projectIdentifier") {
            None => Ok(Value::string("")),
            Some(attr) => match attr.value.force(ev)? {
                Value::Null => Ok(Value::string("")),
                s @ Value::String(_) => Ok(s),
                other => Err(EvalError::type_error("a string", &other, attr.span)),
            },
        }
    })
}
