//! Arguments implemented natively here: `toDerivationName` (nixpkgs'
//! `sanitizeDerivationName`), `fromYaml`, `projectIdentifier` (makes' default, `""`; the
//! project loader gives the project's own) and `projectSrc`.

use makes_eval::{make_primop, EvalError, PrimOpFn, Thunk, Value};
use makes_spec::sanitize_derivation_name;
use std::path::Path;
use std::rc::Rc;

pub(crate) fn native_arguments(dir: &Path) -> Vec<(&'static str, Thunk)> {
    let root: Rc<str> = dir.to_string_lossy().into();
    let to_name: PrimOpFn = Rc::new(|ev, a| match a[0].force(ev)? {
        Value::String(s) => Ok(Value::string(sanitize_derivation_name(s.utf8()?))),
        other => Err(EvalError::type_error("a string", &other, None)),
    });
    let from_yaml: PrimOpFn = Rc::new(|ev, a| match a[0].force(ev)? {
        Value::String(s) => crate::yaml::from_yaml(s.utf8()?),
        other => Err(EvalError::type_error("a string", &other, None)),
    });
    vec![
        // makes' option default; the project loader gives the project's own value.
        ("projectIdentifier", Thunk::value(Value::string(""))),
        ("projectSrc", Thunk::value(Value::Path(root.into()))),
        (
            "toDerivationName",
            Thunk::value(make_primop("toDerivationName", 1, to_name)),
        ),
        (
            "fromYaml",
            Thunk::value(make_primop("fromYaml", 1, from_yaml)),
        ),
    ]
}
