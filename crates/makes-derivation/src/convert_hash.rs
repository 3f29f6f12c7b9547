//! `builtins.convertHash` (Nix 2.19; nixpkgs' lib probes for it): a hash in any of Nix's
//! forms (`algo:...`, SRI, or bare base16, nix-base32 or base64 with `hashAlgo`) written in
//! `toHashFormat` (`base16`, `nix32`, `base32`, `base64` or `sri`), as Nix's
//! `prim_convertHash` (`src/libexpr/primops.cc`) does.

use crate::builtins::string_without_context;
use crate::hash::{HashAlgo, NixHash};
use base64::Engine as _;
use makes_eval::{EvalError, Evaluator, Thunk, Value};

pub(crate) fn convert_hash(ev: &Evaluator, arg: &Thunk) -> makes_eval::Result<Value> {
    let Value::Attrs(args) = arg.force(ev)? else {
        return Err(EvalError::other(
            "while evaluating the argument passed to builtins.convertHash: a set was expected",
            None,
        ));
    };
    let field = |name: &str| args.get(name).map(|a| a.value.clone());
    let hash = field("hash").ok_or_else(|| {
        EvalError::other(
            "attribute 'hash' missing in the argument of convertHash",
            None,
        )
    })?;
    let hash = string_without_context(ev, &hash)?;
    let algo = match field("hashAlgo") {
        Some(t) => {
            let name = string_without_context(ev, &t)?;
            Some(HashAlgo::parse(&name).ok_or_else(|| {
                EvalError::other(format!("unknown hash algorithm '{name}'"), None)
            })?)
        }
        None => None,
    };
    let format = field("toHashFormat").ok_or_else(|| {
        EvalError::other(
            "attribute 'toHashFormat' missing in the argument of convertHash",
            None,
        )
    })?;
    let format = string_without_context(ev, &format)?;
    let parsed =
        NixHash::parse_any(&hash, algo).map_err(|e| EvalError::other(e.to_string(), None))?;
    let text = match format.as_str() {
        "base16" => parsed.to_base16(),
        "nix32" | "base32" => parsed.to_nix_base32(),
        "base64" => base64::engine::general_purpose::STANDARD.encode(&parsed.bytes),
        "sri" => parsed.to_sri(),
        other => {
            return Err(EvalError::other(
                format!("unknown hash format '{other}', expect 'base16', 'base32', 'nix32', 'base64' or 'sri'"),
                None,
            ))
        }
    };
    Ok(Value::string(text))
}
