//! The tree-walking evaluator: expressions to values in weak head normal form.

use crate::builtins;
use crate::error::{EvalError, EvalErrorKind, Result};
use crate::io::EvalIo;
use crate::memory;
use crate::pool::Counted;
use crate::thunk::Thunk;
use crate::value::{AttrSet, Attrs, Closure, Context, NixString, PrimOp, PrimOpApp, Value};
use makes_syntax::ir::{
    AttrKey, AttrSetDef, BindingValue, ExprKind, ExprRef, Formal, LambdaDef, Param, StrPart,
    UnaryOp, Var,
};
use makes_syntax::{parse_file, SourceMap, Span};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Deepest nesting of evaluation before "stack overflow" is reported. The evaluation thread's
/// stack (see `run_with_stack`) is sized for this.
const MAX_DEPTH: usize = 100_000;

/// A frame of variables, or a `with`'s namespace ([`Slots::With`]).
pub struct EnvFrame {
    pub(crate) slots: Slots,
    pub(crate) parent: Option<Env>,
}

/// A shared frame: one pointer to a count and the frame in one pooled block of 48 bytes (a
/// frame is made for nearly every call, `let` and `rec` set).
pub type Env = Counted<EnvFrame>;

/// The variables of a frame. A lambda with a plain parameter (the most common call) binds one
/// variable, and most patterns (`{ name, value }:`, `{ config, ... }@args:`) and `let`s up to
/// three: those are kept inline, in the room a `Vec` takes anyway, saving an allocation per
/// call or `let`.
pub(crate) enum Slots {
    One(Thunk),
    Two([Thunk; 2]),
    Three([Thunk; 3]),
    Many(Vec<Thunk>),
    /// A `let`'s or `rec` set's (the `Bindings` variants): each slot is its binding's code in
    /// this frame (or, for `inherit`, in the one outside), so two frames of the same code
    /// whose outer frames are the same hold the same values (what `same_function` relies on).
    BindingsOne(Thunk),
    BindingsTwo([Thunk; 2]),
    BindingsThree([Thunk; 3]),
    Bindings(Vec<Thunk>),
    /// A `with`'s namespace: no variables of its own, looked through by name (a variant
    /// rather than a field every frame would carry).
    With(Thunk),
}

impl Slots {
    pub(crate) fn get(&self, slot: usize) -> &Thunk {
        match self {
            // Lowering only gives slot 0 to a one-variable frame.
            Slots::One(t) | Slots::BindingsOne(t) => t,
            Slots::Two(a) | Slots::BindingsTwo(a) => &a[slot],
            Slots::Three(a) | Slots::BindingsThree(a) => &a[slot],
            Slots::Many(v) | Slots::Bindings(v) => &v[slot],
            // Lowering gives a `with` frame no variables: as an empty frame's, out of range.
            Slots::With(_) => &[][slot],
        }
    }

    pub(crate) fn as_slice(&self) -> &[Thunk] {
        match self {
            Slots::One(t) | Slots::BindingsOne(t) => std::slice::from_ref(t),
            Slots::Two(a) | Slots::BindingsTwo(a) => a,
            Slots::Three(a) | Slots::BindingsThree(a) => a,
            Slots::Many(v) | Slots::Bindings(v) => v,
            Slots::With(_) => &[],
        }
    }

    /// A `with`'s namespace, if this is a `with` frame.
    #[inline]
    pub(crate) fn namespace(&self) -> Option<&Thunk> {
        match self {
            Slots::With(ns) => Some(ns),
            _ => None,
        }
    }

    /// Whether these are a `let`'s or `rec` set's bindings (see [`Slots::Bindings`]).
    pub(crate) fn are_bindings(&self) -> bool {
        matches!(
            self,
            Slots::BindingsOne(_)
                | Slots::BindingsTwo(_)
                | Slots::BindingsThree(_)
                | Slots::Bindings(_)
        )
    }
}

impl From<Vec<Thunk>> for Slots {
    fn from(v: Vec<Thunk>) -> Self {
        Slots::Many(v)
    }
}

/// A lambda frame's slots as they are bound, one by one: the first three on the stack, so
/// that a frame of up to three variables is one allocation (the frame's), not two.
enum SlotsBuilder {
    Small([Option<Thunk>; 3], usize),
    Large(Vec<Thunk>),
}

impl SlotsBuilder {
    #[inline]
    fn with_capacity(n: usize) -> SlotsBuilder {
        if n <= 3 {
            SlotsBuilder::Small([None, None, None], 0)
        } else {
            SlotsBuilder::Large(Vec::with_capacity(n))
        }
    }

    /// Adds the next slot. Inlined (a frame's slots are bound in a loop), with the rare
    /// spill out of line.
    #[inline(always)]
    fn push(&mut self, t: Thunk) {
        match self {
            SlotsBuilder::Small(items, len) if *len < 3 => {
                items[*len] = Some(t);
                *len += 1;
            }
            SlotsBuilder::Small(..) => self.spill(t),
            SlotsBuilder::Large(v) => v.push(t),
        }
    }

    /// More slots than announced: moves them to a `Vec` (never happens with a right count).
    #[cold]
    #[inline(never)]
    fn spill(&mut self, t: Thunk) {
        if let SlotsBuilder::Small(items, _) = self {
            let mut v: Vec<Thunk> = items.iter_mut().filter_map(Option::take).collect();
            v.push(t);
            *self = SlotsBuilder::Large(v);
        }
    }

    #[inline]
    fn finish(self) -> Slots {
        match self {
            SlotsBuilder::Small([Some(a), None, None], _) => Slots::One(a),
            SlotsBuilder::Small([Some(a), Some(b), None], _) => Slots::Two([a, b]),
            SlotsBuilder::Small([Some(a), Some(b), Some(c)], _) => Slots::Three([a, b, c]),
            SlotsBuilder::Small(items, _) => Slots::Many(items.into_iter().flatten().collect()),
            SlotsBuilder::Large(v) => Slots::Many(v),
        }
    }

    /// The slots of a `let`'s or `rec` set's frame ([`Slots::Bindings`]).
    #[inline]
    fn finish_bindings(self) -> Slots {
        match self {
            SlotsBuilder::Small([Some(a), None, None], _) => Slots::BindingsOne(a),
            SlotsBuilder::Small([Some(a), Some(b), None], _) => Slots::BindingsTwo([a, b]),
            SlotsBuilder::Small([Some(a), Some(b), Some(c)], _) => Slots::BindingsThree([a, b, c]),
            SlotsBuilder::Small(items, _) => Slots::Bindings(items.into_iter().flatten().collect()),
            SlotsBuilder::Large(v) => Slots::Bindings(v),
        }
    }
}

/// How values become strings (`"${x}"` versus `toString x`).
#[derive(Debug, Clone, Copy)]
pub struct CoercionMode {
    /// `toString`'s extra conversions: numbers, booleans, null, lists.
    pub more: bool,
    /// Whether paths are copied into the store (interpolation) or kept as they are.
    pub copy_to_store: bool,
}

impl CoercionMode {
    pub const INTERPOLATION: CoercionMode = CoercionMode {
        more: false,
        copy_to_store: true,
    };
    /// `toString`-like coercion that copies paths (derivation attributes).
    pub const TO_STRING: CoercionMode = CoercionMode {
        more: true,
        copy_to_store: true,
    };
    /// `builtins.toString`: paths stay paths.
    /// Interpolation's rules, but paths stay paths (path arithmetic, `baseNameOf`, `dirOf`).
    pub const KEEP_PATHS: CoercionMode = CoercionMode {
        more: false,
        copy_to_store: false,
    };
    pub const BUILTIN_TO_STRING: CoercionMode = CoercionMode {
        more: true,
        copy_to_store: false,
    };
}

/// Options that shape an evaluation.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// `-I` entries and `NIX_PATH`: (prefix, path); an empty prefix searches inside `path`.
    pub search_path: Vec<(String, PathBuf)>,
    /// `builtins.currentSystem`.
    pub system: Option<String>,
    /// Nix's `abort-on-warn`: `builtins.warn` fails the evaluation after warning.
    pub abort_on_warn: bool,
}

/// One evaluation session: sources, imports, built-ins.
pub struct Evaluator {
    pub sources: SourceMap,
    pub io: Rc<dyn EvalIo>,
    pub options: EvalOptions,
    pub(crate) globals: Vec<Rc<str>>,
    pub(crate) base_env: Env,
    pub(crate) import_cache: RefCell<HashMap<PathBuf, Value>>,
    pub(crate) paths_in_store: RefCell<HashMap<PathBuf, Rc<str>>>,
    depth: Cell<usize>,
    /// The call sites of the running evaluation loops, innermost last: each loop pushes its
    /// calls above the length it found and truncates back when it returns. One shared stack,
    /// so that a loop (one per level of Nix recursion) needs no allocation of its own.
    calls: RefCell<Vec<Span>>,
    /// The string values of the string literals evaluated so far.
    literals: crate::literals::Literals,
}

/// How many of a loop's latest calls an error's trace shows (as --show-trace).
const TRACED_CALLS: usize = 8;

/// The `base` of a loop that has recorded no call (see `eval_loop`).
const NO_CALLS: usize = usize::MAX;

impl Evaluator {
    pub fn new(io: Rc<dyn EvalIo>, options: EvalOptions) -> Evaluator {
        Self::with_extra_builtins(io, options, Vec::new())
    }

    /// An evaluator whose `builtins` also holds `extra` (registered from outside, e.g. those
    /// that need the store).
    pub fn with_extra_builtins(
        io: Rc<dyn EvalIo>,
        options: EvalOptions,
        extra: Vec<(Rc<str>, Value)>,
    ) -> Evaluator {
        let (globals, values) = builtins::base_environment(&options, extra);
        let base_env = Env::new(EnvFrame {
            slots: values.into(),
            parent: None,
        });
        Evaluator {
            sources: SourceMap::new(),
            io,
            options,
            globals,
            base_env,
            import_cache: RefCell::new(HashMap::new()),
            paths_in_store: RefCell::new(HashMap::new()),
            depth: Cell::new(0),
            calls: RefCell::new(Vec::new()),
            literals: Default::default(),
        }
    }

