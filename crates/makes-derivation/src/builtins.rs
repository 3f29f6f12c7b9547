//! The derivation built-ins: `derivationStrict` (Nix 2.8's `prim_derivationStrict`,
//! `src/libexpr/primops.cc`), `derivation` (Nix's own Nix wrapper around it, evaluated by the
//! evaluator) and `placeholder`. Instantiation is pure: the `.drv` is computed, kept in the
//! [`Derivations`] registry and named by its store path, never written anywhere.

use crate::drv::{Derivation, DrvOutput};
use crate::hash::{HashAlgo, NixHash};
use crate::registry::Derivations;
use crate::store_paths::{
    fixed_output_path, hash_placeholder, output_path, text_path, IngestionMethod,
};
use makes_eval::{
    make_primop, Attrs, CoercionMode, Context, EvalError, Evaluator, NixString, PrimOpFn, Thunk,
    Value,
};
use makes_syntax::Span;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;

const DERIVATION_NIX: &str = include_str!("derivation.nix");

type Result<T> = makes_eval::Result<T>;

/// `(name, value)` pairs for `Evaluator::with_extra_builtins`.
pub fn derivation_builtins(registry: &Derivations) -> Vec<(Rc<str>, Value)> {
    let r = registry.clone();
    let strict: PrimOpFn = Rc::new(move |ev, args| derivation_strict(ev, &r, &args[0]));
    let wrapper = Rc::new(RefCell::new(None::<Value>));
    let derivation: PrimOpFn = Rc::new(move |ev, args| {
        let known = wrapper.borrow().clone();
        let f = match known {
            Some(f) => f,
            None => {
                let f = ev.eval_source("<nix/derivation.nix>", DERIVATION_NIX, Path::new("/"))?;
                *wrapper.borrow_mut() = Some(f.clone());
                f
            }
        };
        ev.apply(&f, args[0].clone(), Span::none())
    });
    let placeholder: PrimOpFn = Rc::new(|ev, args| {
        let output = string_without_context(ev, &args[0])?;
        Ok(Value::string(hash_placeholder(&output)))
    });
    let r = registry.clone();
    let to_file: PrimOpFn =
        Rc::new(move |ev, args| crate::to_file::to_file(ev, &r, &args[0], &args[1]));
    let convert_hash: PrimOpFn =
        Rc::new(|ev, args| crate::convert_hash::convert_hash(ev, &args[0]));
    vec![
        ("toFile".into(), make_primop("toFile", 2, to_file)),
        (
            "convertHash".into(),
            make_primop("convertHash", 1, convert_hash),
        ),
        (
            "derivationStrict".into(),
            make_primop("derivationStrict", 1, strict),
        ),
        (
            "derivation".into(),
            make_primop("derivation", 1, derivation),
        ),
        (
            "placeholder".into(),
            make_primop("placeholder", 1, placeholder),
        ),
    ]
}

/// The attributes that are not passed to the builder as they are.
struct Special {
    outputs: BTreeSet<String>,
    output_hash: Option<String>,
    output_hash_algo: String,
    method: Option<IngestionMethod>,
}

