//! `reduce_derivation_spec`: a `makeDerivation` argument set to a `DerivationSpec`, with makes'
//! argument rules (makes' `src/args/make-derivation/default.nix`).

use crate::derivation::{DerivationSpec, SearchPaths};
use crate::error::SpecError;
use crate::reduce::Fields;
use makes_eval::{CoercionMode, Context, Evaluator, Value};
use makes_syntax::byte_text::bytes_to_text;
use makes_syntax::Span;
use std::collections::BTreeMap;

const ARGS: &[&str] = &[
    "action",
    "builder",
    "env",
    "envFiles",
    "help",
    "local",
    "name",
    "searchPaths",
    "sha256",
];

/// `search_paths_template` registers `makeSearchPaths searchPaths` and returns its store path:
/// the builder sources its template first, as makes' makeDerivation does.
pub fn reduce_derivation_spec(
    ev: &Evaluator,
    args: &Value,
    span: Option<Span>,
    search_paths_template: &dyn Fn(&Value) -> makes_eval::Result<String>,
) -> Result<DerivationSpec, SpecError> {
    let f = Fields::new(ev, args, "makeDerivation's argument", span)?;
    f.reject_unknown("makeDerivation", ARGS)?;
    let mut context = Context::default();

    let name = f
        .string("name")?
        .ok_or_else(|| SpecError::MissingAttribute {
            function: "makeDerivation",
            attr: "name".into(),
            span,
        })?;
    // A path builder is the content of the file.
    let builder =
        f.script_text("builder", &mut context)?
            .ok_or_else(|| SpecError::MissingAttribute {
                function: "makeDerivation",
                attr: "builder".into(),
                span,
            })?;

    // makes copies the help file to `$out/README.md` after the builder.
    let builder = match crate::reduce_script::help_file(&f, &mut context)? {
        Some(help) => format!(
            "{builder}\ncp '{}' \"$out/README.md\"\n",
            help.replace('\'', r"'\''")
        ),
        None => builder,
    };
    let env = string_map(&f, "env", &mut context)?;
    let env_files = string_map(&f, "envFiles", &mut context)?;
    let search_paths = match f.get("searchPaths")? {
        None | Some(Value::Null) => SearchPaths::default(),
        Some(Value::Attrs(a)) if a.is_empty() => SearchPaths::default(),
        Some(v) => {
            let path = search_paths_template(&v).map_err(|e| {
                SpecError::Eval(e.note(
                    f.span_of("searchPaths"),
                    "while evaluating the attribute 'searchPaths'",
                ))
            })?;
            context.paths.insert(path.as_str().into());
            SearchPaths {
                source: vec![format!("{path}/template")],
                ..SearchPaths::default()
            }
        }
    };
    let sha256 = match f.get("sha256")? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.utf8()?.to_owned()),
        Some(other) => {
            return Err(SpecError::WrongType {
                attr: "sha256".into(),
                expected: "a string or null",
                found: other.describe().to_owned(),
                span: f.span_of("sha256"),
            })
        }
    };
    if f.get("action")?.is_some_and(|v| !matches!(v, Value::Null)) {
        return Err(SpecError::NotSupported {
            what: "makeDerivation's 'action'".into(),
            span: f.span_of("action"),
        });
    }
    let local = f.bool("local")?.unwrap_or(false);

    Ok(DerivationSpec {
        name: sanitize_derivation_name(&name),
        builder,
        env,
        env_files,
        search_paths,
        sha256,
        local,
        input_paths: crate::input_paths(ev, &context, "makeDerivation", span)?,
    })
}

/// `env`/`envFiles`: every key starts with `env` or `__`; values are strings (numbers, paths
/// and packages are turned into strings as interpolation would), any bytes, kept as text
/// standing for them ([`bytes_to_text`]).
fn string_map(
    f: &Fields,
    attr: &str,
    context: &mut Context,
) -> Result<BTreeMap<String, String>, SpecError> {
    let mut out = BTreeMap::new();
    let Some(v) = f.get(attr)? else {
        return Ok(out);
    };
    let inner = Fields::new(f.ev, &v, attr, f.span_of(attr))?;
    for key in inner.attrs.names() {
        if !(key.starts_with("env") || key.starts_with("__")) {
            return Err(SpecError::InvalidEnvKey {
                key: key.to_string(),
                span: inner.span_of(key),
            });
        }
        let value = inner.get(key)?.unwrap_or(Value::Null);
        let span = inner.span_of(key);
        let s =
            f.ev.coerce_to_string(
                &value,
                CoercionMode::TO_STRING,
                span.unwrap_or(Span::none()),
            )
            .map_err(|e| {
                SpecError::Eval(e.note(span, format!("while evaluating '{attr}.{key}'")))
            })?;
        s.merge_context_into(context);
        // Nix strings are bytes, and Nix hands them to the builder as they are.
        out.insert(key.to_string(), bytes_to_text(s.as_bytes()).into_owned());
    }
    Ok(out)
}

/// nixpkgs' `lib.strings.sanitizeDerivationName`: no leading dots, runs of invalid characters
/// become `-`, at most 207 characters (the tail kept), `unknown` when empty.
pub fn sanitize_derivation_name(name: &str) -> String {
    let trimmed = name.trim_start_matches('.');
    let mut out = String::new();
    let mut in_invalid = false;
    for c in trimmed.chars() {
        let valid = c.is_ascii_alphanumeric() || "+._?=-".contains(c);
        if valid {
            out.push(c);
            in_invalid = false;
        } else if !in_invalid {
            out.push('-');
            in_invalid = true;
        }
    }
    if out.len() > 207 {
        out = out[out.len() - 207..].to_owned();
    }
    if out.is_empty() {
        "unknown".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_like_nixpkgs() {
        assert_eq!(sanitize_derivation_name("..foo bar/baz"), "foo-bar-baz");
        assert_eq!(sanitize_derivation_name("ok-1.0"), "ok-1.0");
        assert_eq!(sanitize_derivation_name("..."), "unknown");
        assert_eq!(sanitize_derivation_name("a  !! b"), "a-b");
    }
}
