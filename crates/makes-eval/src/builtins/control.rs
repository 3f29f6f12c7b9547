//! Control, type-test and import built-ins.

use super::{arg_string, attrs_value, no_span, BuiltinDef};
use crate::eval::CoercionMode;
use crate::thunk::Thunk;
use crate::value::{Attrs, Value};
use crate::{EvalError, EvalErrorKind, Evaluator, Result};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("throw", 1, |ev, a| {
        let msg = message(ev, &a[0])?;
        Err(EvalError::new(EvalErrorKind::Throw(msg), None))
    }),
    ("abort", 1, |ev, a| {
        let msg = message(ev, &a[0])?;
        Err(EvalError::new(EvalErrorKind::Abort(msg), None))
    }),
    ("seq", 2, |ev, a| {
        a[0].force(ev)?;
        a[1].force(ev)
    }),
    ("deepSeq", 2, |ev, a| {
        ev.force_deep(&a[0].force(ev)?)?;
        a[1].force(ev)
    }),
    ("tryEval", 1, |ev, a| {
        let (success, value) = match a[0].force(ev) {
            Ok(v) => (true, v),
            Err(e) if e.catchable => (false, Value::Bool(false)),
            Err(e) => return Err(e),
        };
        let mut out = Attrs::new();
        out.insert("success", Thunk::value(Value::Bool(success)), None);
        out.insert("value", Thunk::value(value), None);
        Ok(attrs_value(out))
    }),
    ("trace", 2, |ev, a| {
        let mut line = b"trace: ".to_vec();
        line.extend(crate::print::print_traced(ev, &a[0])?);
        line.push(b'\n');
        let line = crate::terminal_text::filter_escapes(
            &line,
            crate::terminal_text::stderr_takes_colour(),
        );
        // Bytes, as Nix writes them; a closed stderr is no reason to stop evaluating.
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), &line);
        a[1].force(ev)
    }),
    ("warn", 2, warn),
    // A newer Nix's: `trace` only with its `trace-verbose` setting, which makes does not
    // have, so the message is never printed (nor forced), as Nix by default.
    ("traceVerbose", 2, |ev, a| a[1].force(ev)),
    // A newer Nix's: the debugger's breakpoint; without a debugger, its argument.
    ("break", 1, |ev, a| a[0].force(ev)),
    ("addErrorContext", 2, |ev, a| {
        // As Nix 2.8: the message is only evaluated when the value fails (module systems
        // wrap every definition in one, so an eager message costs on every success).
        a[1].force(ev)
            .or_else(|e| Err(e.note(None, message(ev, &a[0])?)))
    }),
    ("import", 1, |ev, a| {
        let v = a[0].force(ev)?;
        ev.import_value(&v, no_span())
    }),
    ("scopedImport", 2, |ev, a| {
        let scope = super::arg_attrs(ev, &a[0])?;
        let v = a[1].force(ev)?;
        ev.scoped_import(&scope, &v, no_span())
    }),
    ("getEnv", 1, |ev, a| {
        let name = arg_string(ev, &a[0])?;
        // Environment names and values are bytes on Linux, as Nix strings are.
        let name = name.as_bytes();
        if name.is_empty() || name.contains(&b'=') || name.contains(&0) {
            return Ok(Value::string(""));
        }
        let value = std::env::var_os(std::ffi::OsStr::from_bytes(name)).unwrap_or_default();
        Ok(Value::string(value.into_vec()))
    }),
    ("typeOf", 1, |ev, a| {
        Ok(Value::string(a[0].force(ev)?.type_name()))
    }),
    ("isNull", 1, |ev, a| {
        Ok(Value::Bool(matches!(a[0].force(ev)?, Value::Null)))
    }),
    ("isAttrs", 1, |ev, a| {
        Ok(Value::Bool(matches!(a[0].force(ev)?, Value::Attrs(_))))
    }),
    ("isList", 1, |ev, a| {
        Ok(Value::Bool(matches!(a[0].force(ev)?, Value::List(_))))
    }),
    ("isString", 1, |ev, a| {
        Ok(Value::Bool(matches!(a[0].force(ev)?, Value::String(_))))
    }),
    ("isInt", 1, |ev, a| {
        Ok(Value::Bool(matches!(a[0].force(ev)?, Value::Int(_))))
    }),
    ("isFloat", 1, |ev, a| {
        Ok(Value::Bool(matches!(a[0].force(ev)?, Value::Float(_))))
    }),
    ("isBool", 1, |ev, a| {
        Ok(Value::Bool(matches!(a[0].force(ev)?, Value::Bool(_))))
    }),
    ("isPath", 1, |ev, a| {
        Ok(Value::Bool(matches!(a[0].force(ev)?, Value::Path(_))))
    }),
    ("isFunction", 1, |ev, a| {
        Ok(Value::Bool(a[0].force(ev)?.is_function()))
    }),
];

/// `builtins.warn` (Nix 2.23): the message, which must be a string, on stderr as Nix prints a
/// warning from an expression (`evaluation warning: `, later lines lined up under the first);
/// with `abort-on-warn`, the evaluation then fails, as Nix's does (not catchable).
fn warn(ev: &Evaluator, a: &[Thunk]) -> Result<Value> {
    const PREFIX: &str = "evaluation warning: ";
    let text = arg_string(ev, &a[0])?;
    let colour = crate::terminal_text::stderr_takes_colour();
    let mut line = if colour {
        b"\x1b[35;1mevaluation warning:\x1b[0m ".to_vec()
    } else {
        PREFIX.as_bytes().to_vec()
    };
    let message = text.as_bytes();
    // A message starting with a newline is not lined up, as in Nix.
    let indent = !message.starts_with(b"\n");
    for (i, part) in message.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            line.push(b'\n');
            if indent && !part.is_empty() {
                line.extend(std::iter::repeat_n(b' ', PREFIX.len()));
            }
        }
        line.extend_from_slice(part);
    }
    line.push(b'\n');
    let line = crate::terminal_text::filter_escapes(&line, colour);
    // A closed stderr is no reason to stop evaluating.
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), &line);
    if ev.options.abort_on_warn {
        return Err(EvalError::other(
            "aborting to reveal stack trace of warning, as abort-on-warn is set",
            None,
        ));
    }
    a[1].force(ev)
}

fn message(ev: &Evaluator, t: &Thunk) -> Result<String> {
    let v = t.force(ev)?;
    Ok(ev
        .coerce_to_string(&v, CoercionMode::INTERPOLATION, no_span())?
        .lossy()
        .into_owned())
}
