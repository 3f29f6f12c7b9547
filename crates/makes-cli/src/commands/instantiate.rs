//! `makes instantiate`: the derivations a Nix file or expression evaluates to, instantiated as
//! `nix-instantiate` does (their `.drv` paths printed, one a line), without Nix and without
//! writing `/nix/store`: `--drv-dir` writes the `.drv` texts elsewhere, `--realise` builds them
//! with makes' store and sandbox and prints their output paths.

use crate::cli::InstantiateArgs;
use crate::commands::eval::auto_arguments;
use crate::locations;
use crate::report::Failure;
use crate::session::{eval_failure, search_path, Session};
use crate::settings::Settings;
use makes_eval::{EvalOptions, Evaluator, Value};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

pub fn instantiate(args: &InstantiateArgs, settings: &Settings) -> Result<(), Failure> {
    let options = EvalOptions {
        search_path: search_path(&args.include),
        system: None,
        abort_on_warn: settings.abort_on_warn,
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
    let value = ev
        .auto_call(value, &auto_arguments(&args.arg, &args.argstr, &cwd))
        .map_err(|e| eval_failure(ev, &e))?;
    let drv_paths = top_level_drv_paths(ev, &value).map_err(|e| eval_failure(ev, &e))?;
    if let Some(dir) = &args.drv_dir {
        write_drv_files(&session, &drv_paths, dir)?;
    }
    let lines = if args.realise {
        makes_derivation::realise(&session.fetchers, &session.derivations, &drv_paths)?
    } else {
        drv_paths
    };
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        // A closed stdout is not a failure of the instantiation.
        let _ = writeln!(stdout, "{line}");
    }
    session.end_without_freeing();
    Ok(())
}

/// The `.drv` paths of the value's derivations, as nix-instantiate finds them: the value
/// itself, or the elements of a list, or the attributes of a set.
fn top_level_drv_paths(ev: &Evaluator, value: &Value) -> makes_eval::Result<Vec<String>> {
    let mut out = Vec::new();
    if let Some(path) = drv_path(ev, value)? {
        out.push(path);
        return Ok(out);
    }
    match value {
        Value::List(items) => {
            for item in items.iter() {
                out.extend(drv_path(ev, &item.force(ev)?)?);
            }
        }
        Value::Attrs(attrs) => {
            for (_, attr) in attrs.iter() {
                out.extend(drv_path(ev, &attr.value.force(ev)?)?);
            }
        }
        _ => {}
    }
    Ok(out)
}

fn drv_path(ev: &Evaluator, value: &Value) -> makes_eval::Result<Option<String>> {
    let Value::Attrs(attrs) = value else {
        return Ok(None);
    };
    let is_derivation = match attrs.select("type") {
        Some(t) => matches!(t.value.force(ev)?, Value::String(s) if s.as_bytes() == b"derivation"),
        None => false,
    };
    if !is_derivation {
        return Ok(None);
    }
    let Some(path) = attrs.select("drvPath") else {
        return Ok(None);
    };
    match path.value.force(ev)? {
        Value::String(s) => Ok(Some(s.utf8()?.to_owned())),
        other => Err(makes_eval::EvalError::type_error("a string", &other, None)),
    }
}

/// Writes each derivation's `.drv` file and those of its input derivations into `dir`,
/// named by their store path's base name.
fn write_drv_files(session: &Session, roots: &[String], dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::message(format!("cannot create {}: {e}", dir.display())))?;
    let mut seen = BTreeSet::new();
    let mut pending: Vec<String> = roots.to_vec();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let Some(drv) = session.derivations.get(&path) else {
            return Err(Failure::message(format!(
                "the derivation '{path}' was not instantiated by this evaluation"
            )));
        };
        pending.extend(drv.input_drvs.keys().cloned());
        let base = path.rsplit('/').next().unwrap_or(&path);
        let target = dir.join(base);
        std::fs::write(&target, drv.unparse(false, None))
            .map_err(|e| Failure::message(format!("cannot write {}: {e}", target.display())))?;
    }
    Ok(())
}
