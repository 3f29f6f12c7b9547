//! Thunks: memoised suspended computations with an explicit black-hole state, so that a value
//! that depends on itself is reported as "infinite recursion encountered" instead of hanging.

use crate::value::Value;
use crate::{Env, EvalError, Evaluator, Result};
use makes_syntax::ir::ExprRef;
use makes_syntax::Span;
use std::cell::UnsafeCell;
use std::rc::Rc;

type Deferred = Box<dyn FnOnce(&Evaluator) -> Result<Value>>;

enum State {
    /// An expression to evaluate in an environment.
    Suspended {
        expr: ExprRef,
        env: Env,
    },
    /// A native computation.
    Deferred(Deferred),
    /// A function applied to one argument (the elements of `map f xs`, `genList f n`).
    Apply {
        func: Thunk,
        arg: Thunk,
    },
    /// A function applied to two arguments (the values of `mapAttrs f set`).
    Apply2 {
        func: Thunk,
        first: Thunk,
        second: Thunk,
    },
    /// Being forced right now; forcing it again is infinite recursion.
    Blackhole(Option<Span>),
    Done(Value),
}

/// A shared, lazily evaluated value.
#[derive(Clone)]
pub struct Thunk(Rc<Cell>);

/// A thunk's state, read and replaced without a borrow flag (which `RefCell` would check on
/// every force and keep in every thunk: 8 of its 56 bytes).
///
/// Sound because every access is in this module and short: a shared reference into the
/// cell lives only while a `Value` is cloned or a span copied ([`Cell::state`]), and a
/// replacement moves the old state out before anything is dropped or evaluated
/// ([`Cell::replace`]). Neither cloning a value nor moving a state runs code that could reach
/// this cell again, and the evaluation a force starts runs with no reference into it (the
/// state is moved out first, a black hole in its place). `Rc` makes the type neither `Send`
/// nor `Sync`, so no other thread can reach it.
struct Cell(UnsafeCell<State>);

impl Cell {
    fn new(state: State) -> Rc<Cell> {
        Rc::new(Cell(UnsafeCell::new(state)))
    }

    /// The state, to read without keeping (see the type's comment).
    #[inline]
    fn state(&self) -> &State {
        // SAFETY: no `&mut` to the state exists: `replace` makes none that outlives it.
        unsafe { &*self.0.get() }
    }

    /// Puts `new` in the cell and returns the old state, for the caller to drop or run.
    #[inline]
    fn replace(&self, new: State) -> State {
        // SAFETY: no reference into the cell is held by any caller across this call (see
        // the type's comment), so this write aliases nothing.
        unsafe { std::ptr::replace(self.0.get(), new) }
    }
}

impl Thunk {
    /// The bytes one thunk takes: its pointer and its shared cell (with the two counts of
    /// `Rc`), for the memory ceiling's up-front checks.
    pub(crate) const BYTES: usize = std::mem::size_of::<Thunk>()
        + std::mem::size_of::<Cell>()
        + 2 * std::mem::size_of::<usize>();

    pub fn suspended(expr: ExprRef, env: Env) -> Thunk {
        Thunk(Cell::new(State::Suspended { expr, env }))
    }

    pub fn deferred(f: impl FnOnce(&Evaluator) -> Result<Value> + 'static) -> Thunk {
        Thunk(Cell::new(State::Deferred(Box::new(f))))
    }

    /// `func arg`, computed when forced; `func` must already be a function value.
    pub(crate) fn apply(func: Thunk, arg: Thunk) -> Thunk {
        Thunk(Cell::new(State::Apply { func, arg }))
    }

    /// `func first second`, computed when forced.
    pub(crate) fn apply2(func: Thunk, first: Thunk, second: Thunk) -> Thunk {
        Thunk(Cell::new(State::Apply2 {
            func,
            first,
            second,
        }))
    }

    pub fn value(v: Value) -> Thunk {
        Thunk(Cell::new(State::Done(v)))
    }

    /// A slot filled later with `set_suspended` (the frames of `rec` and `let`).
    pub(crate) fn placeholder() -> Thunk {
        Thunk(Cell::new(State::Blackhole(None)))
    }

