//! Operators: `==` and `<` with Nix's rules, `+` on numbers, strings and paths, `//`, `++`,
//! and integer arithmetic that reports overflow (as current Nix does).

use crate::error::{EvalError, EvalErrorKind, Result};
use crate::eval::{CoercionMode, Env};
use crate::thunk::Thunk;
use crate::value::{AttrSet, Context, NixString, Value};
use crate::{memory, Evaluator};
use makes_syntax::ir::{BinaryOp, ExprRef};
use makes_syntax::{canonical_path, Span};

impl Evaluator {
    pub(crate) fn binary(
        &self,
        op: BinaryOp,
        lhs: &ExprRef,
        rhs: &ExprRef,
        env: &Env,
        span: Span,
    ) -> Result<Value> {
        match op {
            BinaryOp::And => Ok(Value::Bool(
                self.eval_bool(lhs, env)? && self.eval_bool(rhs, env)?,
            )),
            BinaryOp::Or => Ok(Value::Bool(
                self.eval_bool(lhs, env)? || self.eval_bool(rhs, env)?,
            )),
            BinaryOp::Implication => Ok(Value::Bool(
                !self.eval_bool(lhs, env)? || self.eval_bool(rhs, env)?,
            )),
            BinaryOp::PipeRight | BinaryOp::PipeLeft => Err(EvalError::other(
                "experimental Nix feature 'pipe-operators' is disabled",
                Some(span),
            )),
            _ => {
                // Operands are only read: variables already computed are borrowed. Others
                // are evaluated into plain locals (not an `Option` filled later, whose copy
                // of the value in pieces stalled every level of deep recursion through an
                // operand, `1 + f (n - 1)`), and the result goes straight to the caller.
                let (owned_a, owned_b);
                let a = match self.computed_local(lhs, env) {
                    Some(v) => v,
                    None => {
                        owned_a = self.eval(lhs, env)?;
                        &owned_a
                    }
                };
                let b = match self.computed_local(rhs, env) {
                    Some(v) => v,
                    None => {
                        owned_b = self.eval(rhs, env)?;
                        &owned_b
                    }
                };
                self.operate(op, a, b, lhs, rhs, span)
            }
        }
    }

    /// The operators on two values (all but the Boolean ones, which evaluate lazily). Apart
    /// from `binary`, so that an unoptimised build keeps its temporaries off the frames of
    /// deep recursion through operands.
    #[inline]
    fn operate(
        &self,
        op: BinaryOp,
        a: &Value,
        b: &Value,
        lhs: &ExprRef,
        rhs: &ExprRef,
        span: Span,
    ) -> Result<Value> {
        match op {
            BinaryOp::Equal
            | BinaryOp::NotEqual
            | BinaryOp::Less
            | BinaryOp::MoreOrEq
            | BinaryOp::More
            | BinaryOp::LessOrEq => self.comparison(op, a, b, span),
            BinaryOp::Update => match (a, b) {
                (Value::Attrs(x), Value::Attrs(y)) => {
                    // An empty open set still has names.
                    if y.is_empty() && y.open_source().is_none() {
                        return Ok(a.clone());
                    }
                    if x.is_empty() && x.open_source().is_none() {
                        return Ok(b.clone());
                    }
                    Ok(Value::Attrs(x.update(y)))
                }
                (Value::Attrs(_), other) => {
                    Err(EvalError::type_error("a set", other, Some(rhs.span)))
                }
                (other, _) => Err(EvalError::type_error("a set", other, Some(lhs.span))),
            },
            BinaryOp::Concat => match (a, b) {
                (Value::List(x), Value::List(y)) => {
                    let len = x.len().saturating_add(y.len());
                    memory::reserve(memory::bytes_of::<Thunk>(len), Some(span))?;
                    if y.is_empty() {
                        return Ok(a.clone());
                    }
                    if x.is_empty() {
                        return Ok(b.clone());
                    }
                    // Chained slices have a trusted length: one allocation, no copy.
                    Ok(Value::list_chain(x, y))
                }
                (Value::List(_), other) => {
                    Err(EvalError::type_error("a list", other, Some(rhs.span)))
                }
                (other, _) => Err(EvalError::type_error("a list", other, Some(lhs.span))),
            },
            BinaryOp::Add => self.add(a, b, span),
            BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => arithmetic(op, a, b, span),
            _ => unreachable!("boolean operators are handled above"),
        }
    }

