//! The project's `inputs`: the modules' `inputs` merged as makes merges them (`//`, a later
//! module winning: the option's type is `attrs`), with the default package set when no module
//! gives `nixpkgs`, and `inputs.nixpkgs = ./path` read as a nixpkgs checkout.

use makes_eval::AttrSet;
use makes_eval::{Attrs, EvalError, Thunk, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// The lazy merged `inputs`. `arguments` gives `__nixpkgs__` (the default set) and
/// `__packageSetAt` (a package set from a path), when the caller has them.
pub(super) fn merged_inputs(
    modules: Rc<RefCell<Vec<AttrSet>>>,
    arguments: &[(&str, Thunk)],
) -> Thunk {
    let find = |name: &str| {
        arguments
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    let default_nixpkgs = find("__nixpkgs__");
    let package_set_at = find("__packageSetAt");
    Thunk::deferred(move |ev| {
        let mut inputs = Attrs::new();
        for module in modules.borrow().iter() {
            let Some(attr) = module.get("inputs") else {
                continue;
            };
            match attr.value.force(ev)? {
                Value::Attrs(a) => {
                    for (k, v) in a.iter() {
                        inputs.insert(k.clone(), v.value.clone(), v.span);
                    }
                }
                other => return Err(EvalError::type_error("a set", &other, attr.span)),
            }
        }
        if let (false, Some(default)) = (inputs.contains("nixpkgs"), &default_nixpkgs) {
            inputs.insert("nixpkgs", default.clone(), None);
        }
        if let (Some(given), Some(at)) = (inputs.get("nixpkgs").cloned(), &package_set_at) {
            let at = at.clone();
            let value = given.value.clone();
            let resolved = Thunk::deferred(move |ev| match value.force(ev)? {
                path @ Value::Path(_) => ev.apply(
                    &at.force(ev)?,
                    Thunk::value(path),
                    given.span.unwrap_or_else(makes_syntax::Span::none),
                ),
                other => Ok(other),
            });
            inputs.insert("nixpkgs", resolved, given.span);
        }
        Ok(Value::attrs(inputs))
    })
}
