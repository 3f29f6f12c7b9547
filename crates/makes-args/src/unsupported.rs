//! Arguments makes passes that are not implemented here: they exist (a module naming one in
//! its header loads) and fail only when used, naming the argument. A function fails when it
//! is called, at the call (the evaluator gives a built-in's error the span of its call).

use makes_eval::{make_primop, EvalError, EvalErrorKind, PrimOpFn, Thunk};
use std::rc::Rc;

/// A function that fails when called.
pub(crate) fn function(name: &'static str) -> Thunk {
    let fail: PrimOpFn = Rc::new(move |_, _| Err(not_supported(name)));
    Thunk::value(make_primop(name, 1, fail))
}

/// A value that fails when forced.
pub(crate) fn value(name: &'static str) -> Thunk {
    Thunk::deferred(move |_| Err(not_supported(name)))
}

fn not_supported(name: &str) -> EvalError {
    EvalError::new(
        EvalErrorKind::NotSupported(format!("the makes argument '{name}'")),
        None,
    )
}