    /// Parses and evaluates source text (`--expr`); relative paths resolve against `base_dir`.
    pub fn eval_source(&self, name: &str, text: &str, base_dir: &Path) -> Result<Value> {
        let fake = base_dir.join("«string»");
        let file = self.sources.add(name, Some(&fake), text);
        let expr = parse_file(&self.sources, file, &self.globals)?;
        self.eval(&expr, &self.base_env)
    }

    /// Parses source text without evaluating it (`--parse --expr`).
    pub fn parse_source(&self, name: &str, text: &str, base_dir: &Path) -> Result<()> {
        let fake = base_dir.join("«string»");
        let file = self.sources.add(name, Some(&fake), text);
        parse_file(&self.sources, file, &self.globals)?;
        Ok(())
    }

    /// Evaluates a file as `import` does (cached; a directory means its `default.nix`).
    pub fn eval_file(&self, path: &Path) -> Result<Value> {
        self.import(path, None)
    }

    /// The lazy value of `expr` in `env`.
    pub(crate) fn thunk(&self, expr: &ExprRef, env: &Env) -> Thunk {
        // Constants need no suspension, and most are shared (see `Literals`).
        match &expr.kind {
            ExprKind::Int(i) => self.literals.int_thunk(*i),
            ExprKind::Float(f) => Thunk::value(Value::Float(*f)),
            ExprKind::Str(s) => self.literals.thunk(s),
            ExprKind::Var(Var::Local { depth, slot }) => {
                lookup_local_inline(env, *depth, *slot).clone()
            }
            _ => Thunk::suspended(expr.clone(), env.clone()),
        }
    }

    /// The lazy value of an argument of a built-in called with all its arguments (`map (x:
    /// ...) xs`): as [`Evaluator::thunk`], but a function written in place is made at once.
    /// Its closure cannot fail and is one allocation either way, and the built-in calls it
    /// (none keeps a function it is given, unevaluated, in what it returns, where printing
    /// could tell it from a suspended one), finding it made instead of forcing it first.
    #[inline]
    fn builtin_argument(&self, expr: &ExprRef, env: &Env) -> Thunk {
        match &expr.kind {
            ExprKind::Lambda(def) => Thunk::value(Value::Lambda(Counted::new(Closure {
                def: def.clone(),
                env: env.clone(),
            }))),
            _ => self.thunk(expr, env),
        }
    }

    /// Evaluates `expr` to weak head normal form.
    #[inline]
    pub fn eval(&self, expr: &ExprRef, env: &Env) -> Result<Value> {
        // Leaves that need no evaluation (constants, variables already forced) skip the loop
        // and its bookkeeping: they are most operands of arithmetic and comparisons. Checked
        // inline, where the caller has the expression at hand; the rest is out of line.
        match &expr.kind {
            ExprKind::Int(i) => Ok(Value::Int(*i)),
            ExprKind::Var(Var::Local { depth, slot }) => {
                match lookup_local(env, *depth, *slot).peek() {
                    Some(v) => Ok(v),
                    None => self.eval_nested(expr, env),
                }
            }
            _ => self.eval_nested(expr, env),
        }
    }

