//! `toJSON` and `fromJSON`.

use super::{arg_string, attrs_value, list_value, no_span, BuiltinDef};
use crate::eval::CoercionMode;
use crate::thunk::Thunk;
use crate::value::{Attrs, Context, NixString, Value};
use crate::{memory, EvalError, Evaluator, Result};
use makes_syntax::byte_text::{bytes_to_text, text_to_bytes};
use std::io::Write;

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("toJSON", 1, |ev, a| {
        let v = a[0].force(ev)?;
        let mut context = Context::default();
        let out = to_json_text(ev, &v, &mut context)?;
        Ok(Value::String(NixString::with_context(out, context)))
    }),
    ("fromJSON", 1, |ev, a| {
        let s = arg_string(ev, &a[0])?;
        let json: serde_json::Value = serde_json::from_str(s.utf8()?)
            .map_err(|e| EvalError::other(parse_error_message(&e), None))?;
        Ok(from_json(&json))
    }),
];

/// A JSON parse error worded after Nix 2.8's (nlohmann::json's): its exception id and place
/// first, so that what matches Nix's text (`json.exception.parse_error`) matches this one,
/// then serde_json's own description of the problem.
fn parse_error_message(e: &serde_json::Error) -> String {
    let what = e.to_string();
    // serde_json ends its description with " at line L column C"; the place is said first.
    let description = what
        .rsplit_once(" at line ")
        .map_or(what.as_str(), |(text, _)| text);
    if description == "number out of range" {
        return format!("[json.exception.out_of_range.406] number overflow parsing: {what}");
    }
    format!(
        "[json.exception.parse_error.101] parse error at line {}, column {}: syntax error - {description}",
        e.line(),
        e.column()
    )
}

/// A value as JSON text, as `builtins.toJSON` writes it (derivations and paths as store paths,
/// floats and escapes as Nix 2.8 writes them): also what `--json` prints and what a
/// `__structuredAttrs` derivation's `__json` holds, which Nix 2.8 writes with the same printer.
pub fn to_json_text(ev: &Evaluator, v: &Value, context: &mut Context) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_json(ev, v, context, &mut out)?;
    Ok(out)
}

/// A value as a JSON tree, for code that reads it (derivations and paths as store paths).
/// JSON is text: a string of invalid UTF-8 is an error here. Where the text must be Nix's,
/// `to_json_text` writes it (floats and escapes as Nix 2.8; such bytes through unchanged).
pub fn to_json(ev: &Evaluator, v: &Value, context: &mut Context) -> Result<serde_json::Value> {
    json_of(ev, v, context)
}

fn json_of(ev: &Evaluator, v: &Value, context: &mut Context) -> Result<serde_json::Value> {
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
                out.push(ev.nested(None, || json_of(ev, &item, context))?);
            }
            serde_json::Value::Array(out)
        }
        Value::Attrs(attrs) => {
            if attrs.contains("__toString") || attrs.contains("outPath") {
                let s = ev.coerce_to_string(v, CoercionMode::INTERPOLATION, no_span())?;
                s.merge_context_into(context);
                return Ok(serde_json::Value::String(s.utf8()?.to_owned()));
            }
            let attrs = super::all_attrs(attrs.clone())?;
            let mut map = serde_json::Map::new();
            for (name, attr) in attrs.iter() {
                let value = attr.value.force(ev)?;
                let json = ev.nested(attr.span, || json_of(ev, &value, context))?;
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

/// Writes `v` as `builtins.toJSON` renders it straight into `out`, without a JSON tree:
/// strings are written as their bytes (invalid UTF-8 passes through, as in Nix 2.8), escaped
/// as Nix 2.8 escapes them; floats as Nix 2.8 prints them (six significant digits).
fn write_json(ev: &Evaluator, v: &Value, context: &mut Context, out: &mut Vec<u8>) -> Result<()> {
    memory::reserve_growth(out, None)?;
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => {
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{i}");
        }
        // As Nix 2.8 writes them: C++'s default stream format (`%g`), `nan` and `inf` too.
        Value::Float(f) => out.extend_from_slice(crate::print::format_float(*f).as_bytes()),
        Value::String(s) => {
            s.merge_context_into(context);
            write_json_string(s.as_bytes(), out);
        }
        Value::Path(_) => {
            let s = ev.coerce_to_string(v, CoercionMode::INTERPOLATION, no_span())?;
            s.merge_context_into(context);
            write_json_string(s.as_bytes(), out);
        }
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let item = item.force(ev)?;
                ev.nested(None, || write_json(ev, &item, context, out))?;
            }
            out.push(b']');
        }
        Value::Attrs(attrs) => {
            if attrs.contains("__toString") || attrs.contains("outPath") {
                let s = ev.coerce_to_string(v, CoercionMode::INTERPOLATION, no_span())?;
                s.merge_context_into(context);
                write_json_string(s.as_bytes(), out);
                return Ok(());
            }
            let attrs = super::all_attrs(attrs.clone())?;
            out.push(b'{');
            for (i, (name, attr)) in attrs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(&text_to_bytes(name), out);
                out.push(b':');
                let value = attr.value.force(ev)?;
                ev.nested(attr.span, || write_json(ev, &value, context, out))?;
            }
            out.push(b'}');
        }
        other => {
            return Err(EvalError::other(
                format!("cannot convert {} to JSON", other.describe()),
                None,
            ))
        }
    }
    Ok(())
}

