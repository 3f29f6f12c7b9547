//! `makeTemplate` and `makeSearchPaths` reduced to the text of their `template` file, with
//! makes' rules: placeholders look like `__argName__` (`__arg[A-Z][a-zA-Z0-9]{2,}__`), each
//! given placeholder must be used, and none may be left unreplaced.

use crate::error::SpecError;
use crate::reduce::Fields;
use base64::Engine;
use makes_eval::{CoercionMode, Context, Evaluator, Value};
use makes_syntax::Span;

/// The text of a `template` file and the store paths it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSpec {
    /// The output's name (`make-template-for-<name>`, as makes names it).
    pub name: String,
    pub text: String,
    pub context: Context,
    /// `withAction` (default true): makes 22.05 on gives the output an action printing the
    /// template.
    pub with_action: bool,
}

const TEMPLATE_ARGS: &[&str] = &[
    "help",
    "local",
    "name",
    "replace",
    "replaceBase64",
    "searchPaths",
    "template",
    "withAction",
];

/// Whether `key` is a placeholder makes accepts.
pub fn is_placeholder(key: &str) -> bool {
    let Some(middle) = key.strip_prefix("__arg").and_then(|k| k.strip_suffix("__")) else {
        return false;
    };
    let mut chars = middle.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && middle.len() >= 3
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Replaces the placeholders of `replace` (and, base64-encoded, `replaceBase64`) in `text`.
pub(crate) fn replace_placeholders(
    f: &Fields,
    text: &mut String,
    context: &mut Context,
) -> Result<(), SpecError> {
    for (attr, base64) in [("replace", false), ("replaceBase64", true)] {
        let Some(v) = f.get(attr)? else { continue };
        let r = Fields::new(f.ev, &v, attr, f.span_of(attr))?;
        for key in r.attrs.names() {
            if !is_placeholder(key) {
                return Err(SpecError::Invalid {
                    attr: format!("{attr}.{key}"),
                    message: format!(
                        "invalid placeholder '{key}': placeholders must match __arg[A-Z][a-zA-Z0-9]{{2,}}__, e.g. __argExample123__"
                    ),
                    span: r.span_of(key),
                });
            }
            let value = r.get(key)?.unwrap_or(Value::Null);
            let s =
                f.ev.coerce_to_string(
                    &value,
                    CoercionMode::TO_STRING,
                    r.span_of(key).unwrap_or_else(Span::none),
                )
                .map_err(|e| {
                    SpecError::Eval(
                        e.note(r.span_of(key), format!("while evaluating '{attr}.{key}'")),
                    )
                })?;
            if !text.contains(&**key) {
                return Err(SpecError::Invalid {
                    attr: format!("{attr}.{key}"),
                    message: format!("argument is not being used: {key}, please remove it"),
                    span: r.span_of(key),
                });
            }
            s.merge_context_into(context);
            let with = if base64 {
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
            } else {
                s.utf8()?.to_owned()
            };
            *text = text.replace(&**key, &with);
        }
    }
    if let Some(left) = leftover_placeholder(text) {
        return Err(SpecError::Invalid {
            attr: "template".into(),
            message: format!("some arguments are not being used: {left} is not replaced"),
            span: f.span_of("template").or(f.span),
        });
    }
    Ok(())
}

fn leftover_placeholder(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(at) = rest.find("__arg") {
        let candidate = &rest[at..];
        if let Some(end) = candidate[5..].find("__") {
            let key = &candidate[..end + 7];
            if is_placeholder(key) {
                return Some(key);
            }
        }
        rest = &rest[at + 5..];
    }
    None
}

/// `makeTemplate { name; template ? ""; replace ? { }; replaceBase64 ? { }; searchPaths ? { };
/// ... }`. `search_paths_source` is the store path of `makeSearchPaths searchPaths`, when
/// there are search paths: the template then sources it first, as makes does.
pub fn reduce_template_spec(
    ev: &Evaluator,
    args: &Value,
    span: Option<Span>,
    search_paths_template: &dyn Fn(&Value) -> makes_eval::Result<String>,
) -> Result<TemplateSpec, SpecError> {
    let f = Fields::new(ev, args, "makeTemplate's argument", span)?;
    f.reject_unknown("makeTemplate", TEMPLATE_ARGS)?;
    let name = f.string("name")?.ok_or(SpecError::MissingAttribute {
        function: "makeTemplate",
        attr: "name".into(),
        span,
    })?;
    let mut context = Context::default();
    let mut text = f.script_text("template", &mut context)?.unwrap_or_default();
    if let Some(sp) = f.get("searchPaths")? {
        if !matches!(&sp, Value::Attrs(a) if a.is_empty()) {
            let source = search_paths_template(&sp).map_err(SpecError::Eval)?;
            context.paths.insert(source.as_str().into());
            text = format!("source \"{source}/template\"\n\n{text}");
        }
    }
    replace_placeholders(&f, &mut text, &mut context)?;
    crate::resolve_derivation_contexts(ev, &mut context, "makeTemplate", span)?;
    Ok(TemplateSpec {
        name: format!("make-template-for-{name}"),
        text,
        context,
        with_action: f.bool("withAction")?.unwrap_or(true),
    })
}

/// The generators of `makeSearchPaths`: argument, variable, suffix (makes' table).
const EXPORTS: &[(&str, &str, &str)] = &[
    ("bin", "PATH", "/bin"),
    ("crystalLib", "CRYSTAL_LIBRARY_PATH", "/lib"),
    ("pkgConfig", "PKG_CONFIG_PATH", "/lib/pkgconfig"),
    ("javaClass", "CLASSPATH", ""),
    ("kubeConfig", "KUBECONFIG", ""),
    ("nodeBin", "PATH", "/.bin"),
    ("nodeModule", "NODE_PATH", ""),
    ("ocamlBin", "PATH", "/bin"),
    ("ocamlLib", "OCAMLPATH", ""),
    ("ocamlStublib", "CAML_LD_LIBRARY_PATH", "/stublibs"),
    ("pythonMypy", "MYPYPATH", ""),
    ("pythonMypy39", "MYPYPATH", "/lib/python3.9/site-packages"),
    ("pythonMypy310", "MYPYPATH", "/lib/python3.10/site-packages"),
    ("pythonMypy311", "MYPYPATH", "/lib/python3.11/site-packages"),
    ("pythonMypy312", "MYPYPATH", "/lib/python3.12/site-packages"),
    ("pythonPackage", "PYTHONPATH", ""),
    (
        "pythonPackage39",
        "PYTHONPATH",
        "/lib/python3.9/site-packages",
    ),
    (
        "pythonPackage310",
        "PYTHONPATH",
        "/lib/python3.10/site-packages",
    ),
    (
        "pythonPackage311",
        "PYTHONPATH",
        "/lib/python3.11/site-packages",
    ),
    (
        "pythonPackage312",
        "PYTHONPATH",
        "/lib/python3.12/site-packages",
    ),
    ("rpath", "LD_LIBRARY_PATH", "/lib"),
    ("rpath", "LD_LIBRARY_PATH", "/lib64"),
    ("rubyBin", "PATH", "/bin"),
    ("rubyGemPath", "GEM_PATH", "/"),
];

/// What makeScript's `searchPathsEmpty` (`makeSearchPaths` with every kind `[ "/not-set" ]`
/// and `append = false`) writes: each variable set to a directory that does not exist, so
/// nothing of the caller's `PYTHONPATH`, `LD_LIBRARY_PATH`, ... reaches a script.
pub fn cleared_search_paths_text() -> String {
    EXPORTS
        .iter()
        .map(|(_, var, suffix)| format!("export {var}=\"/not-set{suffix}\"\n"))
        .collect()
}

/// `makeSearchPaths { append ? true; bin ? [ ]; export ? [ ]; source ? [ ]; rpath ? [ ];
/// pythonPackage ? [ ]; ... }` as the text of its template: one `export` line per package
/// and kind, then the `source`d files (a file, or `[ file arg ... ]`).
pub fn search_paths_template_text(
    ev: &Evaluator,
    args: &Value,
    span: Option<Span>,
) -> Result<TemplateSpec, SpecError> {
    let f = Fields::new(ev, args, "makeSearchPaths' argument", span)?;
    let mut known: Vec<&str> = EXPORTS.iter().map(|(a, _, _)| *a).collect();
    known.extend([
        "append",
        "export",
        "source",
        "withAction",
        "pythonMypy38",
        "pythonPackage38",
    ]);
    f.reject_unknown("makeSearchPaths", &known)?;
    let append = f.bool("append")?.unwrap_or(true);
    let mut context = Context::default();
    let mut lines = Vec::new();
    let string_of = |v: &Value, context: &mut Context, attr: &str| -> Result<String, SpecError> {
        let s = ev
            .coerce_to_string(
                v,
                CoercionMode::INTERPOLATION,
                f.span_of(attr).unwrap_or_else(Span::none),
            )
            .map_err(|e| {
                SpecError::Eval(e.note(f.span_of(attr), format!("while evaluating '{attr}'")))
            })?;
        s.merge_context_into(context);
        Ok(s.utf8()?.to_owned())
    };
    let export = |var: &str, dir: &str, suffix: &str| {
        if append {
            format!("export {var}=\"{dir}{suffix}${{{var}:+:}}${{{var}:-}}\"")
        } else {
            format!("export {var}=\"{dir}{suffix}\"")
        }
    };
    let list = |attr: &str| -> Result<Vec<Value>, SpecError> {
        match f.get(attr)? {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::List(items)) => items
                .iter()
                .map(|t| t.force(ev).map_err(SpecError::Eval))
                .collect(),
            Some(other) => Err(SpecError::WrongType {
                attr: attr.into(),
                expected: "a list",
                found: other.describe().to_owned(),
                span: f.span_of(attr),
            }),
        }
    };
    for item in list("export")? {
        let Value::List(triple) = &item else {
            return Err(SpecError::WrongType {
                attr: "export".into(),
                expected: "a list of [ NAME package SUFFIX ] lists",
                found: item.describe().to_owned(),
                span: f.span_of("export"),
            });
        };
        if triple.len() != 3 {
            return Err(SpecError::Invalid {
                attr: "export".into(),
                message: "each element is [ NAME package SUFFIX ]".into(),
                span: f.span_of("export"),
            });
        }
        let mut parts = Vec::new();
        for t in triple.iter() {
            parts.push(string_of(&t.force(ev)?, &mut context, "export")?);
        }
        lines.push(export(&parts[0], &parts[1], &parts[2]));
    }
    for (attr, var, suffix) in EXPORTS {
        for item in list(attr)? {
            let dir = string_of(&item, &mut context, attr)?;
            lines.push(export(var, &dir, suffix));
        }
    }
    for item in list("source")? {
        let (file, args) = match &item {
            Value::List(parts) if !parts.is_empty() => {
                let file = string_of(&parts[0].force(ev)?, &mut context, "source")?;
                let mut args = Vec::new();
                for a in parts.iter().skip(1) {
                    let s = string_of(&a.force(ev)?, &mut context, "source")?;
                    args.push(format!("'{}'", s.replace('\'', r"'\''")));
                }
                (file, args.join(" "))
            }
            other => (string_of(other, &mut context, "source")?, String::new()),
        };
        lines.push(format!(
            "if test -e \"{file}/template\"\nthen source \"{file}/template\" {args}\nelse source \"{file}\" {args}\nfi\n"
        ));
    }
    crate::resolve_derivation_contexts(ev, &mut context, "makeSearchPaths", f.span)?;
    Ok(TemplateSpec {
        name: "make-template-for-make-search-paths".into(),
        text: lines.join("\n"),
        context,
        with_action: f.bool("withAction")?.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_makes_rule() {
        assert!(is_placeholder("__argName__"));
        assert!(is_placeholder("__argExample123__"));
        assert!(!is_placeholder("__argAb__"), "at least three characters");
        assert!(!is_placeholder("__argname__"), "an upper-case letter first");
        assert!(!is_placeholder("__arg_Name__"));
        assert!(!is_placeholder("argName"));
        assert_eq!(leftover_placeholder("a __argLeft__ b"), Some("__argLeft__"));
        assert_eq!(leftover_placeholder("a __arg b __ c"), None);
    }
}
