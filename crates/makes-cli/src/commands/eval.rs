//! `makes eval`: evaluate a file or expression and print it as `nix-instantiate --eval` does
//! (`--strict`, `--json`, `--xml`, and `--raw` as `nix eval --raw`; `--arg`/`--argstr` for a top-level function, `-A` for an
//! attribute of the value; `--parse` only parses).

use crate::cli::EvalArgs;
use crate::locations;
use crate::report::Failure;
use crate::session::{eval_failure, search_path, Session};
use crate::settings::Settings;
use makes_eval::{print_value, to_xml, CoercionMode, EvalOptions, Thunk, Value};
use makes_syntax::Span;
use std::io::Write;
use std::rc::Rc;

pub fn eval(args: &EvalArgs, settings: &Settings) -> Result<(), Failure> {
    let options = EvalOptions {
        search_path: search_path(&args.include),
        system: None,
        abort_on_warn: settings.abort_on_warn,
    };
    let session = Session::open(options, crate::settings::Settings::default())?;
    let ev = &session.evaluator;
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::message(format!("cannot read the current directory: {e}")))?;
    if args.parse {
        let parsed = match (&args.expr, &args.file) {
            (Some(expr), _) => ev.parse_source("«string»", expr, &cwd),
            (None, Some(file)) => ev.parse_only(&locations::absolute(file)),
            (None, None) => ev.parse_only(&cwd.join("default.nix")),
        };
        parsed.map_err(|e| eval_failure(ev, &e))?;
        session.end_without_freeing();
        return Ok(());
    }
    let value = match (&args.expr, &args.file) {
        (Some(expr), _) => ev.eval_source("«string»", expr, &cwd),
        (None, Some(file)) => ev.eval_file(&locations::absolute(file)),
        (None, None) => ev.eval_file(&cwd.join("default.nix")),
    }
    .map_err(|e| eval_failure(ev, &e))?;
    let auto_args = auto_arguments(&args.arg, &args.argstr, &cwd);
    let value = match &args.attr {
        Some(path) => {
            select_attr_path(ev, value, path, &auto_args).map_err(|e| eval_failure(ev, &e))?
        }
        None => value,
    };
    // As nix-instantiate --eval: the value is called with the automatic arguments only when
    // some are given (a top-level function prints as `<LAMBDA>` otherwise).
    let value = if auto_args.is_empty() {
        value
    } else {
        ev.auto_call(value, &auto_args)
            .map_err(|e| eval_failure(ev, &e))?
    };
    if args.strict || args.json {
        ev.force_deep(&value).map_err(|e| eval_failure(ev, &e))?;
    }
    let text = if args.raw {
        ev.coerce_to_string(&value, CoercionMode::INTERPOLATION, Span::none())
            .map_err(|e| eval_failure(ev, &e))?
            .as_bytes()
            .to_vec()
    } else if args.json {
        let mut context = makes_eval::Context::default();
        makes_eval::to_json_text(ev, &value, &mut context).map_err(|e| eval_failure(ev, &e))?
    } else if args.xml {
        let mut context = makes_eval::Context::default();
        let xml = to_xml(ev, &value, args.strict, !args.no_location, &mut context)
            .map_err(|e| eval_failure(ev, &e))?;
        xml.trim_end_matches('\n').as_bytes().to_vec()
    } else {
        print_value(ev, &value, args.strict).map_err(|e| eval_failure(ev, &e))?
    };
    // As nix-instantiate: `--json` output has no final newline, the others end with one
    // (`--raw`, as nix eval's, has none either).
    // Bytes, not text: a string prints as its exact bytes, as nix-instantiate prints it.
    let mut text = text;
    if !args.json && !args.raw {
        text.push(b'\n');
    }
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (`makes eval ... | head`) is not an evaluation failure.
    let _ = stdout.write_all(&text).and_then(|()| stdout.flush());
    std::mem::forget(value);
    session.end_without_freeing();
    Ok(())
}

