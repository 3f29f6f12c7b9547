//! `makes eval`: evaluate a file or expression and print it as `nix-instantiate --eval` does
//! (`--strict`, `--json`, `--xml`; `--arg`/`--argstr` for a top-level function).

use crate::cli::EvalArgs;
use crate::locations;
use crate::report::Failure;
use crate::session::{eval_failure, search_path, Session};
use makes_eval::{print_value, to_xml, EvalOptions, Thunk, Value};
use std::io::Write;
use std::rc::Rc;

pub fn eval(args: &EvalArgs) -> Result<(), Failure> {
    let options = EvalOptions {
        search_path: search_path(&args.include),
        system: None,
    };
    let session = Session::open(options, crate::settings::Settings::default())?;
    let ev = &session.evaluator;
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::message(format!("cannot read the current directory: {e}")))?;
    let value = match (&args.expr, &args.file) {
        (Some(expr), _) => ev.eval_source("«string»", expr, &cwd),
        (None, Some(file)) => ev.eval_file(&locations::absolute(file)),
        (None, None) => ev.eval_file(&cwd.join("default.nix")),
    }
    .map_err(|e| eval_failure(ev, &e))?;
    let auto_args = auto_arguments(&args.arg, &args.argstr, &cwd);
    let value = ev
        .auto_call(value, &auto_args)
        .map_err(|e| eval_failure(ev, &e))?;
    if args.strict || args.json {
        ev.force_deep(&value).map_err(|e| eval_failure(ev, &e))?;
    }
    let text = if args.json {
        let mut context = makes_eval::Context::default();
        makes_eval::to_json(ev, &value, &mut context)
            .map_err(|e| eval_failure(ev, &e))?
            .to_string()
            .into_bytes()
    } else if args.xml {
        let mut context = makes_eval::Context::default();
        let xml = to_xml(ev, &value, args.strict, true, &mut context)
            .map_err(|e| eval_failure(ev, &e))?;
        xml.trim_end_matches('\n').as_bytes().to_vec()
    } else {
        print_value(ev, &value, args.strict).map_err(|e| eval_failure(ev, &e))?
    };
    // As nix-instantiate: `--json` output has no final newline, the others end with one.
    // Bytes, not text: a string prints as its exact bytes, as nix-instantiate prints it.
    let mut text = text;
    if !args.json {
        text.push(b'\n');
    }
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (`makes eval ... | head`) is not an evaluation failure.
    let _ = stdout.write_all(&text).and_then(|()| stdout.flush());
    std::mem::forget(value);
    session.end_without_freeing();
    Ok(())
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
