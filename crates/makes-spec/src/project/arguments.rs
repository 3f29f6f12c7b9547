//! The set a module function is applied to: the makes arguments the caller gives, plus the
//! project's lazy `inputs`, `outputs` and `config` (the module system's merged options).

use makes_eval::{Attrs, Thunk};
use std::rc::Rc;

pub(super) fn project_arguments(
    arguments: Vec<(&str, Thunk)>,
    inputs: Thunk,
    outputs: Thunk,
    config: Thunk,
) -> Rc<Attrs> {
    let mut args = Attrs::new();
    // `__packageSetAt` serves `inputs.nixpkgs = ./path` only; it is no makes argument.
    for (name, value) in arguments
        .into_iter()
        .filter(|(n, _)| *n != "__packageSetAt")
    {
        args.insert(name, value, None);
    }
    args.insert("inputs", inputs, None);
    args.insert("outputs", outputs, None);
    args.insert("config", config, None);
    Rc::new(args)
}
