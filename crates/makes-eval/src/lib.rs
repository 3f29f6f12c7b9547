//! The lazy Nix evaluator of makes: values, thunks, scopes and built-ins.
//!
//! It walks the lowered tree of `makes-syntax`. File access and store imports go through
//! `EvalIo`; built-ins that need the store are registered from outside
//! (`Evaluator::with_extra_builtins`), so this crate knows nothing of stores, tars or HTTP.

mod builtins;
mod captured;
mod corepkgs;
mod error;
mod eval;
mod files;
mod io;
mod literals;
pub mod memory;
mod open_sets;
mod ops;
mod pool;
mod print;
pub mod terminal_text;
mod thin_rc;
mod thunk;
mod value;

pub use builtins::json::{from_json, to_json, to_json_text};
pub use builtins::make_primop;
pub use builtins::xml::to_xml;
pub use captured::CapturedVariable;
pub use error::{did_you_mean, EvalError, EvalErrorKind, ExternalNote, Result};
pub use eval::{CoercionMode, Env, EvalOptions, Evaluator};
pub use io::{DiskIo, EvalIo, FileKind};
pub use makes_syntax::byte_text::{bytes_to_text, text_to_bytes};
pub use pool::Counted;
pub use print::{print_value, quote_bytes, quote_string};
pub use thunk::Thunk;
pub use value::{
    Attr, AttrSet, Attrs, Closure, Context, IntoNixBytes, List, NixString, OpenAttrs, PathText,
    PrimOp, PrimOpApp, PrimOpFn, UnlistedNames, Value,
};

/// Runs `f` on a thread with a large stack, so that deep (but bounded) evaluation never
/// overflows the stack; the evaluator's own depth limit reports runaway recursion first.
pub fn run_with_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    const STACK: usize = 1 << 30;
    let on_thread = move || {
        let out = f();
        // The thread ends here: its pooled blocks go back to the allocator.
        pool::close();
        out
    };
    match std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(on_thread)
    {
        Ok(handle) => match handle.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        // No thread could be made (resource limits): run here with the depth limit alone.
        Err(_) => unreachable_thread_fallback(),
    }
}

fn unreachable_thread_fallback() -> ! {
    eprintln!("error: could not start the evaluation thread");
    std::process::exit(1)
}