    pub(crate) fn set_value(&self, v: Value) {
        replace_state(&self.0, State::Done(v));
    }

    pub(crate) fn set_suspended(&self, expr: ExprRef, env: Env) {
        replace_state(&self.0, State::Suspended { expr, env });
    }

    /// Makes this thunk stand for `target`: forcing it forces `target` (a `rec` set's slot
    /// replaced by its `__overrides`).
    pub(crate) fn set_alias(&self, target: Thunk) {
        // A thunk standing for itself would be a cycle: it already is its target.
        if Rc::ptr_eq(&self.0, &target.0) {
            return;
        }
        replace_state(
            &self.0,
            State::Deferred(Box::new(move |ev| target.force(ev))),
        );
    }

    /// Whether both are the same thunk (not merely equal values).
    pub fn ptr_eq(&self, other: &Thunk) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// Where the thunk lives: its identity (printing tells values apart by it).
    pub(crate) fn addr(&self) -> usize {
        Rc::as_ptr(&self.0) as *const () as usize
    }

    /// The value if already computed.
    pub fn peek(&self) -> Option<Value> {
        match self.0.state() {
            State::Done(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// Evaluates (once) and returns the value.
    #[inline]
    pub fn force(&self, ev: &Evaluator) -> Result<Value> {
        // A value already computed is returned inline; the rest is out of line.
        if let State::Done(v) = self.0.state() {
            return Ok(v.clone());
        }
        self.force_pending(ev)
    }

    #[inline(never)]
    fn force_pending(&self, ev: &Evaluator) -> Result<Value> {
        let span = match self.0.state() {
            State::Done(v) => return Ok(v.clone()),
            State::Blackhole(span) => return Err(EvalError::infinite_recursion(*span)),
            State::Suspended { expr, .. } => Some(expr.span),
            State::Deferred(_) | State::Apply { .. } | State::Apply2 { .. } => None,
        };
        let state = self.0.replace(State::Blackhole(span));
        let result = match state {
            State::Suspended { expr, env } => ev.eval(&expr, &env),
            State::Deferred(f) => f(ev),
            State::Apply { func, arg } => func
                .force(ev)
                .and_then(|f| ev.apply(&f, arg, crate::builtins::no_span())),
            State::Apply2 {
                func,
                first,
                second,
            } => func
                .force(ev)
                .and_then(|f| ev.apply2(&f, first, second, crate::builtins::no_span())),
            State::Blackhole(_) | State::Done(_) => unreachable!("handled above"),
        };
        match result {
            Ok(v) => {
                replace_state(&self.0, State::Done(v.clone()));
                Ok(v)
            }
            Err(e) => {
                // Leave it black-holed only for recursion; otherwise a later force (e.g. after
                // `tryEval`) must see the same error again, so re-suspend as a failing thunk.
                let again = e.clone();
                replace_state(&self.0, State::Deferred(Box::new(move |_| Err(again))));
                Err(e)
            }
        }
    }
}

/// Puts `new` in `cell`. The state replaced is most often a black hole (a placeholder, or a
/// thunk being forced), which holds nothing to free: that case skips the general drop.
#[inline]
fn replace_state(cell: &Cell, new: State) {
    let old = cell.replace(new);
    match old {
        State::Blackhole(_) => std::mem::forget(old),
        other => drop(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thunk_is_one_pointer_to_48_bytes() {
        assert_eq!(std::mem::size_of::<Thunk>(), 8);
        // The two counts of `Rc` and a state of a tag and three words (`Apply2`'s thunks).
        assert_eq!(Thunk::BYTES, 8 + 48);
    }

    #[test]
    fn values_set_later_replace_placeholders() {
        let t = Thunk::placeholder();
        assert!(t.peek().is_none());
        t.set_value(Value::Int(3));
        assert!(matches!(t.peek(), Some(Value::Int(3))));
        let u = Thunk::value(Value::Null);
        u.set_alias(u.clone());
        assert!(matches!(u.peek(), Some(Value::Null)));
    }
}