fn derivation_strict(ev: &Evaluator, registry: &Derivations, arg: &Thunk) -> Result<Value> {
    let attrs = match arg.force(ev)? {
        Value::Attrs(a) => a,
        other => return Err(EvalError::type_error("a set", &other, None)),
    };
    let name_attr = attrs.select("name").ok_or_else(|| {
        EvalError::other(
            "attribute 'name' missing for call to 'derivationStrict'",
            None,
        )
    })?;
    let name = string_without_context(ev, &name_attr.value)?;
    let structured = match attrs.get("__structuredAttrs") {
        Some(a) => forced_bool(ev, &a.value)?,
        None => false,
    };
    let ignore_nulls = match attrs.get("__ignoreNulls") {
        Some(a) => forced_bool(ev, &a.value)?,
        None => false,
    };

    let mut drv = Derivation {
        name: name.clone(),
        ..Derivation::default()
    };
    let mut context = Context::default();
    let mut special = Special {
        outputs: BTreeSet::from(["out".to_owned()]),
        output_hash: None,
        output_hash_algo: String::new(),
        method: None,
    };
    // `__json`'s members in attribute order (sorted, as Nix writes them): name and value, each
    // as JSON text.
    let mut json: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();

    for (key, attr) in attrs.iter() {
        let key: &str = key;
        if key == "__ignoreNulls" {
            continue;
        }
        let mut step = || -> Result<()> {
            if ignore_nulls && matches!(attr.value.force(ev)?, Value::Null) {
                return Ok(());
            }
            match key {
                "__contentAddressed" if forced_bool(ev, &attr.value)? => {
                    Err(experimental("ca-derivations"))
                }
                "__impure" if forced_bool(ev, &attr.value)? => {
                    Err(experimental("impure-derivations"))
                }
                "__contentAddressed" | "__impure" => Ok(()),
                "args" => {
                    let items = match attr.value.force(ev)? {
                        Value::List(l) => l,
                        other => return Err(EvalError::type_error("a list", &other, None)),
                    };
                    for item in items.iter() {
                        let s = coerce(ev, &item.force(ev)?)?;
                        s.merge_context_into(&mut context);
                        drv.args.push(s.as_bytes().to_vec());
                    }
                    Ok(())
                }
                _ if structured => {
                    if key == "__structuredAttrs" {
                        return Ok(());
                    }
                    let value = attr.value.force(ev)?;
                    ev.force_deep(&value)?;
                    json.push((
                        makes_eval::to_json_text(ev, &Value::string(key), &mut context)?,
                        makes_eval::to_json_text(ev, &value, &mut context)?,
                    ));
                    match key {
                        "builder" => {
                            let s = forced_string(ev, &value)?;
                            s.merge_context_into(&mut context);
                            drv.builder = s.as_bytes().to_vec();
                        }
                        "system" => {
                            drv.platform = no_context(&forced_string(ev, &value)?)?.into_bytes()
                        }
                        "outputHash" => {
                            special.output_hash = Some(no_context(&forced_string(ev, &value)?)?)
                        }
                        "outputHashAlgo" => {
                            special.output_hash_algo = no_context(&forced_string(ev, &value)?)?
                        }
                        "outputHashMode" => {
                            special.method =
                                Some(hash_mode(&no_context(&forced_string(ev, &value)?)?)?)
                        }
                        "outputs" => {
                            let items = match &value {
                                Value::List(l) => l.clone(),
                                other => return Err(EvalError::type_error("a list", other, None)),
                            };
                            let mut names = Vec::new();
                            for item in items.iter() {
                                names.push(no_context(&forced_string(ev, &item.force(ev)?)?)?);
                            }
                            special.outputs = output_names(names)?;
                        }
                        _ => {}
                    }
                    Ok(())
                }
                _ => {
                    let s = coerce(ev, &attr.value.force(ev)?)?;
                    s.merge_context_into(&mut context);
                    let bytes = s.as_bytes().to_vec();
                    let text = || String::from_utf8_lossy(&bytes).into_owned();
                    match key {
                        "builder" => drv.builder = bytes.clone(),
                        "system" => drv.platform = bytes.clone(),
                        "outputHash" => special.output_hash = Some(text()),
                        "outputHashAlgo" => special.output_hash_algo = text(),
                        "outputHashMode" => special.method = Some(hash_mode(&text())?),
                        "outputs" => {
                            special.outputs = output_names(
                                text()
                                    .split([' ', '\t', '\n', '\r'])
                                    .filter(|w| !w.is_empty())
                                    .map(str::to_owned)
                                    .collect(),
                            )?
                        }
                        _ => {}
                    }
                    drv.env.insert(key.as_bytes().to_vec(), bytes);
                    Ok(())
                }
            }
        };
        step().map_err(|e| {
            e.note(
                attr.span,
                format!("while evaluating the attribute '{key}' of the derivation '{name}'"),
            )
        })?;
    }
    if structured {
        drv.env.insert(b"__json".to_vec(), json_object(&json));
    }

    add_inputs(&mut drv, &context, registry)?;

    if drv.builder.is_empty() {
        return Err(EvalError::other(
            "required attribute 'builder' missing",
            None,
        ));
    }
    if drv.platform.is_empty() {
        return Err(EvalError::other(
            "required attribute 'system' missing",
            None,
        ));
    }
    if name.ends_with(".drv") {
        return Err(EvalError::other(
            "derivation names are not allowed to end in '.drv'",
            None,
        ));
    }
    makes_store::validate_name(&name).map_err(|e| EvalError::other(e.to_string(), None))?;

    if let Some(output_hash) = &special.output_hash {
        if special.outputs.len() != 1 || !special.outputs.contains("out") {
            return Err(EvalError::other(
                "multiple outputs are not supported in fixed-output derivations",
                None,
            ));
        }
        let hash =
            NixHash::parse_allow_empty(output_hash, HashAlgo::parse(&special.output_hash_algo))
                .map_err(|e| EvalError::other(e.to_string(), None))?;
        let method = special.method.unwrap_or(IngestionMethod::Flat);
        let path = fixed_output_path(method, &hash, &name).to_absolute();
        drv.env.insert(b"out".to_vec(), path.clone().into_bytes());
        drv.outputs.insert(
            "out".into(),
            DrvOutput {
                path,
                hash_algo: format!("{}{}", method.prefix(), hash.algo.name()),
                hash: hash.to_base16(),
            },
        );
    } else {
        for output in &special.outputs {
            // An output's path is named after it: it must make a valid store path name.
            makes_store::validate_name(&crate::store_paths::output_path_name(&name, output))
                .map_err(|e| {
                    EvalError::other(
                        format!("invalid derivation output name '{output}': {e}"),
                        None,
                    )
                })?;
            drv.env.insert(output.as_bytes().to_vec(), Vec::new());
            drv.outputs.insert(
                output.clone(),
                DrvOutput {
                    path: String::new(),
                    hash_algo: String::new(),
                    hash: String::new(),
                },
            );
        }
        let hashes = registry
            .hash_modulo(&drv, true)
            .map_err(|e| EvalError::other(e.to_string(), None))?;
        for (output, slot) in drv.outputs.iter_mut() {
            let h = hashes.get(output).copied().unwrap_or_default();
            let path = output_path(&name, output, &h).to_absolute();
            drv.env
                .insert(output.as_bytes().to_vec(), path.clone().into_bytes());
            slot.path = path;
        }
    }

    let text = drv.unparse(false, None);
    let drv_path = text_path(&format!("{name}.drv"), &text, &drv.references()).to_absolute();
    let drv = Rc::new(drv);
    registry.insert(drv_path.clone(), drv.clone());

    let mut out = Attrs::new();
    let mut drv_context = Context::default();
    drv_context.derivations.insert(drv_path.as_str().into());
    out.insert(
        "drvPath",
        Thunk::value(Value::String(NixString::with_context(
            drv_path.as_str(),
            drv_context,
        ))),
        None,
    );
    for (output, o) in &drv.outputs {
        let mut ctx = Context::default();
        ctx.outputs
            .insert((drv_path.as_str().into(), output.as_str().into()));
        out.insert(
            output.as_str(),
            Thunk::value(Value::String(NixString::with_context(o.path.as_str(), ctx))),
            None,
        );
    }
    Ok(Value::attrs(out))
}

