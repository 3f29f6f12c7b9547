//! `makes eval`: evaluate a file or expression and print it as `nix-instantiate --eval` does.

use crate::cli::EvalArgs;
use crate::locations;
use crate::report::Failure;
use crate::session::{eval_failure, search_path, Session};
use makes_eval::{print_value, EvalOptions};

pub fn eval(args: &EvalArgs) -> Result<(), Failure> {
    let options = EvalOptions {
        search_path: search_path(&args.include),
        system: None,
    };
    let session = Session::open(options)?;
    let ev = &session.evaluator;
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::message(format!("cannot read the current directory: {e}")))?;
    let value = match (&args.expr, &args.file) {
        (Some(expr), _) => ev.eval_source("«string»", expr, &cwd),
        (None, Some(file)) => ev.eval_file(&locations::absolute(file)),
        (None, None) => ev.eval_file(&cwd.join("default.nix")),
    }
    .map_err(|e| eval_failure(ev, &e))?;
    if args.strict || args.json {
        ev.force_deep(&value).map_err(|e| eval_failure(ev, &e))?;
    }
    let text = if args.json {
        let mut context = makes_eval::Context::default();
        makes_eval::to_json(ev, &value, &mut context)
            .map_err(|e| eval_failure(ev, &e))?
            .to_string()
    } else {
        print_value(ev, &value, args.strict).map_err(|e| eval_failure(ev, &e))?
    };
    println!("{text}");
    Ok(())
}
