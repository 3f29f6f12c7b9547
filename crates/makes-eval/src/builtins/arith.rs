//! Arithmetic and bit built-ins.

use super::{arg_int, BuiltinDef};
use crate::thunk::Thunk;
use crate::value::Value;
use crate::{EvalError, EvalErrorKind, Evaluator, Result};

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("add", 2, |ev, a| {
        numeric(ev, a, "addition", i64::checked_add, |x, y| x + y)
    }),
    ("sub", 2, |ev, a| {
        numeric(ev, a, "subtraction", i64::checked_sub, |x, y| x - y)
    }),
    ("mul", 2, |ev, a| {
        numeric(ev, a, "multiplication", i64::checked_mul, |x, y| x * y)
    }),
    ("div", 2, div),
    ("lessThan", 2, |ev, a| {
        let (x, y) = (a[0].force(ev)?, a[1].force(ev)?);
        Ok(Value::Bool(ev.less_than(&x, &y, super::no_span())?))
    }),
    ("bitAnd", 2, |ev, a| {
        Ok(Value::Int(arg_int(ev, &a[0])? & arg_int(ev, &a[1])?))
    }),
    ("bitOr", 2, |ev, a| {
        Ok(Value::Int(arg_int(ev, &a[0])? | arg_int(ev, &a[1])?))
    }),
    ("bitXor", 2, |ev, a| {
        Ok(Value::Int(arg_int(ev, &a[0])? ^ arg_int(ev, &a[1])?))
    }),
    ("ceil", 1, |ev, a| round(ev, &a[0], f64::ceil)),
    ("floor", 1, |ev, a| round(ev, &a[0], f64::floor)),
];

fn numeric(
    ev: &Evaluator,
    args: &[Thunk],
    what: &'static str,
    int_op: fn(i64, i64) -> Option<i64>,
    float_op: fn(f64, f64) -> f64,
) -> Result<Value> {
    match (args[0].force(ev)?, args[1].force(ev)?) {
        (Value::Int(x), Value::Int(y)) => int_op(x, y)
            .map(Value::Int)
            .ok_or_else(|| EvalError::new(EvalErrorKind::IntegerOverflow(what), None)),
        (x, y) => Ok(Value::Float(float_op(as_float(&x)?, as_float(&y)?))),
    }
}

fn div(ev: &Evaluator, args: &[Thunk]) -> Result<Value> {
    let (x, y) = (args[0].force(ev)?, args[1].force(ev)?);
    if matches!(y, Value::Int(0)) || matches!(y, Value::Float(f) if f == 0.0) {
        return Err(EvalError::new(EvalErrorKind::DivisionByZero, None));
    }
    match (x, y) {
        (Value::Int(x), Value::Int(y)) => x
            .checked_div(y)
            .map(Value::Int)
            .ok_or_else(|| EvalError::new(EvalErrorKind::IntegerOverflow("division"), None)),
        (x, y) => Ok(Value::Float(as_float(&x)? / as_float(&y)?)),
    }
}

fn round(ev: &Evaluator, arg: &Thunk, f: fn(f64) -> f64) -> Result<Value> {
    match arg.force(ev)? {
        Value::Int(i) => Ok(Value::Int(i)),
        Value::Float(x) => {
            let r = f(x);
            if r.is_finite() && r >= i64::MIN as f64 && r < i64::MAX as f64 {
                Ok(Value::Int(r as i64))
            } else {
                Err(EvalError::other(
                    format!("float {x} does not fit in an integer"),
                    None,
                ))
            }
        }
        other => Err(EvalError::type_error("a float", &other, None)),
    }
}

fn as_float(v: &Value) -> Result<f64> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        other => Err(EvalError::type_error("an integer", other, None)),
    }
}