    /// `==`, `!=`, `<`, `>=`, `>`, `<=`; an error inside (a cyclic value) is placed at the
    /// operator. Kept out of `binary` so that its stack frame, one per level of deep Nix
    /// recursion, stays small.
    #[inline(never)]
    fn comparison(&self, op: BinaryOp, a: &Value, b: &Value, span: Span) -> Result<Value> {
        let result = match op {
            BinaryOp::Equal => self.values_equal(a, b),
            BinaryOp::NotEqual => self.values_equal(a, b).map(|eq| !eq),
            BinaryOp::Less => self.less_than(a, b, span),
            BinaryOp::MoreOrEq => self.less_than(a, b, span).map(|lt| !lt),
            BinaryOp::More => self.less_than(b, a, span),
            _ => self.less_than(b, a, span).map(|lt| !lt),
        };
        result.map(Value::Bool).map_err(|e| e.at(span))
    }

    /// `string + value`. Kept out of `add` so that its stack frame stays small.
    #[inline(never)]
    fn append_to_string(&self, x: &NixString, b: &Value, span: Span) -> Result<Value> {
        let y = self.coerce_to_string(b, CoercionMode::INTERPOLATION, span)?;
        memory::reserve(x.len().saturating_add(y.len()), Some(span))?;
        let mut context = Context::default();
        x.merge_context_into(&mut context);
        y.merge_context_into(&mut context);
        Ok(Value::String(NixString::with_context(
            [x.as_bytes(), y.as_bytes()].concat(),
            context,
        )))
    }

