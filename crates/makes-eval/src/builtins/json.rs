//! `toJSON` and `fromJSON`.

use super::{arg_string, attrs_value, list_value, no_span, BuiltinDef};
use crate::eval::CoercionMode;
use crate::thunk::Thunk;
use crate::value::{Attrs, Context, NixString, Value};
use crate::{EvalError, Evaluator, Result};

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("toJSON", 1, |ev, a| {
        let v = a[0].force(ev)?;
        let mut context = Context::default();
        let json = to_json(ev, &v, &mut context)?;
        Ok(Value::String(NixString::with_context(
            json.to_string(),
            context,
        )))
    }),
    ("fromJSON", 1, |ev, a| {
        let s = arg_string(ev, &a[0])?;
        let json: serde_json::Value = serde_json::from_str(s.utf8()?)
            .map_err(|e| EvalError::other(format!("while parsing JSON: {e}"), None))?;
        Ok(from_json(&json))
    }),
];

/// A value as JSON, as `builtins.toJSON` renders it (derivations and paths as store paths).
/// JSON is text: a string of invalid UTF-8 is an error here (Nix 2.8 writes its bytes
/// through unchanged, giving invalid JSON).
pub fn to_json(ev: &Evaluator, v: &Value, context: &mut Context) -> Result<serde_json::Value> {
    Ok(match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => {
            s.merge_context_into(context);
            serde_json::Value::String(s.utf8()?.to_owned())
        }
        Value::Path(_) => {
            let s = ev.coerce_to_string(v, CoercionMode::INTERPOLATION, no_span())?;
            s.merge_context_into(context);
            serde_json::Value::String(s.utf8()?.to_owned())
        }
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                let item = item.force(ev)?;
                out.push(ev.nested(None, || to_json(ev, &item, context))?);
            }
            serde_json::Value::Array(out)
        }
        Value::Attrs(attrs) => {
            if attrs.contains("__toString") || attrs.contains("outPath") {
                let s = ev.coerce_to_string(v, CoercionMode::INTERPOLATION, no_span())?;
                s.merge_context_into(context);
                return Ok(serde_json::Value::String(s.utf8()?.to_owned()));
            }
            let mut map = serde_json::Map::new();
            for (name, attr) in attrs.iter() {
                let value = attr.value.force(ev)?;
                let json = ev.nested(attr.span, || to_json(ev, &value, context))?;
                map.insert(name.to_string(), json);
            }
            serde_json::Value::Object(map)
        }
        other => {
            return Err(EvalError::other(
                format!("cannot convert {} to JSON", other.describe()),
                None,
            ))
        }
    })
}

pub fn from_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::string(s.as_str()),
        serde_json::Value::Array(items) => {
            list_value(items.iter().map(|i| Thunk::value(from_json(i))).collect())
        }
        serde_json::Value::Object(map) => {
            let mut attrs = Attrs::new();
            for (k, v) in map {
                attrs.insert(k.as_str(), Thunk::value(from_json(v)), None);
            }
            attrs_value(attrs)
        }
    }
}
