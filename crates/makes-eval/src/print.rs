//! Printing values as `nix-instantiate --eval` prints them.

use crate::value::Value;
use crate::{Evaluator, Result};
use makes_syntax::byte_text::text_to_bytes;
use std::collections::HashSet;
use std::io::Write;
use std::rc::Rc;

/// Renders `value` as Nix does; with `strict`, everything inside is forced first (the caller
/// forces with `force_deep`), otherwise unevaluated parts print as `<CODE>`. Bytes, since
/// strings print as their exact bytes (as nix-instantiate prints them).
pub fn print_value(ev: &Evaluator, value: &Value, strict: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut active = HashSet::new();
    print_into(ev, value, strict, &mut out, &mut active)?;
    Ok(out)
}

fn print_into(
    ev: &Evaluator,
    value: &Value,
    strict: bool,
    out: &mut Vec<u8>,
    active: &mut HashSet<usize>,
) -> Result<()> {
    crate::memory::reserve_growth(out, None)?;
    match value {
        Value::Null => put(out, "null"),
        Value::Bool(b) => put(out, if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => put(out, &format_float(*f)),
        Value::String(s) => out.extend_from_slice(&quote_bytes(s.as_bytes())),
        Value::Path(p) => put(out, p),
        Value::Lambda(_) => put(out, "<LAMBDA>"),
        Value::PrimOp(_) => put(out, "<PRIMOP>"),
        Value::PrimOpApp(_) => put(out, "<PRIMOP-APP>"),
        Value::Attrs(attrs) => {
            // As Nix 2.8: a set or list printed once before is «repeated», empty ones aside.
            let key = Rc::as_ptr(attrs) as usize;
            if !attrs.is_empty() && !active.insert(key) {
                put(out, "«repeated»");
                return Ok(());
            }
            out.push(b'{');
            out.push(b' ');
            for (name, attr) in attrs.iter() {
                match text_to_bytes(name) {
                    // A name of bytes that are not UTF-8 (see `NixString::to_name`).
                    std::borrow::Cow::Owned(bytes) => out.extend_from_slice(&quote_bytes(&bytes)),
                    std::borrow::Cow::Borrowed(_) => put(out, &quote_attr(name)),
                }
                put(out, " = ");
                let v = if strict {
                    Some(attr.value.force(ev)?)
                } else {
                    attr.value.peek()
                };
                match v {
                    Some(v) => ev.nested(None, || print_into(ev, &v, strict, out, active))?,
                    None => put(out, "<CODE>"),
                }
                put(out, "; ");
            }
            out.push(b'}');
        }
        Value::List(items) => {
            let key = Rc::as_ptr(items) as usize;
            if !items.is_empty() && !active.insert(key) {
                put(out, "«repeated»");
                return Ok(());
            }
            out.push(b'[');
            out.push(b' ');
            for item in items.iter() {
                let v = if strict {
                    Some(item.force(ev)?)
                } else {
                    item.peek()
                };
                match v {
                    Some(v) => ev.nested(None, || print_into(ev, &v, strict, out, active))?,
                    None => put(out, "<CODE>"),
                }
                out.push(b' ');
            }
            out.push(b']');
        }
    }
    Ok(())
}

fn put(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
}

/// Floats as C++ streams print them by default (`%g` with 6 significant digits).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let exp = f.abs().log10().floor() as i32;
    // %g: scientific when the exponent is < -4 or >= the precision (6).
    let rounded_exp = {
        let s = format!("{:.5e}", f);
        s.split('e')
            .nth(1)
            .and_then(|e| e.parse::<i32>().ok())
            .unwrap_or(exp)
    };
    if !(-4..6).contains(&rounded_exp) {
        let s = format!("{:.5e}", f);
        let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = trim_zeros(mantissa);
        let e: i32 = e.parse().unwrap_or(0);
        format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let decimals = (5 - rounded_exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, f)).to_owned()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A string literal with Nix's escapes, over bytes: invalid UTF-8 passes through unchanged.
pub fn quote_bytes(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'"');
    let mut bytes = s.iter().peekable();
    while let Some(&b) = bytes.next() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'$' if bytes.peek() == Some(&&b'{') => out.extend_from_slice(b"\\$"),
            b => out.push(b),
        }
    }
    out.push(b'"');
    out
}

/// A string literal with Nix's escapes.
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An attribute name, quoted unless it is a plain identifier.
pub fn quote_attr(name: &str) -> String {
    let mut chars = name.chars();
    let plain = match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || "_'-".contains(c))
        }
        _ => false,
    };
    let keyword = matches!(
        name,
        "if" | "then" | "else" | "assert" | "with" | "let" | "in" | "rec" | "inherit"
    );
    if plain && !keyword {
        name.to_owned()
    } else {
        quote_string(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_quoted_as_nix_prints_them() {
        let quoted = quote_bytes(b"a\"\\\n\xe9${x}$y");
        assert_eq!(
            quoted,
            b"\"a\\\"\\\\\\n\xe9\\${x}$y\"",
            "{}",
            quoted.escape_ascii()
        );
    }

    #[test]
    fn floats_like_cpp() {
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(1e20), "1e+20");
        assert_eq!(format_float(123456.7), "123457");
        assert_eq!(format_float(1234567.0), "1.23457e+06");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(format_float(1.0 / 3.0), "0.333333");
    }
}
