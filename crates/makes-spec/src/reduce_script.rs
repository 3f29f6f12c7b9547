//! `reduce_script_spec`: a `makeScript` argument set (`name`, `entrypoint`, `replace`,
//! `searchPaths`, `aliases`, `persistState`, `globalState`, `help`) to a `ScriptSpec`: the
//! entrypoint with its `__argX__` placeholders replaced, and the search paths the script sets
//! up when it runs.

use crate::derivation::SearchPaths;
use crate::error::SpecError;
use crate::reduce::Fields;
use crate::reduce_derivation::{reduce_search_paths, sanitize_derivation_name};
use crate::reduce_template::replace_placeholders;
use makes_eval::{Context, Evaluator, Value};
use makes_syntax::Span;

const ARGS: &[&str] = &[
    "aliases",
    "entrypoint",
    "globalState",
    "help",
    "name",
    "persistState",
    "replace",
    "searchPaths",
];

/// A typed `makeScript`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSpec {
    /// The command name (sanitised as makes' `toDerivationName` does).
    pub name: String,
    /// More names for the same command.
    pub aliases: Vec<String>,
    /// The entrypoint text, placeholders replaced.
    pub entrypoint: String,
    /// Set up when the script starts: `bin` on `PATH`, `export`s, `source`d files.
    pub search_paths: SearchPaths,
    /// Keep `$STATE` between runs (else it starts empty).
    pub persist_state: bool,
    /// Every store path the script refers to (string contexts).
    pub context: Context,
}

pub fn reduce_script_spec(
    ev: &Evaluator,
    args: &Value,
    span: Option<Span>,
) -> Result<ScriptSpec, SpecError> {
    let f = Fields::new(ev, args, "makeScript's argument", span)?;
    f.reject_unknown("makeScript", ARGS)?;
    let mut context = Context::default();
    let required = |attr: &str| SpecError::MissingAttribute {
        function: "makeScript",
        attr: attr.into(),
        span,
    };
    let name = sanitize_derivation_name(&f.string("name")?.ok_or_else(|| required("name"))?);
    // A path entrypoint is the content of the file, as makeTemplate reads it.
    let mut entrypoint = f
        .script_text("entrypoint", &mut context)?
        .ok_or_else(|| required("entrypoint"))?;
    // The entrypoint is a makeTemplate in makes: the same placeholder rules.
    replace_placeholders(&f, &mut entrypoint, &mut context)?;
    let search_paths = match f.get("searchPaths")? {
        None | Some(Value::Null) => SearchPaths::default(),
        Some(v) => reduce_search_paths(&f, &v, &mut context)?,
    };
    let aliases = match f.get("aliases")? {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::List(items)) => {
            let mut out = Vec::new();
            for item in items.iter() {
                match item.force(ev)? {
                    Value::String(s) => out.push(sanitize_derivation_name(s.as_str())),
                    other => {
                        return Err(SpecError::WrongType {
                            attr: "aliases".into(),
                            expected: "a list of strings",
                            found: other.describe().to_owned(),
                            span: f.span_of("aliases"),
                        })
                    }
                }
            }
            out
        }
        Some(other) => {
            return Err(SpecError::WrongType {
                attr: "aliases".into(),
                expected: "a list of strings",
                found: other.describe().to_owned(),
                span: f.span_of("aliases"),
            })
        }
    };
    let persist_state = f.bool("persistState")?.unwrap_or(false);
    // Accepted as makes accepts them; they change nothing in the script here.
    f.bool("globalState")?;
    if let Some(v) = f.get("help")? {
        if !matches!(v, Value::Null | Value::String(_)) {
            return Err(SpecError::WrongType {
                attr: "help".into(),
                expected: "a string or null",
                found: v.describe().to_owned(),
                span: f.span_of("help"),
            });
        }
    }
    Ok(ScriptSpec {
        name,
        aliases,
        entrypoint,
        search_paths,
        persist_state,
        context,
    })
}
