//! Printing values as `nix-instantiate --eval` prints them.

use crate::value::{List, Value};
use crate::{Evaluator, Result, Thunk};
use makes_syntax::byte_text::text_to_bytes;
use std::collections::HashSet;
use std::io::Write;

/// Renders `value` as Nix does; with `strict`, everything inside is forced first (the caller
/// forces with `force_deep`), otherwise unevaluated parts print as `<CODE>`. Bytes, since
/// strings print as their exact bytes (as nix-instantiate prints them). nix-instantiate prints
/// a copy of the value: it is held by no thunk (see `list_identity`).
pub fn print_value(ev: &Evaluator, value: &Value, strict: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    print_into(ev, value, None, strict, &mut out, &mut HashSet::new())?;
    Ok(out)
}

/// What `builtins.trace` prints after `trace: `: a string as its bytes, anything else as
/// Nix 2.8 prints a value without forcing it (`<CODE>` for what is not evaluated yet).
pub fn print_traced(ev: &Evaluator, value: &Thunk) -> Result<Vec<u8>> {
    let forced = value.force(ev)?;
    if let Value::String(s) = &forced {
        return Ok(s.as_bytes().to_vec());
    }
    let mut out = Vec::new();
    print_into(
        ev,
        &forced,
        Some(value),
        false,
        &mut out,
        &mut HashSet::new(),
    )?;
    Ok(out)
}

/// What makes a list "printed before" («repeated»), as Nix 2.8 has it: the address of its
/// elements. Nix keeps the elements of a list of one or two inside the value itself, so such a
/// list is the thunk holding it (a copy is another list: `let x = [ x ]; in x` prints
/// `[ [ «repeated» ] ]`), and a longer one its shared elements.
fn list_identity(items: &List, holder: Option<&Thunk>) -> Option<usize> {
    match items.len() {
        0 => None,
        1 | 2 => holder.map(Thunk::addr),
        _ => Some(items.addr()),
    }
}

fn print_into(
    ev: &Evaluator,
    value: &Value,
    holder: Option<&Thunk>,
    strict: bool,
    out: &mut Vec<u8>,
    seen: &mut HashSet<usize>,
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
            let key = attrs.addr();
            if !attrs.is_empty() && !seen.insert(key) {
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
                print_held(ev, &attr.value, strict, out, seen)?;
                put(out, "; ");
            }
            out.push(b'}');
        }
        Value::List(items) => {
            if let Some(key) = list_identity(items, holder) {
                if !seen.insert(key) {
                    put(out, "«repeated»");
                    return Ok(());
                }
            }
            out.push(b'[');
            out.push(b' ');
            for item in items.iter() {
                print_held(ev, item, strict, out, seen)?;
                out.push(b' ');
            }
            out.push(b']');
        }
    }
    Ok(())
}

/// An element or attribute value: forced when `strict`, else `<CODE>` while unevaluated.
fn print_held(
    ev: &Evaluator,
    thunk: &Thunk,
    strict: bool,
    out: &mut Vec<u8>,
    seen: &mut HashSet<usize>,
) -> Result<()> {
    let v = if strict {
        Some(thunk.force(ev)?)
    } else {
        thunk.peek()
    };
    match v {
        Some(v) => ev.nested(None, || print_into(ev, &v, Some(thunk), strict, out, seen)),
        None => {
            put(out, "<CODE>");
            Ok(())
        }
    }
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

/// An attribute name as Nix 2.8 prints it: quoted unless it is a plain identifier.
pub fn quote_attr(name: &str) -> String {
    let mut chars = name.chars();
    let plain = match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || "_'-".contains(c))
        }
        _ => false,
    };
    // Nix 2.8 quotes this one keyword only (`{ rec = 1; }` prints as it is).
    let keyword = name == "if";
    if plain && !keyword {
        name.to_owned()
    } else {
        quote_string(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DiskIo, EvalOptions};
    use std::rc::Rc;

    fn traced(expr: &str) -> String {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let v = ev
            .eval_source("test", expr, std::path::Path::new("/"))
            .expect("evaluates");
        let out = print_traced(&ev, &Thunk::value(v)).expect("prints");
        String::from_utf8(out).expect("text")
    }

    #[test]
    fn trace_prints_as_nix_2_8() {
        // Strings as they are, other values unforced where not evaluated yet.
        assert_eq!(traced("\"a\\nb\""), "a\nb");
        assert_eq!(traced("[ (1 + 1) ]"), "[ <CODE> ]");
        assert_eq!(
            traced("{ a = 1; b = x: x; c = [ 1 ]; d = null; }"),
            "{ a = 1; b = <CODE>; c = <CODE>; d = null; }"
        );
        // The traced value is the thunk itself, not a copy: no extra level.
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let v = ev
            .eval_source("test", "let x = [ x ]; in x", std::path::Path::new("/"))
            .expect("evaluates");
        let Value::List(items) = &v else {
            panic!("a list")
        };
        let out = print_traced(&ev, &items[0]).expect("prints");
        assert_eq!(out, "[ «repeated» ]".as_bytes());
    }

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
