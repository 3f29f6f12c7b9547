//! Nix's built-in functions, one file per family, each contributing to one table.

mod arith;
mod attrs;
mod context;
mod control;
pub(crate) mod json;
mod lists;
mod paths;
mod regex;
mod sort_fast;
mod strings;
mod toml;
mod versions;
pub(crate) mod xml;

pub(crate) use attrs::all_attrs;

use crate::eval::EvalOptions;
use crate::thunk::Thunk;
use crate::value::{AttrSet, Attrs, List, NixString, PrimOp, PrimOpFn, Value};
use crate::{EvalError, Evaluator, Result};
use std::rc::Rc;

/// A row of a family's table: name, arity, body.
pub(crate) type BuiltinDef = (
    &'static str,
    usize,
    fn(&Evaluator, &[Thunk]) -> Result<Value>,
);

/// Built-ins that Nix also binds without the `builtins.` prefix.
const GLOBAL_NAMES: &[&str] = &[
    "abort",
    "baseNameOf",
    "derivation",
    "dirOf",
    "fetchGit",
    "fetchMercurial",
    "fetchTarball",
    "fetchTree",
    "fromTOML",
    "import",
    "isNull",
    "map",
    "placeholder",
    "removeAttrs",
    "scopedImport",
    "throw",
    "toString",
];

/// Built-ins that need the store or the network: the store issue's. Until an outside crate
/// registers them, each fails clearly instead of silently.
const STORE_BUILTINS: &[(&str, usize)] = &[
    ("derivation", 1),
    ("derivationStrict", 1),
    ("path", 1),
    ("filterSource", 2),
    ("toFile", 2),
    ("storePath", 1),
    ("fetchurl", 1),
    ("fetchTarball", 1),
    ("fetchGit", 1),
    ("fetchMercurial", 1),
    ("fetchTree", 1),
    ("fetchClosure", 1),
    ("placeholder", 1),
];

pub fn make_primop(name: &str, arity: usize, func: PrimOpFn) -> Value {
    Value::PrimOp(Rc::new(PrimOp {
        name: name.into(),
        arity,
        func,
    }))
}

/// The base environment: slot names and values, `builtins` first.
pub(crate) fn base_environment(
    options: &EvalOptions,
    extra: Vec<(Rc<str>, Value)>,
) -> (Vec<Rc<str>>, Vec<Thunk>) {
    let mut builtins = Attrs::new();
    for (name, arity) in STORE_BUILTINS {
        let owned: Rc<str> = (*name).into();
        let func: PrimOpFn = Rc::new(move |_, _| {
            Err(EvalError::new(
                crate::EvalErrorKind::NotSupported(format!("builtins.{owned}")),
                None,
            ))
        });
        builtins.insert(*name, Thunk::value(make_primop(name, *arity, func)), None);
    }
    let tables: [&[BuiltinDef]; 12] = [
        arith::BUILTINS,
        attrs::BUILTINS,
        context::BUILTINS,
        control::BUILTINS,
        json::BUILTINS,
        lists::BUILTINS,
        paths::BUILTINS,
        regex::BUILTINS,
        strings::BUILTINS,
        toml::BUILTINS,
        versions::BUILTINS,
        xml::BUILTINS,
    ];
    for table in tables {
        for (name, arity, f) in table.iter().copied() {
            let func: PrimOpFn = Rc::new(f);
            builtins.insert(name, Thunk::value(make_primop(name, arity, func)), None);
        }
    }
    let system = options.system.clone().unwrap_or_else(host_system);
    let constants: [(&str, Value); 6] = [
        ("currentSystem", Value::string(system.as_str())),
        ("nixVersion", Value::string("2.8.0")),
        ("langVersion", Value::Int(6)),
        ("storeDir", Value::string("/nix/store")),
        ("true", Value::Bool(true)),
        ("false", Value::Bool(false)),
    ];
    for (name, v) in constants {
        builtins.insert(name, Thunk::value(v), None);
    }
    builtins.insert("null", Thunk::value(Value::Null), None);
    builtins.insert(
        "currentTime",
        Thunk::value(Value::Int(current_time())),
        None,
    );
    let search: Vec<Thunk> = options
        .search_path
        .iter()
        .map(|(prefix, path)| {
            let mut entry = Attrs::new();
            entry.insert("prefix", Thunk::value(Value::string(prefix.as_str())), None);
            entry.insert(
                "path",
                Thunk::value(Value::string(path.to_string_lossy().as_ref())),
                None,
            );
            Thunk::value(Value::attrs(entry))
        })
        .collect();
    builtins.insert("nixPath", Thunk::value(Value::list(search)), None);
    for (name, value) in extra {
        builtins.insert(name, Thunk::value(value), None);
    }

    let mut names: Vec<Rc<str>> = Vec::new();
    let mut values: Vec<Thunk> = Vec::new();
    for name in ["true", "false", "null"] {
        names.push(name.into());
        values.push(
            builtins
                .get(name)
                .map(|a| a.value.clone())
                .unwrap_or_else(|| Thunk::value(Value::Null)),
        );
    }
    for name in GLOBAL_NAMES {
        if let Some(a) = builtins.get(name) {
            names.push((*name).into());
            values.push(a.value.clone());
        }
    }
    for (name, attr) in builtins.iter() {
        if !matches!(&**name, "true" | "false" | "null") {
            names.push(format!("__{name}").into());
            values.push(attr.value.clone());
        }
    }
    // `builtins.builtins` is `builtins` itself, as in Nix.
    let self_ref = Thunk::placeholder();
    builtins.insert("builtins", self_ref.clone(), None);
    let builtins_value = Value::attrs(builtins);
    self_ref.set_value(builtins_value.clone());
    names.insert(0, "builtins".into());
    values.insert(0, Thunk::value(builtins_value));
    (names, values)
}