/// `bytes` as a JSON string as Nix 2.8 writes it: `"` and `\\` escaped, `\n`, `\r` and `\t` as
/// such, other control characters as `\u00XX` (backspace and form feed too), every other
/// byte as it is.
fn write_json_string(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut plain_from = 0;
    let mut unicode = *b"\\u0000";
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => {
                unicode[4] = HEX[usize::from(b >> 4)];
                unicode[5] = HEX[usize::from(b & 0xf)];
                &unicode
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain_from..i]);
        out.extend_from_slice(escape);
        plain_from = i + 1;
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
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

#[cfg(test)]
mod tests {
    use super::write_json;
    use crate::value::Context;
    use crate::{DiskIo, EvalOptions, Evaluator};
    use std::path::Path;
    use std::rc::Rc;

    #[test]
    fn strings_numbers_and_sets_are_written_as_nix_writes_them() {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let v = ev
            .eval_source(
                "test",
                r#"{
                 s = "q\" b\\ n\n r\r t\t é ${builtins.fromJSON ''"\u0001\u001f\u0008\u000c\u007f"''}";
                 n = [ null true false 0 (-12) 9223372036854775807 ];
                 nested = { b = [ [ ] { } ]; a."key \"q\"\n" = 1; };
                 drv = { outPath = "/nix/store/x"; ignored = 1; };
               }"#,
                Path::new("/"),
            )
            .expect("evaluates");
        let mut out = Vec::new();
        write_json(&ev, &v, &mut Context::default(), &mut out).expect("writes");
        // What nix-instantiate 2.8 prints for `builtins.toJSON` of that set.
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "{\"drv\":\"/nix/store/x\",\"n\":[null,true,false,0,-12,9223372036854775807],\
             \"nested\":{\"a\":{\"key \\\"q\\\"\\n\":1},\"b\":[[],{}]},\
             \"s\":\"q\\\" b\\\\ n\\n r\\r t\\t é \\u0001\\u001f\\u0008\\u000c\u{7f}\"}"
        );
    }

    #[test]
    fn floats_are_written_as_nix_writes_them() {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let v = ev
            .eval_source(
                "test",
                "[ (1 / 3.0) 0.5 1.0 100.0 1.0e20 1.5e-7 123456789.123 (-2.5) ]",
                Path::new("/"),
            )
            .expect("evaluates");
        let mut out = Vec::new();
        write_json(&ev, &v, &mut Context::default(), &mut out).expect("writes");
        // What nix-instantiate 2.8 prints for `builtins.toJSON` of that list.
        assert_eq!(
            String::from_utf8_lossy(&out),
            "[0.333333,0.5,1,100,1e+20,1.5e-07,1.23457e+08,-2.5]"
        );
    }

    #[test]
    fn parse_errors_name_the_exception_nix_names() {
        let message = |text: &str| {
            let e = serde_json::from_str::<serde_json::Value>(text).expect_err("invalid");
            super::parse_error_message(&e)
        };
        assert!(
            message("[1,]")
                .starts_with("[json.exception.parse_error.101] parse error at line 1, column 4: "),
            "{}",
            message("[1,]")
        );
        assert!(message("1e400").starts_with("[json.exception.out_of_range.406] number overflow"));
    }

    #[test]
    fn streamed_json_keeps_bytes_that_are_not_utf8() {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let mut out = Vec::new();
        let v = crate::Value::string(&b"a\xff\"\x01"[..]);
        write_json(&ev, &v, &mut Context::default(), &mut out).expect("writes");
        assert_eq!(out, b"\"a\xff\\\"\\u0001\"");
    }
}