/// `-A a.b.0.c`: as nix-instantiate's attribute paths, each step calls a function with the
/// automatic arguments first; a number selects from a list.
fn select_attr_path(
    ev: &makes_eval::Evaluator,
    root: Value,
    path: &str,
    auto_args: &[(Rc<str>, Thunk)],
) -> makes_eval::Result<Value> {
    let mut value = root;
    for name in attr_path_names(path)? {
        let name = name.as_str();
        value = ev.auto_call(value, auto_args)?;
        value = match (&value, name.parse::<usize>()) {
            (Value::List(items), Ok(index)) => match items.get(index) {
                Some(item) => item.force(ev)?,
                None => {
                    return Err(makes_eval::EvalError::other(
                        format!("list index {index} in selection path '{path}' is out of range"),
                        None,
                    ))
                }
            },
            (Value::Attrs(_), Err(_)) if name.is_empty() => {
                return Err(makes_eval::EvalError::other(
                    format!("empty attribute name in selection path '{path}'"),
                    None,
                ))
            }
            (Value::Attrs(attrs), Err(_)) => match attrs.get(name) {
                Some(attr) => attr.value.force(ev)?,
                None => {
                    let mut message =
                        format!("attribute '{name}' in selection path '{path}' not found");
                    let names: Vec<String> = attrs.names().map(|n| n.to_string()).collect();
                    if let Some(suggestion) =
                        makes_eval::did_you_mean(name, names.iter().map(String::as_str))
                    {
                        message = format!("{message}\n{suggestion}");
                    }
                    return Err(makes_eval::EvalError::other(message, None));
                }
            },
            (other, index) => {
                let expected = if index.is_ok() { "a list" } else { "a set" };
                return Err(makes_eval::EvalError::other(
                    format!(
                        "the expression selected by the selection path '{path}' should be {expected} but is {}",
                        other.describe()
                    ),
                    None,
                ));
            }
        };
    }
    Ok(value)
}

/// The names of a selection path as Nix 2.8 reads them: separated by `.`, with `"..."` quoting
/// a part that holds dots (`a."example.com".b`); an empty last name is dropped.
fn attr_path_names(path: &str) -> makes_eval::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => names.push(std::mem::take(&mut current)),
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some(quoted) => current.push(quoted),
                    None => {
                        return Err(makes_eval::EvalError::other(
                            format!("missing closing quote in selection path '{path}'"),
                            None,
                        ))
                    }
                }
            },
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        names.push(current);
    }
    Ok(names)
}

/// `--arg NAME EXPR` (evaluated when used) and `--argstr NAME STRING`.
pub(crate) fn auto_arguments(
    arg: &[String],
    argstr: &[String],
    cwd: &std::path::Path,
) -> Vec<(Rc<str>, Thunk)> {
    let mut out = Vec::new();
    for pair in arg.chunks(2) {
        if let [name, expr] = pair {
            let (expr, dir) = (expr.clone(), cwd.to_path_buf());
            out.push((
                Rc::from(name.as_str()),
                Thunk::deferred(move |ev| ev.eval_source("«string»", &expr, &dir)),
            ));
        }
    }
    for pair in argstr.chunks(2) {
        if let [name, text] = pair {
            out.push((
                Rc::from(name.as_str()),
                Thunk::value(Value::string(text.as_str())),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::attr_path_names;

    #[test]
    fn selection_paths_split_at_dots_outside_quotes() {
        let names = |p: &str| attr_path_names(p).expect("a path");
        assert_eq!(names(""), Vec::<String>::new());
        assert_eq!(names("a.b.0"), ["a", "b", "0"]);
        assert_eq!(names("a.\"example.com\".b"), ["a", "example.com", "b"]);
        assert_eq!(names("a..b"), ["a", "", "b"]);
        assert_eq!(names("a."), ["a"]);
        assert!(attr_path_names("a.\"b").is_err());
    }
}
