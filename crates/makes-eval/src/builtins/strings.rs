//! String built-ins. Results keep the contexts of the strings they are made of, as in Nix.

use super::{arg_int, arg_list, arg_string, no_span, BuiltinDef};
use crate::eval::CoercionMode;
use crate::thunk::Thunk;
use crate::value::{Context, NixString, Value};
use crate::{EvalError, Evaluator, Result};
use sha2::Digest;

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("toString", 1, |ev, a| {
        let v = a[0].force(ev)?;
        Ok(Value::String(ev.coerce_to_string(
            &v,
            CoercionMode::BUILTIN_TO_STRING,
            no_span(),
        )?))
    }),
    ("stringLength", 1, |ev, a| {
        let v = a[0].force(ev)?;
        let s = ev.coerce_to_string(&v, CoercionMode::INTERPOLATION, no_span())?;
        Ok(Value::Int(s.len() as i64))
    }),
    ("substring", 3, |ev, a| {
        let start = arg_int(ev, &a[0])?;
        let len = arg_int(ev, &a[1])?;
        let v = a[2].force(ev)?;
        let s = ev.coerce_to_string(&v, CoercionMode::INTERPOLATION, no_span())?;
        if start < 0 {
            return Err(EvalError::other(
                "negative start position in 'substring'",
                None,
            ));
        }
        let bytes = s.as_bytes();
        let from = (start as usize).min(bytes.len());
        let to = if len < 0 {
            bytes.len()
        } else {
            from.saturating_add(len as usize).min(bytes.len())
        };
        Ok(Value::String(keep_context(&bytes[from..to], &[&s])))
    }),
    ("concatStringsSep", 2, |ev, a| {
        let sep = arg_string(ev, &a[0])?;
        let mut text = Vec::new();
        let mut context = Context::default();
        sep.merge_context_into(&mut context);
        for (i, item) in arg_list(ev, &a[1])?.iter().enumerate() {
            if i > 0 {
                text.extend_from_slice(sep.as_bytes());
            }
            let v = item.force(ev)?;
            let s = ev.coerce_to_string(&v, CoercionMode::INTERPOLATION, no_span())?;
            crate::memory::reserve(s.len() + sep.len(), None)?;
            text.extend_from_slice(s.as_bytes());
            s.merge_context_into(&mut context);
        }
        Ok(Value::String(NixString::with_context(text, context)))
    }),
    ("replaceStrings", 3, replace_strings),
    ("baseNameOf", 1, |ev, a| {
        let v = a[0].force(ev)?;
        let s = ev.coerce_to_string(&v, CoercionMode::KEEP_PATHS, no_span())?;
        let text = s.as_bytes();
        let trimmed = text.strip_suffix(b"/").unwrap_or(text);
        let base = trimmed.rsplit(|&b| b == b'/').next().unwrap_or(trimmed);
        Ok(Value::String(keep_context(base, &[&s])))
    }),
    ("dirOf", 1, |ev, a| {
        let v = a[0].force(ev)?;
        let s = ev.coerce_to_string(&v, CoercionMode::KEEP_PATHS, no_span())?;
        let text = s.as_bytes();
        let dir = match text.iter().rposition(|&b| b == b'/') {
            Some(0) => &b"/"[..],
            Some(i) => &text[..i],
            None => &b"."[..],
        };
        match v {
            // A path's text is UTF-8, and cutting it at a '/' keeps it so.
            Value::Path(_) => Ok(Value::Path(String::from_utf8_lossy(dir).into())),
            _ => Ok(Value::String(keep_context(dir, &[&s]))),
        }
    }),
    ("hashString", 2, |ev, a| {
        let algo = arg_string(ev, &a[0])?;
        let s = arg_string(ev, &a[1])?;
        Ok(Value::string(hash_hex(&algo.lossy(), s.as_bytes())?))
    }),
];

/// A string built from parts of `sources`, carrying all their contexts.
pub(crate) fn keep_context(text: &[u8], sources: &[&NixString]) -> NixString {
    let mut context = Context::default();
    for s in sources {
        s.merge_context_into(&mut context);
    }
    NixString::with_context(text, context)
}

pub(crate) fn hash_hex(algo: &str, data: &[u8]) -> Result<String> {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match algo {
        "sha256" => Ok(hex(&sha2::Sha256::digest(data))),
        "sha512" => Ok(hex(&sha2::Sha512::digest(data))),
        "sha1" => Ok(hex(&sha1::Sha1::digest(data))),
        "md5" => Ok(hex(&md5::Md5::digest(data))),
        other => Err(EvalError::other(
            format!("unknown hash algorithm '{other}'"),
            None,
        )),
    }
}

fn replace_strings(ev: &Evaluator, args: &[Thunk]) -> Result<Value> {
    let from: Vec<NixString> = arg_list(ev, &args[0])?
        .iter()
        .map(|t| arg_string(ev, t))
        .collect::<Result<_>>()?;
    let to_thunks = arg_list(ev, &args[1])?;
    if from.len() != to_thunks.len() {
        return Err(EvalError::other(
            "'from' and 'to' arguments to 'replaceStrings' have different lengths",
            None,
        ));
    }
    let mut to: Vec<Option<NixString>> = vec![None; from.len()];
    let s = arg_string(ev, &args[2])?;
    let input = s.as_bytes();
    let mut out = Vec::new();
    let mut context = Context::default();
    s.merge_context_into(&mut context);
    // As Nix: at each position the first matching pattern wins; an empty pattern matches
    // before every byte and at the end (bytes, as Nix: even inside a UTF-8 character).
    // Bytes that can start a match: a run of other bytes is copied at once.
    let mut starts = [false; 256];
    let any_empty = from.iter().any(|p| p.is_empty());
    for p in &from {
        if let Some(&b) = p.as_bytes().first() {
            starts[b as usize] = true;
        }
    }
    out.reserve(input.len());
    let mut i = 0;
    while i <= input.len() {
        if !any_empty {
            let run = input[i..]
                .iter()
                .position(|&b| starts[b as usize])
                .unwrap_or(input.len() - i);
            out.extend_from_slice(&input[i..i + run]);
            i += run;
            if i == input.len() {
                break;
            }
        }
        let found = from
            .iter()
            .position(|p| input[i..].starts_with(p.as_bytes()));
        let next_byte = input.get(i).copied();
        match found {
            Some(k) => {
                if to[k].is_none() {
                    to[k] = Some(arg_string(ev, &to_thunks[k])?);
                }
                if let Some(rep) = &to[k] {
                    out.extend_from_slice(rep.as_bytes());
                    rep.merge_context_into(&mut context);
                }
                let p = from[k].as_bytes();
                if p.is_empty() {
                    match next_byte {
                        Some(b) => {
                            out.push(b);
                            i += 1;
                        }
                        None => break,
                    }
                } else {
                    i += p.len();
                }
            }
            None => match next_byte {
                Some(b) => {
                    out.push(b);
                    i += 1;
                }
                None => break,
            },
        }
    }
    Ok(Value::String(NixString::with_context(out, context)))
}
