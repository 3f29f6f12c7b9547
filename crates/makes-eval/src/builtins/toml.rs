//! `fromTOML`, through the `toml` crate.

use super::{arg_string, attrs_value, list_value, BuiltinDef};
use crate::thunk::Thunk;
use crate::value::{Attrs, Value};
use crate::EvalError;

pub(crate) const BUILTINS: &[BuiltinDef] = &[("fromTOML", 1, |ev, a| {
    let s = arg_string(ev, &a[0])?;
    let table: toml::Table = s.utf8()?.parse().map_err(|e: toml::de::Error| {
        // Some of the parser's errors have no short message: the first line of the long one.
        let message = match e.message() {
            "" => e.to_string().lines().next().unwrap_or_default().to_owned(),
            m => m.to_owned(),
        };
        EvalError::other(format!("while parsing a TOML string: {message}"), None)
    })?;
    from_toml(&toml::Value::Table(table))
})];

fn from_toml(v: &toml::Value) -> crate::Result<Value> {
    Ok(match v {
        toml::Value::String(s) => Value::string(s.as_str()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(_) => {
            return Err(EvalError::other(
                "while parsing a TOML string: unsupported type",
                None,
            ))
        }
        toml::Value::Array(items) => list_value(
            items
                .iter()
                .map(|i| from_toml(i).map(Thunk::value))
                .collect::<crate::Result<_>>()?,
        ),
        toml::Value::Table(t) => {
            let mut attrs = Attrs::new();
            for (k, v) in t {
                attrs.insert(
                    makes_syntax::byte_text::bytes_to_text(k.as_bytes()),
                    Thunk::value(from_toml(v)?),
                    None,
                );
            }
            attrs_value(attrs)
        }
    })
}
