//! Arguments makes passes that are not implemented here: they exist (a module naming one in
//! its header loads) and fail only when used, naming the argument.

use makes_eval::{EvalError, EvalErrorKind, Thunk};

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
