//! The module system's `options` argument as makes' module evaluation passes it: an option
//! set per top-level option (makes' core options, `inputs`, `outputs`, `jobs` and the modules
//! of the release whose rules apply, plus any other the project sets), each
//! `{ _type = "option"; loc = [ NAME ]; isDefined; value; definitions; }` as nixpkgs' lib
//! makes them: `value` is what `config.NAME` holds (an option no module defines fails when its
//! value is read, with the module system's message), `definitions` the modules' own values in
//! order. Options makes declares inside a module's set (`lintNix.enable`) are one option here,
//! the set, since the loader merges modules without their declarations.

use super::modules::MODULES;
use super::release::Release;
use makes_eval::AttrSet;
use makes_eval::{Attrs, EvalError, EvalErrorKind, Thunk, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// makes' own options (its `src/evaluator/modules/default.nix` and the loader's).
const CORE: &[&str] = &[
    "config",
    "configAsJson",
    "extendingMakesDirs",
    "globalStateDir",
    "inputs",
    "jobs",
    "outputs",
    "projectIdentifier",
    "projectStateDir",
];

/// `options`, lazily: nothing is read before a module uses it.
pub(super) fn options_argument(
    modules: Rc<RefCell<Vec<AttrSet>>>,
    config: Thunk,
    release: Release,
) -> Thunk {
    Thunk::deferred(move |_| {
        let mut names: Vec<Rc<str>> = CORE.iter().map(|n| Rc::from(*n)).collect();
        names.extend(
            MODULES
                .iter()
                .filter(|m| m.first <= release && release <= m.last)
                .map(|m| Rc::from(m.name)),
        );
        names.extend(
            modules
                .borrow()
                .iter()
                .flat_map(|m| m.names().cloned().collect::<Vec<_>>())
                .filter(|n| &**n != "imports"),
        );
        names.sort();
        names.dedup();
        let mut options = Attrs::new();
        for name in names {
            let definitions: Vec<Thunk> = modules
                .borrow()
                .iter()
                .filter_map(|m| m.get(&name).map(|a| a.value.clone()))
                .collect();
            let option = option(&name, definitions, config.clone());
            options.insert(name, Thunk::value(option), None);
        }
        Ok(Value::attrs(options))
    })
}

/// One option set.
fn option(name: &Rc<str>, definitions: Vec<Thunk>, config: Thunk) -> Value {
    let mut option = Attrs::new();
    option.insert("_type", Thunk::value(Value::string("option")), None);
    option.insert(
        "loc",
        Thunk::value(Value::list(vec![Thunk::value(Value::string(name.clone()))])),
        None,
    );
    let name_for_value = name.clone();
    let value = Thunk::deferred(move |ev| {
        let Value::Attrs(config) = config.force(ev)? else {
            return Ok(Value::Null);
        };
        match config.get(&name_for_value) {
            Some(attr) => attr.value.force(ev),
            // The module system's own message for an option read without a definition, thrown
            // as it throws it. (makes' options with defaults have them in makes' declarations,
            // which the loader does not have: `config.NAME` is where a module reads them.)
            None => Err(EvalError::new(
                EvalErrorKind::Throw(format!(
                    "The option `{name_for_value}' is used but not defined."
                )),
                None,
            )),
        }
    });
    let defined = !definitions.is_empty() || matches!(&**name, "inputs" | "outputs" | "jobs");
    option.insert("isDefined", Thunk::value(Value::Bool(defined)), None);
    option.insert("value", value, None);
    option.insert("definitions", Thunk::value(Value::list(definitions)), None);
    Value::attrs(option)
}
