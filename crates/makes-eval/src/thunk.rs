//! Thunks: memoised suspended computations with an explicit black-hole state, so that a value
//! that depends on itself is reported as "infinite recursion encountered" instead of hanging.

use crate::pool::Counted;
use crate::value::Value;
use crate::{Env, EvalError, Evaluator, Result};
use makes_syntax::ir::ExprRef;
use makes_syntax::Span;
use std::cell::UnsafeCell;

type Deferred = Box<dyn FnOnce(&Evaluator) -> Result<Value>>;

/// What a thunk holds. Every variant is at most two words, so that with its tag the state is
/// three words and a thunk's allocation, with its count, four (32 bytes, where `Rc`'s second
/// count and a three-word variant made 48): the evaluator's memory is mostly thunks, and fewer
/// bytes are fewer fresh pages for the kernel to fault in and clear.
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
    /// A function applied to two arguments (the values of `mapAttrs f set`): the function
    /// and both arguments, out of line to keep every state at two words.
    Apply2(Box<[Thunk; 3]>),
    /// Being forced right now; forcing it again is infinite recursion.
    Blackhole(Option<Span>),
    Done(Value),
}

/// A shared, lazily evaluated value: one pointer to a count and a state in one pooled block
/// (see [`Counted`]: no weak count, and freed blocks reused by the next thunk). Neither `Send`
/// nor `Sync`: no other thread can reach a thunk.
#[derive(Clone)]
pub struct Thunk(Counted<Cell>);

/// A thunk's state, read and replaced without a borrow flag (which `RefCell` would check on
/// every force and keep in every thunk).
///
/// Sound because every access is in this module and short: a shared reference into the
/// cell lives only while a `Value` is cloned or a span copied ([`Cell::state`]), or while a
/// computed value is borrowed ([`Thunk::peek_ref`], whose comment says why that is sound), and a
/// replacement moves the old state out before anything is dropped or evaluated
/// ([`Cell::replace`]). Neither cloning a value nor moving a state runs code that could reach
/// this cell again, and the evaluation a force starts runs with no reference into it (the
/// state is moved out first, a black hole in its place). No other thread can reach it (see
/// [`Thunk`]).
struct Cell(UnsafeCell<State>);

impl Cell {
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
    /// A new thunk, the only one pointing to its block.
    #[inline]
    fn new(state: State) -> Thunk {
        Thunk(Counted::new(Cell(UnsafeCell::new(state))))
    }

    /// The state cell (see [`Cell`]).
    #[inline]
    fn cell(&self) -> &Cell {
        &self.0
    }

    /// How many `Thunk`s share this one's block.
    #[cfg(test)]
    fn count(&self) -> usize {
        Counted::count(&self.0)
    }
}

impl Thunk {
    /// The bytes one thunk takes: its pointer and its allocation (count and state), for the
    /// memory ceiling's up-front checks.
    pub(crate) const BYTES: usize = std::mem::size_of::<Thunk>() + Counted::<Cell>::BLOCK_BYTES;

    pub fn suspended(expr: ExprRef, env: Env) -> Thunk {
        Thunk::new(State::Suspended { expr, env })
    }

    pub fn deferred(f: impl FnOnce(&Evaluator) -> Result<Value> + 'static) -> Thunk {
        Thunk::new(State::Deferred(Box::new(f)))
    }

    /// `func arg`, computed when forced; `func` must already be a function value.
    pub(crate) fn apply(func: Thunk, arg: Thunk) -> Thunk {
        Thunk::new(State::Apply { func, arg })
    }

    /// `func first second`, computed when forced.
    pub(crate) fn apply2(func: Thunk, first: Thunk, second: Thunk) -> Thunk {
        Thunk::new(State::Apply2(Box::new([func, first, second])))
    }

    pub fn value(v: Value) -> Thunk {
        Thunk::new(State::Done(v))
    }

    /// A slot filled later with `set_suspended` (the frames of `rec` and `let`).
    pub(crate) fn placeholder() -> Thunk {
        Thunk::new(State::Blackhole(None))
    }

    pub(crate) fn set_value(&self, v: Value) {
        replace_state(self.cell(), State::Done(v));
    }

    pub(crate) fn set_suspended(&self, expr: ExprRef, env: Env) {
        replace_state(self.cell(), State::Suspended { expr, env });
    }

    /// Makes this thunk stand for `target`: forcing it forces `target` (a `rec` set's slot
    /// replaced by its `__overrides`).
    pub(crate) fn set_alias(&self, target: Thunk) {
        // A thunk standing for itself would be a cycle: it already is its target.
        if self.ptr_eq(&target) {
            return;
        }
        replace_state(
            self.cell(),
            State::Deferred(Box::new(move |ev| target.force(ev))),
        );
    }

    /// Whether both are the same thunk (not merely equal values).
    pub fn ptr_eq(&self, other: &Thunk) -> bool {
        Counted::ptr_eq(&self.0, &other.0)
    }

    /// Where the thunk lives: its identity (printing tells values apart by it).
    pub(crate) fn addr(&self) -> usize {
        Counted::as_ptr(&self.0) as usize
    }