    /// The value of `expr`, borrowed where it is a variable already computed (most selected
    /// sets and operands), else evaluated into `held`: a value that is only read then costs
    /// no clone and drop.
    ///
    /// Always inlined where optimised (a call costs more than the lookup it saves); an
    /// unoptimised build calls it instead, as each inlined copy would widen the frames of its
    /// callers, through which deep Nix recursion goes.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn eval_ref<'a>(
        &self,
        expr: &ExprRef,
        env: &'a Env,
        held: &'a mut Option<Value>,
    ) -> Result<&'a Value> {
        match &expr.kind {
            ExprKind::Var(Var::Local { depth, slot }) => {
                match lookup_local(env, *depth, *slot).peek_ref() {
                    Some(v) => Ok(v),
                    None => Ok(held.insert(self.eval_nested(expr, env)?)),
                }
            }
            _ => Ok(held.insert(self.eval(expr, env)?)),
        }
    }

    /// The value of `expr` if it is a variable already computed, borrowed.
    #[inline(always)]
    pub(crate) fn computed_local<'a>(&self, expr: &ExprRef, env: &'a Env) -> Option<&'a Value> {
        match &expr.kind {
            ExprKind::Var(Var::Local { depth, slot }) => {
                lookup_local(env, *depth, *slot).peek_ref()
            }
            _ => None,
        }
    }

    /// [`Evaluator::eval_ref`] for a caller that may keep the value: borrowed where it is a
    /// variable already computed, owned otherwise, so that keeping it clones only the former.
    /// Inlined as [`Evaluator::eval_ref`] is, for the same reasons.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn eval_found<'a>(&self, expr: &ExprRef, env: &'a Env) -> Result<Found<'a>> {
        if let ExprKind::Var(Var::Local { depth, slot }) = &expr.kind {
            if let Some(v) = lookup_local(env, *depth, *slot).peek_ref() {
                return Ok(Found::Borrowed(v));
            }
        }
        self.eval(expr, env).map(Found::Owned)
    }

    /// [`Evaluator::eval`] of anything but a leaf: one level deeper.
    #[inline(never)]
    fn eval_nested(&self, expr: &ExprRef, env: &Env) -> Result<Value> {
        if let ExprKind::Str(s) = &expr.kind {
            return Ok(Value::String(self.literals.get(s)));
        }
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(stack_overflow(Some(expr.span)));
        }
        self.depth.set(depth + 1);
        // Only the tail forms need the loop and its trace of calls; the others (selections,
        // operators, sets, lists, lambdas) go straight to their evaluation.
        // The commonest forms, selections and operators, are dispatched here directly.
        let result = match &expr.kind {
            ExprKind::If { .. }
            | ExprKind::Let { .. }
            | ExprKind::With { .. }
            | ExprKind::Assert { .. }
            | ExprKind::Apply { .. } => self.eval_inner(expr, env),
            ExprKind::Select {
                target,
                path,
                default,
            } => self.select(target, path, default.as_ref(), env, expr.span),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, env, expr.span),
            // A variable `eval` found not yet computed: forced here, one frame less deep.
            ExprKind::Var(Var::Local { depth, slot }) => {
                lookup_local(env, *depth, *slot).force(self)
            }
            _ => self.eval_simple(expr, env),
        };
        self.depth.set(depth);
        result
    }

    /// Expressions in tail position (the branch of an `if`, the body of a `let`, `with`,
    /// `assert`, or of a called lambda) are evaluated by looping, not recursing: deep Nix
    /// recursion then needs far less Rust stack. Each loop still counts toward `MAX_DEPTH`, so
    /// unbounded tail recursion is a clean error, not a hang.
    ///
    /// The loop deepens `depth` at each step; its caller, `eval_nested`, restores it.
    fn eval_inner(&self, expr: &ExprRef, env: &Env) -> Result<Value> {
        self.eval_loop(expr, env)
    }

    fn eval_loop(&self, expr: &ExprRef, env: &Env) -> Result<Value> {
        // The latest call sites of this loop, for the trace of an error (as --show-trace),
        // from `base` on. Many loops call no lambda (a branch, a built-in's call): those
        // leave `base` unset and skip the stack.
        let mut base = NO_CALLS;
        let result = self.eval_loop_traced(expr, env, &mut base);
        if base == NO_CALLS {
            return result;
        }
        let mut calls = self.calls.borrow_mut();
        let result = result.map_err(|mut e| {
            let latest = &calls[base.max(calls.len().saturating_sub(TRACED_CALLS))..];
            for span in latest.iter().rev() {
                e = e.note(Some(*span), "while calling a function");
            }
            e
        });
        calls.truncate(base);
        result
    }

    /// The loop of `eval_loop`. It starts from the caller's expression and frame, borrowed,
    /// and owns only what it moves on to that the caller does not hold (a called function's
    /// body, a new frame): a branch of an `if` goes on from where it is, in the same frame,
    /// with no count of either changed.
    fn eval_loop_traced(
        &self,
        first: &ExprRef,
        first_env: &Env,
        base: &mut usize,
    ) -> Result<Value> {
        let mut owned: Option<ExprRef> = None;
        let mut owned_env: Option<Env> = None;
        let mut expr = first;
        let mut env = first_env;
        loop {
            let span = expr.span;
            match &expr.kind {
                ExprKind::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    expr = if self.eval_bool(cond, env)? {
                        then
                    } else {
                        otherwise
                    };
                }
                ExprKind::Assert { cond, body } => {
                    if !self.eval_bool(cond, env)? {
                        return Err(self.assertion_failed(cond));
                    }
                    expr = body;
                }
                ExprKind::Let { bindings, body } => {
                    let frame = self.recursive_frame(bindings, env);
                    env = &*owned_env.insert(frame);
                    expr = body;
                }
                ExprKind::With { namespace, body } => {
                    let frame = Env::new(EnvFrame {
                        slots: Slots::With(self.thunk(namespace, env)),
                        parent: Some(env.clone()),
                    });
                    env = &*owned_env.insert(frame);
                    expr = body;
                }
                ExprKind::Apply { func, arg } => {
                    // A call of one argument has nothing for `call_head` to share.
                    let (body, frame) = 'call: {
                        // The function is only read: borrowed where it is a variable.
                        let head = if matches!(func.kind, ExprKind::Apply { .. }) {
                            self.call_head(expr, env, span)?
                        } else {
                            CallHead::Unknown
                        };
                        let f = match head {
                            CallHead::Done(v) => return Ok(v),
                            CallHead::Function(f) => Found::Owned(f),
                            CallHead::Curried(closure) => {
                                break 'call self.enter_curried(closure, arg, env, span, base)?;
                            }
                            CallHead::Unknown => self.eval_found(func, env)?,
                        };
                        let arg = self.thunk(arg, env);
                        match f.get() {
                            Value::Lambda(closure) => {
                                let frame = self.bind_lambda(closure, arg, span)?;
                                self.record_call(span, base);
                                (closure.def.body.clone(), frame)
                            }
                            f => return self.apply(f, arg, span),
                        }
                    };
                    env = &*owned_env.insert(frame);
                    expr = &*owned.insert(body);
                }
                _ => return self.eval_simple_here(expr, env),
            }
            let depth = self.depth.get();
            if depth >= MAX_DEPTH {
                return Err(stack_overflow(Some(span)));
            }
            self.depth.set(depth + 1);
        }
    }

    /// The frame of a call of `closure`, whose parameter is a plain name, with `arg`.
    #[inline(never)]
    fn bind_parameter(&self, closure: &Closure, arg: Thunk) -> Env {
        Env::new(EnvFrame {
            slots: Slots::One(arg),
            parent: Some(closure.env.clone()),
        })
    }

    /// The body and frame a curried call (`CallHead::Curried`) continues with in
    /// `eval_loop`, its call recorded for the trace. Out of line, so that the closure is no
    /// slot of the loop's frame (one per level of Nix recursion).
    #[inline(never)]
    fn enter_curried(
        &self,
        closure: Closure,
        arg: &ExprRef,
        env: &Env,
        span: Span,
        base: &mut usize,
    ) -> Result<(ExprRef, Env)> {
        let arg = self.thunk(arg, env);
        let frame = self.bind_lambda(&closure, arg, span)?;
        self.record_call(span, base);
        Ok((closure.def.body.clone(), frame))
    }

    /// Records a call `eval_loop` made at `span`, its first one setting the loop's `base`.
    #[inline]
    fn record_call(&self, span: Span, base: &mut usize) {
        let mut calls = self.calls.borrow_mut();
        if *base == NO_CALLS {
            *base = calls.len();
        }
        calls.push(span);
    }

    #[inline(never)]
    fn assertion_failed(&self, cond: &ExprRef) -> EvalError {
        let text = self
            .sources
            .get(cond.span.file)
            .map(|f| f.text[cond.span.start as usize..cond.span.end as usize].to_owned())
            .unwrap_or_default();
        // As Nix shows the condition; the source text where the printer does not know a form.
        let shown = makes_syntax::show_expression(&text).unwrap_or(text);
        EvalError::new(EvalErrorKind::AssertionFailed(shown), Some(cond.span))
    }

    /// Expressions that are not in tail position, outside the loop (see `eval_simple_here`).
    #[inline(never)]
    fn eval_simple(&self, expr: &ExprRef, env: &Env) -> Result<Value> {
        self.eval_simple_here(expr, env)
    }

    /// Expressions that are not in tail position. Inlined into the loop, so that the
    /// operators it reaches in tail position (`1 + f x`) add no frame of their own to each
    /// level of Nix recursion.
    #[inline(always)]
    fn eval_simple_here(&self, expr: &ExprRef, env: &Env) -> Result<Value> {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Int(i) => Ok(Value::Int(*i)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Str(s) => Ok(Value::String(self.literals.get(s))),
            ExprKind::Var(Var::Local { depth, slot }) => {
                lookup_local(env, *depth, *slot).force(self)
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, env, span),
            ExprKind::Lambda(def) => Ok(Value::Lambda(Counted::new(Closure {
                def: def.clone(),
                env: env.clone(),
            }))),
            ExprKind::List(items) => Ok(Value::list_from(items.iter().map(|i| self.thunk(i, env)))),
            _ => self.eval_rare(expr, env),
        }
    }

    /// The remaining forms, kept out of the hot path so that its stack frame stays small.
    #[inline(never)]
    fn eval_rare(&self, expr: &ExprRef, env: &Env) -> Result<Value> {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Interpolated(parts) => self.interpolate(parts, env, span),
            ExprKind::Path { kind, parts, base } => {
                self.path_literal(*kind, parts, base.as_deref(), env, span)
            }
            ExprKind::Var(Var::With { name }) => self.lookup_with(env, name, span),
            ExprKind::Select {
                target,
                path,
                default,
            } => self.select(target, path, default.as_ref(), env, span),
            ExprKind::HasAttr { target, path } => self.has_attr_path(target, path, env),
            ExprKind::AttrSet(def) => self.attr_set(def, env),
            ExprKind::Unary { op, operand } => {
                let v = self.eval(operand, env)?;
                match (op, v) {
                    (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                    (UnaryOp::Not, other) => Err(EvalError::type_error(
                        "a Boolean",
                        &other,
                        Some(operand.span),
                    )),
                    (UnaryOp::Negate, Value::Int(i)) => {
                        i.checked_neg().map(Value::Int).ok_or_else(|| {
                            EvalError::new(EvalErrorKind::IntegerOverflow("negation"), Some(span))
                        })
                    }
                    (UnaryOp::Negate, Value::Float(f)) => Ok(Value::Float(0.0 - f)),
                    (UnaryOp::Negate, other) => Err(EvalError::type_error(
                        "an integer",
                        &other,
                        Some(operand.span),
                    )),
                }
            }
            ExprKind::CurPos => {
                let mut attrs = Attrs::new();
                if let Some(file) = self.sources.get(span.file) {
                    let (line, col) = file.line_col(span.start);
                    attrs.insert(
                        "file",
                        Thunk::value(Value::string(file.name.as_str())),
                        None,
                    );
                    attrs.insert("line", Thunk::value(Value::Int(line as i64)), None);
                    attrs.insert("column", Thunk::value(Value::Int(col as i64)), None);
                }
                Ok(Value::attrs(attrs))
            }
            // Tail forms and the hot ones are handled by `eval_loop` and `eval_simple`.
            _ => self.eval_loop(expr, env),
        }
    }

    pub(crate) fn eval_bool(&self, expr: &ExprRef, env: &Env) -> Result<bool> {
        let mut held = None;
        let result = match self.eval_ref(expr, env, &mut held)? {
            Value::Bool(b) => Ok(*b),
            other => Err(not_a_boolean(other.clone(), expr.span)),
        };
        Value::discard(held);
        result
    }

    pub(crate) fn lookup_with(&self, env: &Env, name: &str, span: Span) -> Result<Value> {
        let mut frame = Some(env);
        while let Some(f) = frame {
            if let Some(ns) = f.slots.namespace() {
                match ns.force(self)? {
                    Value::Attrs(attrs) => {
                        if let Some(attr) = attrs.select(name) {
                            return attr.value.force(self);
                        }
                    }
                    other => return Err(EvalError::type_error("a set", &other, Some(span))),
                }
            }
            frame = f.parent.as_ref();
        }
        Err(EvalError::new(
            EvalErrorKind::UndefinedVariable(name.to_owned()),
            Some(span),
        ))
    }

    fn interpolate(&self, parts: &[StrPart], env: &Env, _span: Span) -> Result<Value> {
        // Room for the literal parts and a short value per interpolation: most strings are
        // then built without growing.
        let estimate = parts
            .iter()
            .map(|p| match p {
                StrPart::Literal(s) => s.len(),
                StrPart::Interpolation(_) => 16,
            })
            .sum();
        let mut text = Vec::with_capacity(estimate);
        let mut context = Context::default();
        for part in parts {
            match part {
                StrPart::Literal(s) => {
                    text.extend_from_slice(&makes_syntax::byte_text::text_to_bytes(s))
                }
                StrPart::Interpolation(e) => {
                    let v = self.eval(e, env)?;
                    let s = self.coerce_to_string(&v, CoercionMode::INTERPOLATION, e.span)?;
                    memory::reserve(s.len(), Some(e.span))?;
                    text.extend_from_slice(s.as_bytes());
                    s.merge_context_into(&mut context);
                }
            }
        }
        Ok(Value::String(NixString::with_context(text, context)))
    }

    /// The name of a dynamic binding (`${e} = ..;` or `"a${b}" = ..;`), or none for `null`.
    fn attr_name(&self, e: &ExprRef, env: &Env) -> Result<Option<Rc<str>>> {
        match self.eval(e, env)? {
            Value::String(s) => Ok(Some(s.to_name())),
            Value::Null => Ok(None),
            other => Err(EvalError::type_error("a string", &other, Some(e.span))),
        }
    }

    #[inline(never)]
    fn select(
        &self,
        target: &ExprRef,
        path: &[AttrKey],
        default: Option<&ExprRef>,
        env: &Env,
        span: Span,
    ) -> Result<Value> {
        let mut held = None;
        let first = self.eval_ref(target, env, &mut held)?;
        // Most selections are of one static name (`lib.mkIf`, `config.x`): the attribute's
        // value is the result, returned as it is forced, with no loop around it.
        if let [AttrKey::Static(n)] = path {
            let Value::Attrs(attrs) = first else {
                return self.select_from_other(first, default, env, span);
            };
            return match attrs.get_at_last(&n.text, &n.last_position) {
                Some(attr) => attr.value.force(self),
                None => self.select_unlisted(attrs, &n.text, default, env, span),
            };
        }
        // The value reached so far: the target as it was found, then each attribute's.
        let mut owned: Option<Value> = None;
        let mut value = first;
        for (i, key) in path.iter().enumerate() {
            // A static name as it is; a computed one as the text its bytes stand for
            // (borrowed from the string when it is plain UTF-8). Each with where it was last
            // found.
            let computed: NixString;
            let text;
            let (name, last_position): (&str, _) = match key {
                AttrKey::Static(n) => (&n.text, &n.last_position),
                AttrKey::Dynamic(d) => {
                    computed = match self.eval(d, env)? {
                        Value::String(s) => s,
                        other => {
                            return Err(EvalError::type_error("a string", &other, Some(d.span)))
                        }
                    };
                    text = computed.as_name();
                    (&text, &d.last_position)
                }
            };
            let next = match value {
                Value::Attrs(attrs) => match attrs.get_at_last(name, last_position) {
                    Some(attr) => attr.value.force(self)?,
                    None => match attrs.select_unlisted(name) {
                        Some(thunk) => thunk.force(self)?,
                        None => {
                            if let Some(d) = default {
                                return self.eval(d, env);
                            }
                            return Err(missing_attribute(name, attrs, span));
                        }
                    },
                },
                other => return self.select_from_other(other, default, env, span),
            };
            if i + 1 == path.len() {
                return Ok(next);
            }
            value = owned.insert(next);
        }
        // No name at all (lowering makes no such selection): the target itself.
        Ok(value.clone())
    }

    /// A selection of `name` from `attrs` that does not list it: an unlisted attribute, the
    /// default, or the error.
    #[inline(never)]
    fn select_unlisted(
        &self,
        attrs: &AttrSet,
        name: &str,
        default: Option<&ExprRef>,
        env: &Env,
        span: Span,
    ) -> Result<Value> {
        match attrs.select_unlisted(name) {
            Some(thunk) => thunk.force(self),
            None => match default {
                Some(d) => self.eval(d, env),
                None => Err(missing_attribute(name, attrs, span)),
            },
        }
    }

    /// A selection from `value`, which is not a set: the default, or the error.
    #[inline(never)]
    fn select_from_other(
        &self,
        value: &Value,
        default: Option<&ExprRef>,
        env: &Env,
        span: Span,
    ) -> Result<Value> {
        match default {
            Some(d) => self.eval(d, env),
            None => Err(EvalError::type_error("a set", value, Some(span))),
        }
    }

    fn has_attr_path(&self, target: &ExprRef, path: &[AttrKey], env: &Env) -> Result<Value> {
        let mut value = self.eval(target, env)?;
        for (i, key) in path.iter().enumerate() {
            // As in `select`: a computed name is the text of its bytes (borrowed when plain
            // UTF-8), and either kind remembers where it was found.
            let computed: NixString;
            let text;
            let (name, last_position): (&str, _) = match key {
                AttrKey::Static(n) => (&n.text, &n.last_position),
                AttrKey::Dynamic(d) => {
                    computed = match self.eval(d, env)? {
                        Value::String(s) => s,
                        other => {
                            return Err(EvalError::type_error("a string", &other, Some(d.span)))
                        }
                    };
                    text = computed.as_name();
                    (&text, &d.last_position)
                }
            };
            let Value::Attrs(attrs) = &value else {
                return Ok(Value::Bool(false));
            };
            let found = match attrs.get_at_last(name, last_position) {
                Some(attr) => Some(attr.value.clone()),
                None => attrs.select_unlisted(name),
            };
            match found {
                // The last attribute is only looked up, never forced.
                Some(_) if i + 1 == path.len() => return Ok(Value::Bool(true)),
                Some(thunk) => value = thunk.force(self)?,
                None => return Ok(Value::Bool(false)),
            }
        }
        Ok(Value::Bool(true))
    }

    /// A `rec` set's or `let`'s frame: one slot per static binding, each a thunk in the frame.
    /// As in Nix, a binding that is just a variable (`g = f;`, `inherit f;`) shares the thunk
    /// it names rather than wrapping it, so that it is the same value to `==` of elements; a
    /// constant (`n = 1;`, `s = "x";`) is its value, needing no thunk of the frame.
    fn recursive_frame(&self, def: &AttrSetDef, env: &Env) -> Env {
        // `__overrides` replaces slots in place (`Thunk::set_alias`): there, a slot must not
        // be a thunk that other frames hold.
        let share = overrides_index(def).is_none();
        // The thunk a binding shares instead of a slot of its own, if any.
        let shared = |value: &BindingValue| -> Option<Thunk> {
            if !share {
                return None;
            }
            match value {
                BindingValue::Inherit(e) => Some(self.thunk(e, env)),
                BindingValue::Expr(e) => match &e.kind {
                    ExprKind::Var(Var::Local { depth, slot }) if *depth > 0 => {
                        Some(lookup_local(env, depth - 1, *slot).clone())
                    }
                    ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) => {
                        Some(self.thunk(e, env))
                    }
                    _ => None,
                },
            }
        };
        // Which slots are the frame's own, one bit each: frames of more bindings than bits
        // take the general way, as do those where a binding is another of the same frame.
        let n = def.statics.len();
        if n > u64::BITS as usize || (share && (0..n).any(|i| sibling_variable(def, i).is_some())) {
            return self.recursive_frame_with_siblings(def, env, shared);
        }
        let mut slots = SlotsBuilder::with_capacity(n);
        let mut own = 0u64;
        for (i, binding) in def.statics.iter().enumerate() {
            slots.push(shared(&binding.value).unwrap_or_else(|| {
                own |= 1 << i;
                Thunk::placeholder()
            }));
        }
        let frame = Env::new(EnvFrame {
            slots: slots.finish_bindings(),
            parent: Some(env.clone()),
        });
        if own != 0 {
            for (i, (binding, slot)) in def.statics.iter().zip(frame.slots.as_slice()).enumerate() {
                if own & (1 << i) == 0 {
                    continue;
                }
                match &binding.value {
                    BindingValue::Expr(e) => slot.set_suspended(e.clone(), frame.clone()),
                    BindingValue::Inherit(e) => slot.set_suspended(e.clone(), env.clone()),
                }
            }
        }
        frame
    }

    /// [`Evaluator::recursive_frame`] where some binding is just another binding of the same
    /// frame (`a = b;`): those share the thunk at the end of their chain.
    #[inline(never)]
    fn recursive_frame_with_siblings(
        &self,
        def: &AttrSetDef,
        env: &Env,
        shared: impl Fn(&BindingValue) -> Option<Thunk>,
    ) -> Env {
        let mut own = vec![false; def.statics.len()];
        let mut slots: Vec<Thunk> = Vec::with_capacity(def.statics.len());
        for (i, binding) in def.statics.iter().enumerate() {
            let shared = shared(&binding.value);
            own[i] = shared.is_none();
            slots.push(shared.unwrap_or_else(Thunk::placeholder));
        }
        for (i, target) in sibling_targets(def).into_iter().enumerate() {
            match target {
                SiblingTarget::Itself => {}
                SiblingTarget::Slot(j) => {
                    own[i] = false;
                    slots[i] = slots[j].clone();
                }
                // A cycle of `a = b; b = a;` keeps its placeholder: infinite recursion.
                SiblingTarget::Cycle => own[i] = false,
            }
        }
        let frame = Env::new(EnvFrame {
            slots: Slots::Bindings(slots),
            parent: Some(env.clone()),
        });
        for ((binding, slot), own) in def.statics.iter().zip(frame.slots.as_slice()).zip(own) {
            match (own, &binding.value) {
                (false, _) => {}
                (true, BindingValue::Expr(e)) => slot.set_suspended(e.clone(), frame.clone()),
                (true, BindingValue::Inherit(e)) => slot.set_suspended(e.clone(), env.clone()),
            }
        }
        frame
    }

    fn attr_set(&self, def: &AttrSetDef, env: &Env) -> Result<Value> {
        // Static names are distinct (lowering reports duplicates) and sorted by text, which
        // is the set's order but for names holding raw bytes.
        let (set, value_env) = if def.recursive {
            let frame = self.recursive_frame(def, env);
            let attrs = AttrSet::from_distinct(def.statics.iter().zip(frame.slots.as_slice()).map(
                |(binding, slot)| {
                    let attr = crate::value::Attr {
                        value: slot.clone(),
                        span: Some(binding.span),
                    };
                    (binding.name.clone(), attr)
                },
            ));
            (attrs, frame)
        } else {
            let attrs = AttrSet::from_distinct(def.statics.iter().map(|binding| {
                let value = match &binding.value {
                    BindingValue::Expr(e) | BindingValue::Inherit(e) => self.thunk(e, env),
                };
                let attr = crate::value::Attr {
                    value,
                    span: Some(binding.span),
                };
                (binding.name.clone(), attr)
            }));
            (attrs, env.clone())
        };
        // Most sets are done here, in their one allocation; the rest grow from a copy.
        let overrides = def.recursive && overrides_index(def).is_some();
        if def.dynamics.is_empty() && !overrides {
            return Ok(Value::Attrs(set));
        }
        let mut attrs = set.to_attrs();
        if overrides {
            self.apply_overrides(def, &value_env, &mut attrs)?;
        }
        for dynamic in &def.dynamics {
            let Some(name) = self.attr_name(&dynamic.name, &value_env)? else {
                continue;
            };
            if let Some(first) = attrs.get(&name) {
                let at = first
                    .span
                    .and_then(|s| {
                        let f = self.sources.get(s.file)?;
                        let (line, col) = f.line_col(s.start);
                        Some(format!(" at {}:{line}:{col}", f.name))
                    })
                    .unwrap_or_default();
                return Err(EvalError::other(
                    format!("dynamic attribute '{name}' already defined{at}"),
                    Some(dynamic.span),
                ));
            }
            let thunk = match &dynamic.value {
                BindingValue::Expr(e) => self.thunk(e, &value_env),
                BindingValue::Inherit(e) => self.thunk(e, env),
            };
            attrs.insert(name, thunk, Some(dynamic.span));
        }
        Ok(Value::attrs(attrs))
    }

    /// A `rec` set's `__overrides` (as Nix 2.8): its attributes replace the set's own ones,
    /// in the set and in the frame its values see, and the others are added; dynamic
    /// attributes come after.
    fn apply_overrides(&self, def: &AttrSetDef, frame: &Env, attrs: &mut Attrs) -> Result<()> {
        let Some(index) = overrides_index(def) else {
            return Ok(());
        };
        let span = def.statics[index].span;
        let overrides = frame.slots.as_slice()[index]
            .force(self)
            .map_err(|e| e.note(Some(span), "while evaluating the `__overrides` attribute"))?;
        let Value::Attrs(overrides) = overrides else {
            return Err(EvalError::type_error("a set", &overrides, Some(span))
                .note(Some(span), "while evaluating the `__overrides` attribute"));
        };
        for (name, attr) in overrides.iter() {
            if let Ok(slot) = def.statics.binary_search_by(|b| b.name.cmp(name)) {
                frame.slots.as_slice()[slot].set_alias(attr.value.clone());
            }
            attrs.insert(name.clone(), attr.value.clone(), attr.span);
        }
        Ok(())
    }

    /// Calls a top-level function with named arguments as `nix-instantiate` does: a function
    /// with a pattern gets those of `args` it names (all with `...`); any other value is
    /// returned as it is.
    pub fn auto_call(&self, value: Value, args: &[(Rc<str>, Thunk)]) -> Result<Value> {
        if let Value::Attrs(attrs) = &value {
            if let Some(functor) = attrs.get("__functor") {
                let f = functor.value.force(self)?;
                let v = self.apply(&f, Thunk::value(value.clone()), crate::builtins::no_span())?;
                return self.nested(None, || self.auto_call(v, args));
            }
        }
        let Value::Lambda(closure) = &value else {
            return Ok(value);
        };
        let Param::Pattern {
            formals, ellipsis, ..
        } = &closure.def.param
        else {
            return Ok(value);
        };
        let mut attrs = Attrs::new();
        for (name, thunk) in args {
            if *ellipsis || formals.iter().any(|f| &f.name == name) {
                attrs.insert(name.clone(), thunk.clone(), None);
            }
        }
        if let Some(f) = formals
            .iter()
            .find(|f| f.default.is_none() && !attrs.contains(&f.name))
        {
            return Err(EvalError::other(
                format!(
                    "cannot evaluate a function that has an argument without a value ('{}')",
                    f.name
                ),
                Some(f.span),
            ));
        }
        let span = closure.def.span;
        self.apply(&value, Thunk::value(Value::attrs(attrs)), span)
    }

    /// Applies a function value to a lazy argument.
    pub fn apply(&self, func: &Value, arg: Thunk, span: Span) -> Result<Value> {
        self.call_level(span, || self.apply_inner(func, arg, span))
    }

    /// Runs `call` one call level deeper, after checking the depth limit and the memory
    /// ceiling. Every call is a cheap point to check the ceiling: evaluation that allocates
    /// without end calls functions (a builtin's own big results are checked up front).
    #[inline(always)]
    fn call_level(&self, span: Span, call: impl FnOnce() -> Result<Value>) -> Result<Value> {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(stack_overflow(Some(span)));
        }
        if memory::exhausted() {
            return Err(memory::out_of_memory(Some(span)));
        }
        self.depth.set(depth + 1);
        let result = call();
        self.depth.set(depth);
        result
    }

    /// `func first second`, as built-ins call their functions (`foldl'`, `sort`, `mapAttrs`):
    /// a curried lambda `a: b: body` is bound in one go, without allocating the closure of
    /// `b: body`. Depth, errors and their notes are those of two `apply`s.
    pub(crate) fn apply2(
        &self,
        func: &Value,
        first: Thunk,
        second: Thunk,
        span: Span,
    ) -> Result<Value> {
        if let Value::Lambda(closure) = func {
            if let ExprKind::Lambda(inner) = &closure.def.body.kind {
                let depth = self.depth.get();
                if depth >= MAX_DEPTH {
                    return Err(stack_overflow(Some(span)));
                }
                self.depth.set(depth + 1);
                let result = self.bind_lambda(closure, first, span).and_then(|env| {
                    let inner = Closure {
                        def: inner.clone(),
                        env,
                    };
                    self.call_lambda(&inner, second, span)
                });
                self.depth.set(depth);
                return result;
            }
        }
        let partial = self.apply(func, first, span)?;
        self.apply(&partial, second, span)
    }

    /// [`Evaluator::apply`] of a lambda given as its closure rather than a value holding one
    /// (a curried call's inner function, see `apply_curried`): the same checks and depth.
    fn apply_closure(&self, closure: &Closure, arg: Thunk, span: Span) -> Result<Value> {
        self.call_level(span, || self.call_lambda(closure, arg, span))
    }

    fn apply_inner(&self, func: &Value, arg: Thunk, span: Span) -> Result<Value> {
        match func {
            Value::Lambda(closure) => self.call_lambda(closure, arg, span),
            Value::PrimOp(op) => {
                memory::check(Some(span))?;
                if op.arity > 1 {
                    let mut args = Vec::with_capacity(op.arity);
                    args.push(arg);
                    return Ok(partial_primop(op, args));
                }
                (op.func)(self, std::slice::from_ref(&arg)).map_err(|e| e.at(span))
            }
            Value::PrimOpApp(app) => self.call_primop_app(app, arg, span),
            _ => self.apply_other(func, arg, span),
        }
    }

    /// A set with `__functor` called, or an error for what cannot be called: out of line, so
    /// that `apply`'s frame (one per call a built-in makes) holds only the common cases.
    #[inline(never)]
    fn apply_other(&self, func: &Value, arg: Thunk, span: Span) -> Result<Value> {
        match func {
            Value::Attrs(attrs) if attrs.contains("__functor") => {
                let functor = attrs
                    .get("__functor")
                    .map(|a| a.value.clone())
                    .ok_or_else(|| EvalError::other("missing __functor", Some(span)))?
                    .force(self)?;
                let partial = self.apply(&functor, Thunk::value(func.clone()), span)?;
                self.apply(&partial, arg, span)
            }
            other => Err(EvalError::other(
                format!(
                    "attempt to call something which is not a function but {}",
                    other.describe()
                ),
                Some(span),
            )),
        }
    }

    /// `builtins.substring 0 5 s`, `elemAt xs 1`: a built-in named by a variable or an
    /// attribute path, applied to all its arguments at once, is called directly instead of
    /// through one partial application per argument. Another function named so (`f a b`,
    /// `lib.f a b`) is named once and applied to all but the last argument here, giving the
    /// function the last one is passed to. `Unknown` for other calls: the caller evaluates
    /// the function as usual.
    #[inline(never)]
    fn call_head(&self, call: &ExprRef, env: &Env, span: Span) -> Result<CallHead> {
        const MAX_ARGS: usize = 4;
        // (call, argument), outermost first.
        // (Entries past `count` are never read: `call` only fills them.)
        let mut spine: [(&ExprRef, &ExprRef); MAX_ARGS] = [(call, call); MAX_ARGS];
        let mut count = 0;
        let mut head = call;
        while let ExprKind::Apply { func, arg } = &head.kind {
            if count == MAX_ARGS {
                return Ok(CallHead::Unknown);
            }
            spine[count] = (head, arg);
            count += 1;
            head = func;
        }
        if count < 2 || !matches!(head.kind, ExprKind::Var(_) | ExprKind::Select { .. }) {
            return Ok(CallHead::Unknown);
        }
        let f = self.eval_found(head, env)?;
        if let Value::PrimOp(op) = f.get() {
            if op.arity == count {
                memory::check(Some(span))?;
                // The arguments (first given first) on the stack: no `Vec` per call. The
                // spine holds them outermost first.
                let arg = |i: usize| self.builtin_argument(spine[i].1, env);
                let result = match count {
                    2 => (op.func)(self, &[arg(1), arg(0)]),
                    3 => (op.func)(self, &[arg(2), arg(1), arg(0)]),
                    _ => (op.func)(self, &[arg(3), arg(2), arg(1), arg(0)]),
                };
                return result.map(CallHead::Done).map_err(|e| e.at(span));
            }
        }
        // The inner calls, innermost first, each at its own position; the outermost (the
        // last argument) is left to the caller, which can loop into a lambda's body.
        let mut f = CallHead::Function(f.into_owned());
        for (call, arg) in spine[1..count].iter().rev() {
            let arg = self.thunk(arg, env);
            f = match f {
                CallHead::Function(Value::Lambda(closure)) if returns_lambda(&closure) => {
                    self.apply_curried(&closure, arg, call.span)?
                }
                CallHead::Curried(closure) if returns_lambda(&closure) => {
                    self.apply_curried(&closure, arg, call.span)?
                }
                CallHead::Curried(closure) => {
                    CallHead::Function(self.apply_closure(&closure, arg, call.span)?)
                }
                CallHead::Function(other) => {
                    CallHead::Function(self.apply(&other, arg, call.span)?)
                }
                done @ (CallHead::Done(_) | CallHead::Unknown) => return Ok(done),
            };
        }
        Ok(f)
    }

    /// `closure`, whose body is itself a lambda (`a: b: body`, `{ x, ... }: y: body`, see
    /// `returns_lambda`), applied to `arg` where more arguments follow: the body's function
    /// bound in the call's frame, without allocating the closure `apply` would make of it
    /// (the commonest case of `lib.optionalAttrs c s`, `lib.mkIf c x`, `lib.foldr f z l`).
    /// Nix makes that closure in place in a value it has anyway; here it would be an
    /// allocation.
    fn apply_curried(&self, closure: &Closure, arg: Thunk, span: Span) -> Result<CallHead> {
        let ExprKind::Lambda(inner) = &closure.def.body.kind else {
            // Not curried after all (callers check): the call as `apply` makes it.
            return Ok(CallHead::Function(self.apply_closure(closure, arg, span)?));
        };
        // The checks `apply` makes before a call; binding a frame nests nothing.
        if self.depth.get() >= MAX_DEPTH {
            return Err(stack_overflow(Some(span)));
        }
        if memory::exhausted() {
            return Err(memory::out_of_memory(Some(span)));
        }
        let env = self.bind_lambda(closure, arg, span)?;
        Ok(CallHead::Curried(Closure {
            def: inner.clone(),
            env,
        }))
    }

    /// A partially applied built-in given one more argument. The call it completes gets its
    /// arguments from the stack: most built-ins take two or three, and a `Vec` per call was
    /// an allocation per `map`, `filter` or `hasAttr` the module system makes.
    fn call_primop_app(&self, app: &PrimOpApp, arg: Thunk, span: Span) -> Result<Value> {
        memory::check(Some(span))?;
        let op = &app.op;
        if app.args.len() + 1 < op.arity {
            let mut args = Vec::with_capacity(op.arity);
            args.extend_from_slice(&app.args);
            args.push(arg);
            return Ok(partial_primop(op, args));
        }
        let result = match app.args.as_slice() {
            [a] => (op.func)(self, &[a.clone(), arg]),
            [a, b] => (op.func)(self, &[a.clone(), b.clone(), arg]),
            more => {
                let mut args = Vec::with_capacity(more.len() + 1);
                args.extend_from_slice(more);
                args.push(arg);
                (op.func)(self, &args)
            }
        };
        result.map_err(|e| e.at(span))
    }

    fn call_lambda(&self, closure: &Closure, arg: Thunk, span: Span) -> Result<Value> {
        let frame = self.bind_lambda(closure, arg, span)?;
        self.eval(&closure.def.body, &frame)
            .map_err(|e| e.note(Some(span), "while calling a function"))
    }

    /// The frame a call of `closure` with `arg` evaluates its body in. A plain parameter (most
    /// calls) is bound in a small function of its own: a pattern's binding needs a large frame,
    /// which calls with a plain parameter need not set up.
    #[inline]
    fn bind_lambda(&self, closure: &Closure, arg: Thunk, span: Span) -> Result<Env> {
        match &closure.def.param {
            Param::Ident(_) => Ok(self.bind_parameter(closure, arg)),
            Param::Pattern { .. } => self.bind_pattern(closure, arg, span),
        }
    }

    /// [`Evaluator::bind_lambda`] of a lambda with a pattern (`{ a, b ? 1, ... }@args:`).
    #[inline(never)]
    fn bind_pattern(&self, closure: &Closure, arg: Thunk, span: Span) -> Result<Env> {
        let def = &closure.def;
        let frame = match &def.param {
            Param::Ident(_) => self.bind_parameter(closure, arg),
            Param::Pattern {
                formals,
                ellipsis,
                bind,
            } => {
                let attrs = match arg.force(self)? {
                    Value::Attrs(a) => a,
                    other => return Err(EvalError::type_error("a set", &other, Some(span))),
                };
                let mut slots =
                    SlotsBuilder::with_capacity(formals.len() + bind.is_some() as usize);
                let mut defaults = Vec::new();
                // Formals found in the set: when that is all of the set, it holds no
                // argument the function does not name (formals are distinct).
                let mut found = 0;
                for formal in formals {
                    match attrs.get_at_last(&formal.name, &formal.last_position) {
                        Some(a) => {
                            found += 1;
                            slots.push(a.value.clone());
                        }
                        None => match &formal.default {
                            Some(d) => match self.outer_default(d, &closure.env) {
                                Some(value) => slots.push(value),
                                None => {
                                    let slot = Thunk::placeholder();
                                    defaults.push((slot.clone(), d.clone()));
                                    slots.push(slot);
                                }
                            },
                            None => {
                                // An unexpected argument is the error reported first.
                                if !ellipsis {
                                    self.unexpected_argument(def, formals, &attrs, span)?;
                                }
                                return Err(EvalError::new(
                                    EvalErrorKind::MissingArgument {
                                        function: self.lambda_name(def.span),
                                        name: formal.name.to_string(),
                                    },
                                    Some(span),
                                )
                                .note(Some(def.span), "the function is defined here"));
                            }
                        },
                    }
                }
                if !ellipsis && found != attrs.len() {
                    self.unexpected_argument(def, formals, &attrs, span)?;
                }
                if bind.is_some() {
                    slots.push(arg);
                }
                let frame = Env::new(EnvFrame {
                    slots: slots.finish(),
                    parent: Some(closure.env.clone()),
                });
                // Defaults see the other formals, so they are suspended in the new frame.
                for (slot, d) in defaults {
                    slot.set_suspended(d, frame.clone());
                }
                frame
            }
        };
        Ok(frame)
    }

    /// The error for an argument in `attrs` that a function without `...` does not name, if
    /// there is one (out of line: only calls that fail, or lack an argument, get here).
    #[cold]
    #[inline(never)]
    fn unexpected_argument(
        &self,
        def: &LambdaDef,
        formals: &[Formal],
        attrs: &AttrSet,
        span: Span,
    ) -> Result<()> {
        let Some(name) = attrs
            .names()
            .find(|n| !formals.iter().any(|f| &f.name == *n))
        else {
            return Ok(());
        };
        Err(EvalError::new(
            EvalErrorKind::UnexpectedArgument {
                function: self.lambda_name(def.span),
                // As Nix prints a symbol: quoted unless an identifier.
                name: crate::print::quote_attr(name),
            },
            Some(span),
        )
        .note(Some(def.span), "the function is defined here"))
    }

    /// The value of a formal's default that needs nothing of the call's own frame: a
    /// constant, or a variable from outside the function (`? null`, `? false`, `? { }` is
    /// not one). Those need no placeholder filled after the frame is built, as Nix's
    /// `maybeThunk` makes no thunk for them. `outer` is the closure's environment, one
    /// frame above the one the default was resolved in.
    fn outer_default(&self, default: &ExprRef, outer: &Env) -> Option<Thunk> {
        match &default.kind {
            ExprKind::Var(Var::Local { depth, slot }) if *depth > 0 => {
                Some(lookup_local(outer, depth - 1, *slot).clone())
            }
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) => {
                Some(self.thunk(default, outer))
            }
            _ => None,
        }
    }

    fn lambda_name(&self, span: Span) -> String {
        match self.sources.get(span.file) {
            Some(f) => {
                let (line, col) = f.line_col(span.start);
                format!("anonymous function at {}:{line}:{col}", f.name)
            }
            None => "anonymous function".to_owned(),
        }
    }

    /// Turns a value into a string as interpolation (`mode.more == false`) or `toString` does.
    pub fn coerce_to_string(
        &self,
        value: &Value,
        mode: CoercionMode,
        span: Span,
    ) -> Result<NixString> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Path(p) => {
                if mode.copy_to_store {
                    let store_path = self.copy_path_to_store(p, span)?;
                    let mut ctx = Context::default();
                    ctx.paths.insert(store_path.clone());
                    Ok(NixString::with_context(store_path, ctx))
                } else {
                    Ok(NixString::plain(&**p))
                }
            }
            Value::Attrs(attrs) => {
                if let Some(f) = attrs.select("__toString") {
                    let f = f.value.force(self)?;
                    let r = self.apply(&f, Thunk::value(value.clone()), span)?;
                    return self.nested(Some(span), || self.coerce_to_string(&r, mode, span));
                }
                if let Some(out) = attrs.select("outPath") {
                    let out = out.value.force(self)?;
                    return self.nested(Some(span), || self.coerce_to_string(&out, mode, span));
                }
                Err(EvalError::new(
                    EvalErrorKind::NotCoercible("a set"),
                    Some(span),
                ))
            }
            Value::Int(i) if mode.more => Ok(NixString::plain(i.to_string())),
            Value::Float(f) if mode.more => Ok(NixString::plain(format!("{f:.6}"))),
            Value::Bool(b) if mode.more => Ok(NixString::plain(if *b { "1" } else { "" })),
            Value::Null if mode.more => Ok(NixString::plain("")),
            Value::List(items) if mode.more => {
                let mut text = Vec::new();
                let mut context = Context::default();
                for (i, item) in items.iter().enumerate() {
                    let v = item.force(self)?;
                    let s = self.nested(Some(span), || self.coerce_to_string(&v, mode, span))?;
                    text.extend_from_slice(s.as_bytes());
                    s.merge_context_into(&mut context);
                    // Nix puts a space after every element but the last, except after an
                    // empty list (`toString [ [ ] "x" [ ] ]` is "x ").
                    if i + 1 < items.len() && !matches!(&v, Value::List(l) if l.is_empty()) {
                        text.push(b' ');
                    }
                }
                Ok(NixString::with_context(text, context))
            }
            other => Err(EvalError::new(
                EvalErrorKind::NotCoercible(other.describe()),
                Some(span),
            )),
        }
    }

    /// Runs `f`, one level of a recursive walk over values (printing, comparison, `toJSON`,
    /// `toXML`, `deepSeq`, coercion), one level deeper: a cyclic or absurdly deep value is then
    /// "stack overflow" at `span`, as in Nix, and a walk that builds too much stops at the
    /// memory ceiling, instead of either exhausting the native stack or memory.
    pub fn nested<T>(&self, span: Option<Span>, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(stack_overflow(span));
        }
        memory::check(span)?;
        self.depth.set(depth + 1);
        let result = f();
        self.depth.set(depth);
        result
    }

    /// Forces a value and everything inside it (`--strict`, `deepSeq`).
    pub fn force_deep(&self, value: &Value) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        self.force_deep_inner(value, &mut seen)
    }

    fn force_deep_inner(
        &self,
        value: &Value,
        seen: &mut std::collections::HashSet<usize>,
    ) -> Result<()> {
        if !matches!(value, Value::Attrs(_) | Value::List(_)) {
            return Ok(());
        }
        self.nested(None, || self.force_deep_values(value, seen))
    }

    fn force_deep_values(
        &self,
        value: &Value,
        seen: &mut std::collections::HashSet<usize>,
    ) -> Result<()> {
        match value {
            Value::Attrs(attrs) => {
                if !seen.insert(attrs.addr()) {
                    return Ok(());
                }
                for (name, attr) in attrs.iter() {
                    let v = attr.value.force(self).map_err(|e| {
                        e.note(
                            attr.span,
                            format!("while evaluating the attribute '{name}'"),
                        )
                    })?;
                    self.force_deep_inner(&v, seen)?;
                }
            }
            Value::List(items) => {
                if !seen.insert(items.addr()) {
                    return Ok(());
                }
                for item in items.iter() {
                    self.force_deep_inner(&item.force(self)?, seen)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The names of the base environment (for `parse_file` callers outside the evaluator).
    pub fn globals(&self) -> &[Rc<str>] {
        &self.globals
    }

    /// Evaluates a lowered expression in the base environment.
    pub fn eval_in_base(&self, expr: &ExprRef) -> Result<Value> {
        self.eval(expr, &self.base_env)
    }
}

/// A value [`Evaluator::eval_found`] borrowed from a computed variable, or evaluated.
enum Found<'a> {
    Borrowed(&'a Value),
    Owned(Value),
}

impl Found<'_> {
    #[inline]
    fn get(&self) -> &Value {
        match self {
            Found::Borrowed(v) => v,
            Found::Owned(v) => v,
        }
    }

    /// The value to keep: a clone of a borrowed one, an evaluated one as it is.
    #[inline]
    fn into_owned(self) -> Value {
        match self {
            Found::Borrowed(v) => v.clone(),
            Found::Owned(v) => v,
        }
    }
}

/// What [`Evaluator::call_head`] found of a call.
enum CallHead {
    /// The call's value: a built-in called with all its arguments.
    Done(Value),
    /// The value of the call's function part.
    Function(Value),
    /// The call's function part, a lambda's body bound in its frame but not allocated as a
    /// value (see [`Evaluator::apply_curried`]).
    Curried(Closure),
    /// Not a call it handles.
    Unknown,
}

/// Whether calling `closure` gives another lambda written in place (`a: b: body`): then a
/// call with more arguments can bind both without making that lambda a value.
fn returns_lambda(closure: &Closure) -> bool {
    matches!(closure.def.body.kind, ExprKind::Lambda(_))
}

/// Where a `rec` set's or `let`'s `__overrides` binding is, if it has one. A scan: comparing
/// lengths first, it rejects most names without reading them, where a search's ordering
/// compares would read each.
fn overrides_index(def: &AttrSetDef) -> Option<usize> {
    def.statics.iter().position(|b| &*b.name == "__overrides")
}

/// The slot that binding `index` of a `rec`/`let` names when its value is just a variable of
/// the same frame.
fn sibling_variable(def: &AttrSetDef, index: usize) -> Option<usize> {
    match &def.statics.get(index)?.value {
        BindingValue::Expr(e) => match &e.kind {
            ExprKind::Var(Var::Local { depth: 0, slot }) => Some(*slot as usize),
            _ => None,
        },
        BindingValue::Inherit(_) => None,
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum SiblingTarget {
    /// The binding has a value of its own.
    Itself,
    /// The binding is the thunk of this slot (following `a = b; b = c;` to its end).
    Slot(usize),
    /// The binding is part of a cycle of such variables.
    Cycle,
}

/// Where each binding's chain of same-frame variables ends, in time linear in the bindings.
fn sibling_targets(def: &AttrSetDef) -> Vec<SiblingTarget> {
    const UNSEEN: u8 = 0;
    const WALKING: u8 = 1;
    const DONE: u8 = 2;
    let n = def.statics.len();
    let mut state = vec![UNSEEN; n];
    let mut end = vec![SiblingTarget::Itself; n];
    let mut path = Vec::new();
    for start in 0..n {
        let mut k = start;
        let found = loop {
            match state[k] {
                DONE => break end[k],
                WALKING => break SiblingTarget::Cycle,
                _ => {}
            }
            state[k] = WALKING;
            path.push(k);
            match sibling_variable(def, k).filter(|&next| next < n) {
                Some(next) => k = next,
                None => break SiblingTarget::Slot(k),
            }
        };
        for p in path.drain(..) {
            state[p] = DONE;
            end[p] = found;
        }
    }
    (0..n)
        .map(|i| match end[i] {
            SiblingTarget::Slot(j) if j == i => SiblingTarget::Itself,
            other => other,
        })
        .collect()
}

fn lookup_local(env: &Env, depth: u32, slot: u32) -> &Thunk {
    lookup_local_inline(env, depth, slot)
}

/// [`lookup_local`] inlined, for `thunk` (whose variables are most of its work): elsewhere
/// the call keeps the callers' code, and their frames, small.
#[inline(always)]
fn lookup_local_inline(env: &Env, depth: u32, slot: u32) -> &Thunk {
    // Most variables are in the innermost frame or one or two out: those levels are walked
    // without a loop, which the compiler would unroll, at a cost to every short walk.
    let mut frame: &EnvFrame = env;
    if depth != 0 {
        frame = parent_frame(frame);
        if depth != 1 {
            frame = parent_frame(frame);
            for _ in 2..depth {
                frame = parent_frame(frame);
            }
        }
    }
    frame.slots.get(slot as usize)
}

/// The frame around `frame`, for a variable lowering resolved further out.
#[inline(always)]
fn parent_frame(frame: &EnvFrame) -> &EnvFrame {
    // Lowering resolves a variable to the frame `depth` scopes out, and the evaluator builds
    // one frame per scope in the same nesting, so the parent exists; checked all the same, so
    // that a mismatch would be a panic, never a read through a dangling pointer.
    frame
        .parent
        .as_ref()
        .expect("lowering resolved a frame that exists")
}

/// `op` given fewer arguments than it takes: a value waiting for the rest.
fn partial_primop(op: &Rc<PrimOp>, args: Vec<Thunk>) -> Value {
    Value::PrimOpApp(Rc::new(PrimOpApp {
        op: op.clone(),
        args,
    }))
}

/// The error of a condition that is not a Boolean: built out of line, so that `eval_bool`'s
/// frame (one per `if` being decided) holds only the value.
#[cold]
#[inline(never)]
fn not_a_boolean(value: Value, span: Span) -> EvalError {
    EvalError::type_error("a Boolean", &value, Some(span))
}

/// The error of a nesting past `MAX_DEPTH`: built out of line so that the hot frames of
/// `eval`, `eval_loop` and `apply` (one of each per level of Nix recursion) stay small.
#[cold]
#[inline(never)]
fn stack_overflow(span: Option<Span>) -> EvalError {
    EvalError::new(EvalErrorKind::StackOverflow, span)
}

fn missing_attribute(name: &str, attrs: &AttrSet, span: Span) -> EvalError {
    EvalError::new(
        EvalErrorKind::MissingAttribute {
            name: name.to_owned(),
            available: attrs.names().map(|n| n.to_string()).collect(),
        },
        Some(span),
    )
}

impl Drop for Evaluator {
    /// `builtins.builtins` refers to `builtins` itself: break that cycle so that an evaluator
    /// (many of them in tests and the fuzzer) frees its built-ins when dropped.
    fn drop(&mut self) {
        if let Some(Value::Attrs(builtins)) =
            self.base_env.slots.as_slice().first().and_then(Thunk::peek)
        {
            if let Some(attr) = builtins.get("builtins") {
                attr.value.set_value(Value::Null);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{DiskIo, EvalOptions, Evaluator};
    use std::rc::Rc;

    /// `src` evaluated strictly and printed, or its error's message.
    fn run(src: &str) -> String {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let result = ev
            .eval_source("«test»", src, std::path::Path::new("/"))
            .and_then(|v| {
                ev.force_deep(&v)?;
                crate::print_value(&ev, &v, true)
            });
        match result {
            Ok(printed) => String::from_utf8_lossy(&printed).into_owned(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn a_frame_is_one_pointer_to_48_bytes() {
        use super::{Env, EnvFrame, Slots};
        assert_eq!(std::mem::size_of::<Env>(), 8);
        assert_eq!(std::mem::size_of::<Option<Env>>(), 8);
        // A tag and three slots, the parent; with the count, six words.
        assert_eq!(std::mem::size_of::<Slots>(), 32);
        assert_eq!(Env::BLOCK_BYTES, 48);
        assert_eq!(std::mem::size_of::<EnvFrame>(), 40);
    }

    #[test]
    fn locals_are_found_depth_frames_out() {
        use super::{lookup_local, lookup_local_inline, Env, EnvFrame, Slots};
        use crate::pool::Counted;
        use crate::thunk::Thunk;
        use crate::value::Value;
        let int = |i| Thunk::value(Value::Int(i));
        let root: Env = Counted::new(EnvFrame {
            slots: Slots::Many(vec![int(0), int(1), int(2), int(3)]),
            parent: None,
        });
        let middle: Env = Counted::new(EnvFrame {
            slots: Slots::Two([int(10), int(11)]),
            parent: Some(root),
        });
        let inner: Env = Counted::new(EnvFrame {
            slots: Slots::One(int(20)),
            parent: Some(middle),
        });
        // Frames deeper than the walk's unlooped levels.
        let mut inner = inner;
        for i in 0..3 {
            inner = Counted::new(EnvFrame {
                slots: Slots::One(int(30 + i)),
                parent: Some(inner),
            });
        }
        let cases = [
            (0, 0, 32),
            (1, 0, 31),
            (2, 0, 30),
            (3, 0, 20),
            (4, 0, 10),
            (4, 1, 11),
            (5, 0, 0),
            (5, 3, 3),
        ];
        for (depth, slot, want) in cases {
            for found in [
                lookup_local(&inner, depth, slot),
                lookup_local_inline(&inner, depth, slot),
            ] {
                assert!(matches!(found.peek(), Some(Value::Int(i)) if i == want));
            }
        }
    }

    #[test]
    fn with_frames_are_looked_through_by_name_only() {
        assert_eq!(run("with { a = 1; }; a"), "1");
        assert_eq!(
            run("let a = 2; in with { a = 1; b = 3; }; [ a b ]"),
            "[ 2 3 ]"
        );
        assert_eq!(run("with { a = 1; }; with { b = 2; }; [ a b ]"), "[ 1 2 ]");
        assert_eq!(run("x: with x; y"), "<LAMBDA>");
    }

    #[test]
    fn pattern_frames_of_every_size_bind_their_formals() {
        // One, two and three slots (inline), four and more (a `Vec`), with `@`.
        assert_eq!(run("({ a }: a) { a = 1; }"), "1");
        assert_eq!(run("({ a, b }: [ a b ]) { a = 1; b = 2; }"), "[ 1 2 ]");
        assert_eq!(
            run("({ a, b, ... }@s: [ a b s.c ]) { a = 1; b = 2; c = 3; }"),
            "[ 1 2 3 ]"
        );
        assert_eq!(
            run("({ a, b, c, d ? a + c }@s: [ a b c d s.b ]) { a = 1; b = 2; c = 3; }"),
            "[ 1 2 3 4 2 ]"
        );
        assert_eq!(run("({ }: 7) { }"), "7");
    }

    #[test]
    fn defaults_see_the_outside_and_the_other_formals() {
        // Constants and outer variables are taken as they are; the rest see the frame.
        assert_eq!(
            run("let o = 5; in ({ a ? null, b ? o, c ? \"s\", d ? 2, e ? [ b d ] }: [ a b c d e ]) { }"),
            "[ null 5 \"s\" 2 [ 5 2 ] ]"
        );
        // A default naming a formal, not the outer variable of the same name.
        assert_eq!(run("let a = 1; in ({ a ? 2, b ? a }: b) { }"), "2");
        assert_eq!(run("let a = 1; in ({ a ? 2, b ? a }: b) { a = 3; }"), "3");
        // Each call gets its own defaults.
        assert_eq!(
            run("let f = { x ? { }, y ? [ x ] }: y; in [ (f { }) (f { x = 1; }) ]"),
            "[ [ { } ] [ 1 ] ]"
        );
    }

    #[test]
    fn unexpected_and_missing_arguments_are_still_errors() {
        let unexpected = run("({ a }: a) { a = 1; b = 2; }");
        assert!(
            unexpected.contains("unexpected argument 'b'"),
            "{unexpected}"
        );
        // Both wrong: the unexpected argument is the one reported, as before.
        let both = run("({ a, b }: a) { a = 1; c = 2; }");
        assert!(both.contains("unexpected argument 'c'"), "{both}");
        let missing = run("({ a, b }: a) { a = 1; }");
        assert!(
            missing.contains("without required argument 'b'"),
            "{missing}"
        );
        assert_eq!(run("({ a, ... }: a) { a = 1; b = 2; }"), "1");
    }

    #[test]
    fn curried_calls_bind_each_argument_in_turn() {
        // Lambdas returning lambdas, bound without a closure between (`apply_curried`).
        assert_eq!(run("let f = a: b: c: [ a b c ]; in f 1 2 3"), "[ 1 2 3 ]");
        assert_eq!(
            run("let f = { x, y ? x }: z: [ x y z ]; in f { x = 1; } 2"),
            "[ 1 1 2 ]"
        );
        assert_eq!(
            run("let f = a: { b }@s: [ a b s ]; in f 1 { b = 2; }"),
            "[ 1 2 { b = 2; } ]"
        );
        // A body that is not itself a lambda is evaluated as a call would.
        assert_eq!(run("let g = b: b * 2; f = a: g; in f 1 5"), "10");
        assert_eq!(run("let f = a: builtins.add a; in f 1 2"), "3");
        assert_eq!(run("let g = x: x * 10; f = a: b: g; in f 1 2 3"), "30");
        assert_eq!(
            run("let f = a: b: c: d: [ a b ] ++ c d; in f 1 2 (x: [ x ]) 3"),
            "[ 1 2 3 ]"
        );
        assert_eq!(
            run("let f = a: b: c: d: e: a + b + c + d + e; in f 1 2 3 4 5"),
            "15"
        );
        // Each call has frames of its own.
        assert_eq!(
            run("let f = a: b: [ a b ]; in [ (f 1 2) (f 3 4) ]"),
            "[ [ 1 2 ] [ 3 4 ] ]"
        );
        // Arguments stay lazy, and binding errors are the first call's.
        assert_eq!(run("let f = a: b: a; in f 1 (throw \"no\")"), "1");
        let wrong = run("let f = { x }: y: x; in f { z = 1; } 2");
        assert!(wrong.contains("unexpected argument 'z'"), "{wrong}");
    }

    #[test]
    fn constant_bindings_are_their_values_unless_overridden() {
        // Constants of `let` and `rec` frames are shared values, each call seeing the same;
        // `__overrides` still replaces them, in the set and for the bindings that see them.
        assert_eq!(
            run(
                "let f = n: let a = 1; s = \"x\"; x = 2.5; b = a + n; in [ a s x b ]; \
                 in [ (f 1) (f 2) (rec { a = 1; c = a + 1; }).c ]"
            ),
            "[ [ 1 \"x\" 2.5 2 ] [ 1 \"x\" 2.5 3 ] 2 ]"
        );
        assert_eq!(
            run("let o = rec { a = 1; s = \"y\"; c = a + 1; d = s; \
                 __overrides = { a = 10; s = \"z\"; }; }; in [ o.a o.c o.d ]"),
            "[ 10 11 \"z\" ]"
        );
    }

    #[test]
    fn let_frames_of_every_size_see_their_bindings() {
        // One, two and three bindings (inline slots) and more (a `Vec`), in any order.
        assert_eq!(run("let a = 1; in a"), "1");
        assert_eq!(run("let a = b + 1; b = 1; in [ a b ]"), "[ 2 1 ]");
        assert_eq!(
            run("let a = b + c; b = 1; c = b * 3; in [ a b c ]"),
            "[ 4 1 3 ]"
        );
        assert_eq!(
            run("let a = 1; b = a + 1; c = b + 1; d = c + a; in [ a b c d ]"),
            "[ 1 2 3 4 ]"
        );
        // Shared variables (`inherit`, `a = b;`) and `rec` sets.
        assert_eq!(
            run("let x = 5; in let inherit x; y = x; z = y; in [ x y z ]"),
            "[ 5 5 5 ]"
        );
        assert_eq!(run("rec { a = 1; b = a + 1; }"), "{ a = 1; b = 2; }");
        assert_eq!(
            run("let a = b; b = a; in a"),
            "error: infinite recursion encountered"
        );
    }

    /// The source text of each "while calling a function" note of `src`'s error, innermost
    /// first.
    fn traced_calls(src: &str) -> Vec<String> {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let error = ev
            .eval_source("«test»", src, std::path::Path::new("/"))
            .and_then(|v| ev.force_deep(&v))
            .expect_err("the expression fails");
        error
            .notes
            .iter()
            .filter(|(_, note)| note == "while calling a function")
            .map(|(span, _)| {
                let span = span.expect("a call has a place");
                src[span.start as usize..span.end as usize].to_owned()
            })
            .collect()
    }

    #[test]
    fn an_error_traces_the_calls_of_the_loops_it_leaves() {
        // The calls that led to the error, latest first.
        assert_eq!(
            traced_calls("let f = x: g x; g = y: throw \"boom\"; in if true then f 1 else 0"),
            ["g x", "f 1"]
        );
        // A curried call is one call, at its whole application.
        assert_eq!(
            traced_calls("let f = a: b: throw \"boom\"; in f 1 2"),
            ["f 1 2"]
        );
        // No lambda called: no trace, and the calls of a loop that returned are not shown.
        assert!(traced_calls("if true then throw \"a\" else 1").is_empty());
        assert!(traced_calls("let f = x: x; in f 1 + (throw \"b\")").is_empty());
        // Only the latest eight calls of a loop.
        let deep = traced_calls("let f = n: if n == 0 then throw \"end\" else f (n - 1); in f 20");
        assert_eq!(deep.len(), super::TRACED_CALLS, "{deep:?}");
        assert!(deep.iter().all(|call| call == "f (n - 1)"), "{deep:?}");
    }

    #[test]
    fn frames_of_finished_calls_are_reused_only_when_nothing_holds_them() {
        // Closures and thunks made in a call keep its frame: later calls do not touch it.
        assert_eq!(
            run("let mk = x: y: x + y; a = mk 1; b = mk 2; in [ (a 10) (b 20) (a 30) ]"),
            "[ 11 22 31 ]"
        );
        assert_eq!(
            run("let f = x: { v = x; g = y: x + y; }; p = f 1; q = f 2; in [ p.v (p.g 1) q.v (q.g 1) ]"),
            "[ 1 2 2 3 ]"
        );
        // Frames that end with their calls, one after another and curried.
        assert_eq!(
            run("let sq = x: x * x; add = a: b: a + b; in [ (map sq [ 1 2 3 ]) (map (add 1) [ 1 2 ]) (builtins.foldl' add 0 [ 1 2 3 ]) ]"),
            "[ [ 1 4 9 ] [ 2 3 ] 6 ]"
        );
        // A call whose argument is still suspended when its frame ends.
        assert_eq!(
            run("let k = x: y: y; lazy = k (throw \"never\"); in [ (lazy 1) (lazy 2) ]"),
            "[ 1 2 ]"
        );
        assert_eq!(
            run("let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 500"),
            "500"
        );
    }

    /// `src` evaluated and printed lazily (`nix-instantiate --eval` without `--strict`).
    fn run_lazy(src: &str) -> String {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let v = ev
            .eval_source("«test»", src, std::path::Path::new("/"))
            .expect("evaluates");
        let printed = crate::print_value(&ev, &v, false).expect("prints");
        String::from_utf8_lossy(&printed).into_owned()
    }

    #[test]
    fn functions_written_as_arguments_are_unevaluated_until_called_as_in_nix() {
        // Given to a lambda or kept in a set or list: not evaluated yet, as Nix 2.8 prints.
        assert_eq!(run_lazy("(f: { inherit f; }) (x: x)"), "{ f = <CODE>; }");
        assert_eq!(
            run_lazy("(a: f: { inherit f; }) 1 (x: x)"),
            "{ f = <CODE>; }"
        );
        assert_eq!(run_lazy("[ (x: x) ]"), "[ <CODE> ]");
        // Given to a built-in (made at once there): called as before.
        assert_eq!(
            run("[ (map (x: x * 2) [ 1 2 ]) (builtins.filter (x: x > 1) [ 1 2 ]) (builtins.foldl' (a: b: a + b) 0 [ 1 2 ]) (builtins.sort (a: b: a > b) [ 1 2 ]) ]"),
            "[ [ 2 4 ] [ 2 ] 3 [ 2 1 ] ]"
        );
        assert_eq!(run("builtins.map (f: f 1) [ (x: x + 1) ]"), "[ 2 ]");
        assert_eq!(
            run("builtins.mapAttrs (n: v: v + 1) { a = 1; }"),
            "{ a = 2; }"
        );
    }

    #[test]
    fn built_ins_applied_in_steps_or_at_once_agree() {
        // At once (`call_head`), partially applied then completed, and through a variable.
        assert_eq!(
            run("let f = builtins.foldl' (a: b: a + b); g = f 0; in [ (builtins.foldl' (a: b: a + b) 0 [ 1 2 ]) (g [ 1 2 3 ]) (f 1 [ 1 ]) ]"),
            "[ 3 6 2 ]"
        );
        assert_eq!(
            run("let s = builtins.substring; in [ (s 1 2 \"abcd\") ((s 0) 1 \"xy\") (((s 1) 1) \"xy\") ]"),
            "[ \"bc\" \"x\" \"y\" ]"
        );
        assert_eq!(run("map builtins.length [ [ ] [ 1 ] ]"), "[ 0 1 ]");
        assert_eq!(run("builtins.hasAttr \"a\" { a = 1; }"), "true");
    }
}