    pub(crate) fn add(&self, a: &Value, b: &Value, span: Span) -> Result<Value> {
        match (a, b) {
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                arithmetic(BinaryOp::Add, a, b, span)
            }
            (Value::Path(p), _) => {
                let mode = CoercionMode::KEEP_PATHS;
                let s = self.coerce_to_string(b, mode, span)?;
                if s.has_context() {
                    return Err(EvalError::other(
                        format!("a string that refers to a store path cannot be appended to a path ('{}')", s.lossy()),
                        Some(span),
                    ));
                }
                let tail = s.utf8().map_err(|e| e.at(span))?;
                Ok(Value::Path(canonical_path(&format!("{p}{tail}")).into()))
            }
            (Value::String(x), _) => self.append_to_string(x, b, span),
            (Value::Attrs(_), _) => {
                let x = self.coerce_to_string(a, CoercionMode::INTERPOLATION, span)?;
                self.add(&Value::String(x), b, span)
            }
            (Value::Int(_) | Value::Float(_), other) => Err(EvalError::other(
                format!("cannot add {} to {}", other.describe(), a.describe()),
                Some(span),
            )),
            (other, _) => Err(EvalError::new(
                EvalErrorKind::NotCoercible(other.describe()),
                Some(span),
            )),
        }
    }

    /// Nix's `==`: numbers across int/float, lists and sets deeply, derivations by `outPath`,
    /// functions never equal.
    pub fn values_equal(&self, a: &Value, b: &Value) -> Result<bool> {
        Ok(match (a, b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => {
                (*x as f64) == *y
            }
            (Value::String(x), Value::String(y)) => x.as_bytes() == y.as_bytes(),
            (Value::Path(x), Value::Path(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                if x.ptr_eq(y) {
                    return Ok(true);
                }
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (i, j) in x.iter().zip(y.iter()) {
                    if !self.thunks_equal(i, j)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Value::Attrs(x), Value::Attrs(y)) => {
                if x.ptr_eq(y) {
                    return Ok(true);
                }
                if self.is_derivation(x)? && self.is_derivation(y)? {
                    if let (Some(p), Some(q)) = (x.select("outPath"), y.select("outPath")) {
                        let (p, q) = (p.value.force(self)?, q.value.force(self)?);
                        return self.nested(None, || self.values_equal(&p, &q));
                    }
                }
                // An open set is compared with all its names (an error where they are not
                // known), never with the listed ones alone.
                let (x, y) = (
                    crate::builtins::all_attrs(x.clone())?,
                    crate::builtins::all_attrs(y.clone())?,
                );
                if x.len() != y.len() {
                    return Ok(false);
                }
                for ((k1, v1), (k2, v2)) in x.iter().zip(y.iter()) {
                    if k1 != k2 {
                        return Ok(false);
                    }
                    if !self.thunks_equal(&v1.value, &v2.value)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        })
    }

    /// `==` of two elements or attribute values: both are forced, then, as in Nix 2.8, one
    /// and the same thunk is equal to itself whatever its value (so `[ f ] == [ f ]` holds for
    /// a function `f`, which `f == f` does not).
    pub fn thunks_equal(&self, a: &Thunk, b: &Thunk) -> Result<bool> {
        let (x, y) = (a.force(self)?, b.force(self)?);
        if a.ptr_eq(b) {
            return Ok(true);
        }
        self.nested(None, || self.values_equal(&x, &y))
    }

    /// Whether a set is a derivation (`type = "derivation"`).
    pub fn is_derivation(&self, attrs: &AttrSet) -> Result<bool> {
        match attrs.select("type") {
            Some(t) => Ok(
                matches!(t.value.force(self)?, Value::String(s) if s.as_bytes() == b"derivation"),
            ),
            None => Ok(false),
        }
    }

    /// Nix's `<`: numbers, strings, paths, and lists lexicographically.
    pub fn less_than(&self, a: &Value, b: &Value, span: Span) -> Result<bool> {
        match (a, b) {
            (Value::Int(x), Value::Int(y)) => Ok(x < y),
            (Value::Float(x), Value::Float(y)) => Ok(x < y),
            (Value::Int(x), Value::Float(y)) => Ok((*x as f64) < *y),
            (Value::Float(x), Value::Int(y)) => Ok(*x < (*y as f64)),
            (Value::String(x), Value::String(y)) => Ok(x.as_bytes() < y.as_bytes()),
            (Value::Path(x), Value::Path(y)) => Ok(x < y),
            (Value::List(x), Value::List(y)) => {
                for (i, j) in x.iter().zip(y.iter()) {
                    let (vi, vj) = (i.force(self)?, j.force(self)?);
                    if !self.nested(Some(span), || self.values_equal(&vi, &vj))? {
                        return self.nested(Some(span), || self.less_than(&vi, &vj, span));
                    }
                }
                Ok(x.len() < y.len())
            }
            _ => Err(EvalError::other(
                format!("cannot compare {} with {}", a.describe(), b.describe()),
                Some(span),
            )),
        }
    }
}

fn arithmetic(op: BinaryOp, a: &Value, b: &Value, span: Span) -> Result<Value> {
    let overflow = |what| EvalError::new(EvalErrorKind::IntegerOverflow(what), Some(span));
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => match op {
            BinaryOp::Add => x
                .checked_add(*y)
                .map(Value::Int)
                .ok_or_else(|| overflow("addition")),
            BinaryOp::Sub => x
                .checked_sub(*y)
                .map(Value::Int)
                .ok_or_else(|| overflow("subtraction")),
            BinaryOp::Mul => x
                .checked_mul(*y)
                .map(Value::Int)
                .ok_or_else(|| overflow("multiplication")),
            BinaryOp::Div => {
                if *y == 0 {
                    Err(EvalError::new(EvalErrorKind::DivisionByZero, Some(span)))
                } else {
                    x.checked_div(*y)
                        .map(Value::Int)
                        .ok_or_else(|| overflow("division"))
                }
            }
            _ => unreachable!("only arithmetic operators reach here"),
        },
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let x = as_float(a);
            let y = as_float(b);
            match op {
                BinaryOp::Add => Ok(Value::Float(x + y)),
                BinaryOp::Sub => Ok(Value::Float(x - y)),
                BinaryOp::Mul => Ok(Value::Float(x * y)),
                BinaryOp::Div => {
                    if y == 0.0 {
                        Err(EvalError::new(EvalErrorKind::DivisionByZero, Some(span)))
                    } else {
                        Ok(Value::Float(x / y))
                    }
                }
                _ => unreachable!("only arithmetic operators reach here"),
            }
        }
        (Value::Int(_) | Value::Float(_), other) | (other, _) => {
            Err(EvalError::type_error("an integer", other, Some(span)))
        }
    }
}

fn as_float(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}