fn host_system() -> String {
    let arch = match std::env::consts::ARCH {
        "x86" => "i686",
        other => other,
    };
    format!("{arch}-{}", std::env::consts::OS)
}

fn current_time() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// Argument helpers shared by the families.

pub(crate) fn arg_attrs(ev: &Evaluator, t: &Thunk) -> Result<AttrSet> {
    match t.force(ev)? {
        Value::Attrs(a) => Ok(a),
        other => Err(EvalError::type_error("a set", &other, None)),
    }
}

pub(crate) fn arg_list(ev: &Evaluator, t: &Thunk) -> Result<List> {
    match t.force(ev)? {
        Value::List(l) => Ok(l),
        other => Err(EvalError::type_error("a list", &other, None)),
    }
}

pub(crate) fn arg_int(ev: &Evaluator, t: &Thunk) -> Result<i64> {
    match t.force(ev)? {
        Value::Int(i) => Ok(i),
        other => Err(EvalError::type_error("an integer", &other, None)),
    }
}

/// A string argument (not coerced: a path or a set is a type error, as in Nix).
pub(crate) fn arg_string(ev: &Evaluator, t: &Thunk) -> Result<NixString> {
    match t.force(ev)? {
        Value::String(s) => Ok(s),
        other => Err(EvalError::type_error("a string", &other, None)),
    }
}

pub(crate) fn arg_function(ev: &Evaluator, t: &Thunk) -> Result<Value> {
    let v = t.force(ev)?;
    if v.is_function() || matches!(&v, Value::Attrs(a) if a.contains("__functor")) {
        Ok(v)
    } else {
        Err(EvalError::type_error("a function", &v, None))
    }
}

/// Applies `f` to already-computed arguments, without a source location.
pub(crate) fn call(ev: &Evaluator, f: &Value, args: &[Thunk]) -> Result<Value> {
    // One or two arguments (`filter`, `any`, `foldl'`...): applied to `f` itself, with no
    // copy of the function value per element.
    match args {
        [only] => return ev.apply(f, only.clone(), no_span()),
        [first, second] => return ev.apply2(f, first.clone(), second.clone(), no_span()),
        _ => {}
    }
    let mut v = f.clone();
    for a in args {
        v = ev.apply(&v, a.clone(), no_span())?;
    }
    Ok(v)
}

/// A span for calls made by built-ins; errors keep the span of the outer call.
pub(crate) fn no_span() -> makes_syntax::Span {
    makes_syntax::Span {
        file: makes_syntax::FileId(u32::MAX),
        start: 0,
        end: 0,
    }
}

pub(crate) fn list_value(items: Vec<Thunk>) -> Value {
    Value::list(items)
}

pub(crate) fn attrs_value(attrs: Attrs) -> Value {
    Value::attrs(attrs)
}
