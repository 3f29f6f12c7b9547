//! `toJSON` and `fromJSON`.

use super::{arg_string, attrs_value, list_value, no_span, BuiltinDef};
use crate::eval::CoercionMode;
use crate::thunk::Thunk;
use crate::value::{Attrs, Context, NixString, Value};
use crate::{EvalError, Evaluator, Result};
use makes_syntax::byte_text::{bytes_to_text, text_to_bytes};

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("toJSON", 1, |ev, a| {
        let v = a[0].force(ev)?;
        let mut context = Context::default();
        let json = json_of(ev, &v, &mut context, Strings::Bytes)?.to_string();
        Ok(Value::String(NixString::with_context(
            text_to_bytes(&json).into_owned(),
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
/// JSON is text: a string of invalid UTF-8 is an error here. `builtins.toJSON` itself writes
/// such bytes through unchanged, as Nix 2.8 does (giving invalid JSON).
pub fn to_json(ev: &Evaluator, v: &Value, context: &mut Context) -> Result<serde_json::Value> {
    json_of(ev, v, context, Strings::Text)
}

/// What strings of invalid UTF-8 become in JSON.
#[derive(Clone, Copy)]
enum Strings {
    /// An error: the JSON must be text.
    Text,
    /// Text standing for the bytes ([`bytes_to_text`]), made bytes again by the caller.
    Bytes,
}

impl Strings {
    fn json(self, s: &NixString) -> Result<serde_json::Value> {
        Ok(serde_json::Value::String(match self {
            Strings::Text => s.utf8()?.to_owned(),
            Strings::Bytes => bytes_to_text(s.as_bytes()).into_owned(),
        }))
    }
}

fn json_of(
    ev: &Evaluator,
    v: &Value,
    context: &mut Context,
    strings: Strings,
) -> Result<serde_json::Value> {
    Ok(match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => {
            s.merge_context_into(context);
            strings.json(s)?
        }
        Value::Path(_) => {
            let s = ev.coerce_to_string(v, CoercionMode::INTERPOLATION, no_span())?;
            s.merge_context_into(context);
            strings.json(&s)?
        }
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                let item = item.force(ev)?;
                out.push(ev.nested(None, || json_of(ev, &item, context, strings))?);
            }
            serde_json::Value::Array(out)
        }
        Value::Attrs(attrs) => {
            if attrs.contains("__toString") || attrs.contains("outPath") {
                let s = ev.coerce_to_string(v, CoercionMode::INTERPOLATION, no_span())?;
                s.merge_context_into(context);
                return strings.json(&s);
            }
            let mut map = serde_json::Map::new();
            for (name, attr) in attrs.iter() {
                let value = attr.value.force(ev)?;
                let json = ev.nested(attr.span, || json_of(ev, &value, context, strings))?;
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
                attrs.insert(
                    bytes_to_text(k.as_bytes()),
                    Thunk::value(from_json(v)),
                    None,
                );
            }
            attrs_value(attrs)
        }
    }
}