/// Turns the context of the attributes into inputs: `!out!drv` an input derivation's
/// output, `=drv` the whole closure of the derivation (every derivation in it with all its
/// outputs, and every path as a source), a plain path a source.
/// A JSON object of `members` (name and value, each already JSON text), in their order.
fn json_object(members: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![b'{'];
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name);
        out.push(b':');
        out.extend_from_slice(value);
    }
    out.push(b'}');
    out
}

fn add_inputs(drv: &mut Derivation, context: &Context, registry: &Derivations) -> Result<()> {
    for (input, output) in &context.outputs {
        if registry.get(input).is_none() {
            return Err(EvalError::other(
                format!("the derivation '{input}' is not known to this evaluation (makes cannot read it from a store)"),
                None,
            ));
        }
        drv.input_drvs
            .entry(input.to_string())
            .or_default()
            .insert(output.to_string());
    }
    for whole in &context.derivations {
        let closure = registry
            .closure(whole)
            .map_err(|e| EvalError::other(e.to_string(), None))?;
        for path in closure {
            if let Some(d) = registry.get(&path) {
                drv.input_drvs
                    .entry(path.clone())
                    .or_default()
                    .extend(d.outputs.keys().cloned());
            }
            drv.input_srcs.insert(path);
        }
    }
    for path in &context.paths {
        drv.input_srcs.insert(path.to_string());
    }
    Ok(())
}

fn output_names(names: Vec<String>) -> Result<BTreeSet<String>> {
    let mut outputs = BTreeSet::new();
    for name in names {
        if outputs.contains(&name) {
            return Err(EvalError::other(
                format!("duplicate derivation output '{name}'"),
                None,
            ));
        }
        if name == "drv" {
            return Err(EvalError::other(
                "invalid derivation output name 'drv'",
                None,
            ));
        }
        outputs.insert(name);
    }
    if outputs.is_empty() {
        return Err(EvalError::other(
            "derivation cannot have an empty set of outputs",
            None,
        ));
    }
    Ok(outputs)
}

fn hash_mode(mode: &str) -> Result<IngestionMethod> {
    match mode {
        "recursive" => Ok(IngestionMethod::Recursive),
        "flat" => Ok(IngestionMethod::Flat),
        other => Err(EvalError::other(
            format!("invalid value '{other}' for 'outputHashMode' attribute"),
            None,
        )),
    }
}

fn experimental(feature: &str) -> EvalError {
    EvalError::other(
        format!("experimental Nix feature '{feature}' is disabled; use '--extra-experimental-features {feature}' to override"),
        None,
    )
}

/// `coerceToString(..., coerceMore = true, copyToStore = true)`, as derivation attributes are.
fn coerce(ev: &Evaluator, v: &Value) -> Result<NixString> {
    ev.coerce_to_string(v, CoercionMode::TO_STRING, Span::none())
}

