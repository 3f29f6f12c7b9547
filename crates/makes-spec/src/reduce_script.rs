//! `reduce_script_spec`: a `makeScript` argument set (`name`, `entrypoint`, `replace`,
//! `searchPaths`, `aliases`, `persistState`, `globalState`, `help`) to a `ScriptSpec`: the
//! entrypoint with its `__argX__` placeholders replaced (text, a path, or a string naming a
//! store file: makes' `asContent`), the `makeSearchPaths` template the script sources when it
//! starts, and the help file.

use crate::error::SpecError;
use crate::reduce::Fields;
use crate::reduce_derivation::sanitize_derivation_name;
use crate::reduce_template::replace_placeholders;
use makes_eval::{CoercionMode, Context, Evaluator, Value};
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
    /// The store path of `makeSearchPaths searchPaths`, sourced (`/template`) when the script
    /// starts; `None` without search paths.
    pub search_paths: Option<String>,
    /// Keep `$STATE` between runs (else it starts empty).
    pub persist_state: bool,
    /// `STATE` under the global state directory rather than the project's (`None`: makes'
    /// default, global when the two are the same).
    pub global_state: Option<bool>,
    /// The Markdown help file (a store path or a file name), copied to `$out/README.md`.
    pub help: Option<String>,
    /// Every store path the script refers to (string contexts).
    pub context: Context,
}

/// `search_paths_template` registers `makeSearchPaths searchPaths` and returns its store path.
pub fn reduce_script_spec(
    ev: &Evaluator,
    args: &Value,
    span: Option<Span>,
    search_paths_template: &dyn Fn(&Value) -> makes_eval::Result<String>,
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
        None | Some(Value::Null) => None,
        Some(Value::Attrs(a)) if a.is_empty() => None,
        Some(v) => {
            let path = search_paths_template(&v).map_err(|e| {
                SpecError::Eval(e.note(
                    f.span_of("searchPaths"),
                    "while evaluating the attribute 'searchPaths'",
                ))
            })?;
            context.paths.insert(path.as_str().into());
            Some(path)
        }
    };
    let aliases = match f.get("aliases")? {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::List(items)) => {
            let mut out = Vec::new();
            for item in items.iter() {
                match item.force(ev)? {
                    Value::String(s) => out.push(sanitize_derivation_name(s.utf8()?)),
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
    let global_state = f.bool("globalState")?;
    let help = help_file(&f, &mut context)?;
    crate::resolve_derivation_contexts(ev, &mut context, "makeScript", span)?;
    Ok(ScriptSpec {
        name,
        aliases,
        entrypoint,
        search_paths,
        persist_state,
        global_state,
        help,
        context,
    })
}

/// makes' `help`: null, or a Markdown file (a path, copied into the store, or a string naming
/// one), checked by its suffix as makeDerivation checks it.
pub(crate) fn help_file(f: &Fields, context: &mut Context) -> Result<Option<String>, SpecError> {
    let value = match f.get("help")? {
        None | Some(Value::Null) => return Ok(None),
        Some(v @ (Value::Path(_) | Value::String(_))) => v,
        Some(other) => {
            return Err(SpecError::WrongType {
                attr: "help".into(),
                expected: "a path, a string or null",
                found: other.describe().to_owned(),
                span: f.span_of("help"),
            })
        }
    };
    let span = f.span_of("help");
    let file =
        f.ev.coerce_to_string(
            &value,
            CoercionMode::INTERPOLATION,
            span.unwrap_or(Span::none()),
        )
        .map_err(SpecError::Eval)?;
    if !file.as_bytes().to_ascii_lowercase().ends_with(b".md") {
        return Err(SpecError::Invalid {
            attr: "help".into(),
            message: format!(
                "Invalid help file: {}, must be a markdown file",
                file.lossy()
            ),
            span,
        });
    }
    file.merge_context_into(context);
    Ok(Some(file.utf8()?.to_owned()))
}