    /// The value if already computed.
    pub fn peek(&self) -> Option<Value> {
        match self.cell().state() {
            State::Done(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// The value if already computed, borrowed rather than cloned: a set selected from or an
    /// operand compared is only read, and a clone and a drop of it are two changes of a count.
    ///
    /// The reference may be held while evaluation goes on (forcing an attribute of the set).
    /// That is sound because a computed state is only replaced in thunks no such reference
    /// can point into: the slots of a `rec` set given its `__overrides` (`set_alias`), made by
    /// the construction that replaces them, after which no borrow into them is live; and the
    /// built-ins' own slot (`set_value`), when the evaluator is made and dropped.
    #[inline]
    pub(crate) fn peek_ref(&self) -> Option<&Value> {
        match self.cell().state() {
            State::Done(v) => Some(v),
            _ => None,
        }
    }

    /// Evaluates (once) and returns the value.
    #[inline]
    pub fn force(&self, ev: &Evaluator) -> Result<Value> {
        // A value already computed is returned inline; the rest is out of line.
        if let State::Done(v) = self.cell().state() {
            return Ok(v.clone());
        }
        self.force_pending(ev)
    }

    #[inline(never)]
    fn force_pending(&self, ev: &Evaluator) -> Result<Value> {
        let span = match self.cell().state() {
            State::Done(v) => return Ok(v.clone()),
            State::Blackhole(span) => return Err(EvalError::infinite_recursion(*span)),
            State::Suspended { expr, .. } => Some(expr.span),
            State::Deferred(_) | State::Apply { .. } | State::Apply2(_) => None,
        };
        let state = self.cell().replace(State::Blackhole(span));
        let result = match state {
            State::Suspended { expr, env } => ev.eval(&expr, &env),
            State::Deferred(f) => f(ev),
            State::Apply { func, arg } => func
                .force(ev)
                .and_then(|f| ev.apply(&f, arg, crate::builtins::no_span())),
            State::Apply2(parts) => {
                let [func, first, second] = *parts;
                func.force(ev)
                    .and_then(|f| ev.apply2(&f, first, second, crate::builtins::no_span()))
            }
            State::Blackhole(_) | State::Done(_) => unreachable!("handled above"),
        };
        match result {
            Ok(v) => {
                replace_state(self.cell(), State::Done(v.clone()));
                Ok(v)
            }
            Err(e) => {
                // Leave it black-holed only for recursion; otherwise a later force (e.g. after
                // `tryEval`) must see the same error again, so re-suspend as a failing thunk.
                let again = e.clone();
                replace_state(self.cell(), State::Deferred(Box::new(move |_| Err(again))));
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
    use std::rc::Rc;

    #[test]
    fn a_thunk_is_one_pointer_to_32_bytes() {
        assert_eq!(std::mem::size_of::<Thunk>(), 8);
        assert_eq!(std::mem::size_of::<Option<Thunk>>(), 8);
        // The count and a state of a tag and two words.
        assert_eq!(std::mem::size_of::<State>(), 24);
        assert_eq!(Thunk::BYTES, 8 + 32);
    }

    #[test]
    fn the_state_is_dropped_with_the_last_thunk_only() {
        let witness = Rc::new(());
        let held = Rc::clone(&witness);
        let t = Thunk::deferred(move |_| {
            let _ = &held;
            Ok(Value::Null)
        });
        let u = t.clone();
        assert!(t.ptr_eq(&u));
        assert_eq!(t.addr(), u.addr());
        drop(t);
        assert_eq!(
            Rc::strong_count(&witness),
            2,
            "a clone still holds the state"
        );
        let v = u.clone();
        drop(u);
        assert_eq!(Rc::strong_count(&witness), 2);
        drop(v);
        assert_eq!(
            Rc::strong_count(&witness),
            1,
            "the last thunk dropped the state"
        );
    }

    #[test]
    fn a_replaced_state_is_dropped_at_once() {
        let witness = Rc::new(());
        let held = Rc::clone(&witness);
        let t = Thunk::deferred(move |_| {
            let _ = &held;
            Ok(Value::Null)
        });
        let other = Thunk::value(Value::Int(1));
        t.set_alias(other.clone());
        assert_eq!(Rc::strong_count(&witness), 1);
        t.set_value(Value::Int(2));
        assert!(matches!(t.peek(), Some(Value::Int(2))));
        assert!(!t.ptr_eq(&other));
    }

    #[test]
    fn an_application_of_two_arguments_holds_its_parts() {
        let parts = [
            Thunk::value(Value::Null),
            Thunk::value(Value::Int(1)),
            Thunk::value(Value::Int(2)),
        ];
        let applied = Thunk::apply2(parts[0].clone(), parts[1].clone(), parts[2].clone());
        assert!(applied.peek().is_none());
        match applied.cell().state() {
            State::Apply2(held) => {
                assert!(held.iter().zip(&parts).all(|(a, b)| a.ptr_eq(b)));
            }
            _ => panic!("not an application"),
        }
        assert!(parts.iter().all(|p| p.count() == 2));
        drop(applied);
        assert!(parts.iter().all(|p| p.count() == 1));
    }

    #[test]
    fn only_a_computed_value_is_borrowed() {
        let t = Thunk::deferred(|_| Ok(Value::Int(7)));
        assert!(t.peek_ref().is_none());
        let done = Thunk::value(Value::Int(7));
        assert!(matches!(done.peek_ref(), Some(Value::Int(7))));
        // The value in the thunk itself, not a copy of it.
        let (first, second) = (done.peek_ref(), done.peek_ref());
        assert!(matches!((first, second), (Some(a), Some(b)) if std::ptr::eq(a, b)));
        assert!(Thunk::placeholder().peek_ref().is_none());
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