fn forced_bool(ev: &Evaluator, t: &Thunk) -> Result<bool> {
    match t.force(ev)? {
        Value::Bool(b) => Ok(b),
        other => Err(EvalError::type_error("a Boolean", &other, None)),
    }
}

fn forced_string(_ev: &Evaluator, v: &Value) -> Result<NixString> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(EvalError::type_error("a string", other, None)),
    }
}

/// `forceStringNoCtx`: a string that refers to no store path.
fn no_context(s: &NixString) -> Result<String> {
    if let Some(c) = s.context() {
        let first = c.encoded().into_iter().next().unwrap_or_default();
        return Err(EvalError::other(
            format!(
                "the string '{}' is not allowed to refer to a store path (such as '{first}')",
                s.lossy()
            ),
            None,
        ));
    }
    Ok(s.utf8()?.to_owned())
}

pub(crate) fn string_without_context(ev: &Evaluator, t: &Thunk) -> Result<String> {
    no_context(&forced_string(ev, &t.force(ev)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use makes_eval::{DiskIo, EvalOptions};

    /// Evaluates `expr` with the derivation built-ins and no store.
    fn eval_string(expr: &str) -> String {
        let registry = Derivations::default();
        let ev = Evaluator::with_extra_builtins(
            Rc::new(DiskIo),
            EvalOptions::default(),
            derivation_builtins(&registry),
        );
        let v = ev
            .eval_source("test", expr, Path::new("/"))
            .expect("evaluates");
        match v {
            Value::String(s) => s.lossy().into_owned(),
            other => panic!("not a string: {other:?}"),
        }
    }

    // Paths recorded from Nix 2.8 (tests/derivations/cases 000, 139 and 152).
    const DEP_F: &str = r#"derivation { name = "dep-f"; system = "x86_64-linux"; builder = "/bin/sh"; outputHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; outputHashAlgo = "sha256"; outputHashMode = "recursive"; }"#;

    #[test]
    fn a_plain_derivation_has_nix_s_paths() {
        let d = r#"derivation { name = "a"; system = "x86_64-linux"; builder = "/bin/sh"; }"#;
        assert_eq!(
            eval_string(&format!("({d}).drvPath")),
            "/nix/store/7g5giqf764p3y3zv7a8rqsy9sqqq5kw4-a.drv"
        );
        assert_eq!(
            eval_string(&format!("({d}).outPath")),
            "/nix/store/f37kxm5wf98b2s839zaiybv38zil0s40-a"
        );
    }

    #[test]
    fn an_output_of_another_derivation_is_hashed_modulo() {
        let m = r#"derivation { name = "dep-m"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "dev" ]; }"#;
        let uses = format!(
            r#"(derivation {{ name = "uses"; system = "x86_64-linux"; builder = "/bin/sh"; dep = ({m}).dev; }}).drvPath"#
        );
        assert_eq!(
            eval_string(&uses),
            "/nix/store/fgnhl1jpn3p3yks3gil7085nmhdpm3fx-uses.drv"
        );
    }

    #[test]
    fn a_fixed_output_below_is_replaced_by_its_hash() {
        let expr = format!(
            r#"let f = {DEP_F}; b = derivation {{ name = "b"; system = "x86_64-linux"; builder = "/bin/sh"; dep = f; }};
               in (derivation {{ name = "uses"; system = "x86_64-linux"; builder = "/bin/sh"; dep = b; }}).outPath"#
        );
        assert_eq!(
            eval_string(&expr),
            "/nix/store/ywgnkvrpmhq7bdmiwnq3r8yhrbaj0ad1-uses"
        );
    }

    #[test]
    fn contexts_name_the_derivation_and_its_output() {
        let d = r#"derivation { name = "a"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "dev" ]; }"#;
        let expr = format!(
            r#"let d = {d}; c = builtins.getContext "${{d.dev}}${{d.drvPath}}"; in builtins.toJSON c"#
        );
        let json = eval_string(&expr);
        assert!(json.contains(r#""allOutputs":true"#), "{json}");
        assert!(json.contains(r#""outputs":["dev"]"#), "{json}");
    }

    #[test]
    fn bad_output_names_are_errors() {
        let registry = Derivations::default();
        let ev = Evaluator::with_extra_builtins(
            Rc::new(DiskIo),
            EvalOptions::default(),
            derivation_builtins(&registry),
        );
        let expr = r#"(derivation { name = "a"; system = "s"; builder = "b"; outputs = [ "x/y" ]; }).drvPath"#;
        let err = ev
            .eval_source("test", expr, Path::new("/"))
            .expect_err("a slash in an output name");
        assert!(
            err.to_string()
                .contains("invalid derivation output name 'x/y'"),
            "{err}"
        );
    }
}
