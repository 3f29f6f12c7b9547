//! The files a builder of a `__structuredAttrs` derivation reads, as Nix 2.8 writes them into
//! the build directory: `.attrs.json` (the attributes, with `outputs` mapping each output to
//! its path) and `.attrs.sh` (the same as bash declarations, for what bash can hold).

use serde_json::{Map, Value};

/// The `.attrs.json` value: the derivation's `__json` attributes with `outputs` added, keys
/// sorted at every level (Nix holds JSON objects as ordered maps).
pub(crate) fn attrs_json(
    structured: &[u8],
    outputs: impl IntoIterator<Item = (String, String)>,
) -> Result<Value, String> {
    let Value::Object(mut attrs) = serde_json::from_slice(structured)
        .map_err(|e| format!("its structured attributes are not JSON: {e}"))?
    else {
        return Err("its structured attributes are not a JSON object".to_owned());
    };
    let outputs = outputs
        .into_iter()
        .map(|(name, path)| (name, Value::String(path)))
        .collect();
    attrs.insert("outputs".to_owned(), Value::Object(outputs));
    Ok(sorted(Value::Object(attrs)))
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The `.attrs.sh` text: `declare` lines for the attributes named as shell variables whose
/// values are strings, numbers, null, Booleans, or arrays or objects of those. Like Nix, a
/// number is written only when it is whole, as a C `int` (32 bits, wrapping); a Boolean is
/// `1` or empty; a null is empty.
pub(crate) fn attrs_sh(json: &Value) -> String {
    let mut out = String::new();
    let Value::Object(attrs) = json else {
        return out;
    };
    for (key, value) in attrs {
        if !is_shell_variable_name(key) {
            continue;
        }
        if let Some(simple) = simple_value(value) {
            out.push_str(&format!("declare {key}={simple}\n"));
            continue;
        }
        match value {
            Value::Array(items) => {
                let Some(words) = items
                    .iter()
                    .map(|v| simple_value(v).map(|s| s + " "))
                    .collect::<Option<String>>()
                else {
                    continue;
                };
                out.push_str(&format!("declare -a {key}=({words})\n"));
            }
            Value::Object(entries) => {
                let Some(pairs) = entries
                    .iter()
                    .map(|(k, v)| simple_value(v).map(|s| format!("[{}]={s} ", shell_escape(k))))
                    .collect::<Option<String>>()
                else {
                    continue;
                };
                out.push_str(&format!("declare -A {key}=({pairs})\n"));
            }
            _ => {}
        }
    }
    out
}

fn is_shell_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn simple_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(shell_escape(s)),
        Value::Number(n) => {
            // Nix reads the number as a `float` and, when that is whole, as an `int`.
            let as_float = n.as_f64()? as f32;
            if as_float.ceil() != as_float {
                return None;
            }
            let as_int = match (n.as_i64(), n.as_u64()) {
                // C++'s conversion to `int` keeps the low 32 bits.
                (Some(i), _) => i as i32,
                (None, Some(u)) => u as i32,
                // A whole float: truncated (saturating where C++ leaves it undefined).
                (None, None) => n.as_f64()? as i32,
            };
            Some(as_int.to_string())
        }
        Value::Null => Some("''".to_owned()),
        Value::Bool(b) => Some(if *b { "1" } else { "" }.to_owned()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// `s` in single quotes, each `'` written `'\''`.
fn shell_escape(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_added_and_keys_sorted_at_every_level() {
        let json = attrs_json(
            br#"{"z":{"b":1,"a":2},"name":"x"}"#,
            [("out".to_owned(), "/nix/store/o".to_owned())],
        )
        .expect("valid");
        assert_eq!(
            json.to_string(),
            r#"{"name":"x","outputs":{"out":"/nix/store/o"},"z":{"a":2,"b":1}}"#
        );
    }

    #[test]
    fn shell_declarations_follow_nix() {
        let json: Value = serde_json::from_str(
            r#"{"_u":"it's","big":12345678901,"f":2.5,"w":3.0,"t":true,"n":false,"z":null,
               "l":["a",1,true],"deep":[[1]],"o":{"y z":2},"not-var":"x","1a":"x","oo":{"a":{}}}"#,
        )
        .expect("json");
        assert_eq!(
            attrs_sh(&json),
            "declare _u='it'\\''s'\ndeclare big=-539222987\ndeclare w=3\ndeclare t=1\n\
             declare n=\ndeclare z=''\ndeclare -a l=('a' 1 1 )\ndeclare -A o=(['y z']=2 )\n"
        );
    }

    #[test]
    fn structured_attributes_that_are_not_an_object_are_refused() {
        assert!(attrs_json(b"[1]", []).is_err());
        assert!(attrs_json(b"{", []).is_err());
    }
}
