//! `makeScript`: an executable `bin/<name>` (and its aliases) that runs the entrypoint under
//! bash of the default package set with makes' shell options and helper functions, after
//! setting up, as makes' scripts do when they start: `PATH` holding coreutils and the
//! `searchPaths` only, the `export`s, the `source`d files, a fresh `HOME` (the caller's in
//! `HOME_IMPURE`) and a `STATE` directory.

use crate::native_packages::{register, spec};
use makes_eval::{make_primop, CoercionMode, Context, EvalError, Evaluator, PrimOpFn, Value};
use makes_spec::{reduce_script_spec, ScriptSpec};
use makes_store::{shell_prelude, Recipes};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::rc::Rc;

/// The `makeScript` function; `packages` is the set its bash and coreutils come from.
pub fn make_script_function(recipes: &Recipes, packages: Value) -> Value {
    let recipes = recipes.clone();
    let func: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let spec_ = reduce_script_spec(ev, &arg, None)?;
        let mut context = spec_.context.clone();
        let bash = package_path(ev, &packages, "bash", &mut context)?;
        let coreutils = package_path(ev, &packages, "coreutils", &mut context)?;
        let text = script_text(&spec_, &bash, &coreutils);
        let names: Vec<&str> = std::iter::once(spec_.name.as_str())
            .chain(spec_.aliases.iter().map(String::as_str))
            .collect();
        let env = BTreeMap::from([
            ("envText".to_owned(), text),
            ("envNames".to_owned(), names.join(" ")),
            ("envAction".to_owned(), action_text(&spec_.name, &bash)),
        ]);
        let builder = r#"
mkdir -p "$out/bin"
for name in $envNames; do
  printf '%s' "$envText" > "$out/bin/$name"
  chmod +x "$out/bin/$name"
done
printf '%s' "$envAction" > "$out/makes-action.sh"
chmod +x "$out/makes-action.sh"
"#;
        Ok(register(&recipes, spec(&spec_.name, builder, env, context)))
    });
    make_primop("makeScript", 1, func)
}

/// `${packages.<name>}`, its store path joined to `context`.
fn package_path(
    ev: &Evaluator,
    packages: &Value,
    name: &str,
    context: &mut Context,
) -> makes_eval::Result<String> {
    let Value::Attrs(set) = packages else {
        return Err(EvalError::other("makeScript: no package set", None));
    };
    let attr = set.select(name).ok_or_else(|| {
        EvalError::other(
            format!("makeScript needs '{name}' of the default package set"),
            None,
        )
    })?;
    let value = attr.value.force(ev)?;
    let s = ev.coerce_to_string(
        &value,
        CoercionMode::INTERPOLATION,
        makes_syntax::Span {
            file: makes_syntax::FileId(u32::MAX),
            start: 0,
            end: 0,
        },
    )?;
    s.merge_context_into(context);
    Ok(s.as_str().to_owned())
}

/// `makes-action.sh`, which makes' makeDerivation writes for an `action` and the CLI runs
/// after the build as `makes-action.sh OUT ARGS...`; makeScript's action runs
/// `OUT/bin/<name> ARGS...`.
fn action_text(name: &str, bash: &str) -> String {
    format!(
        "#! {bash}/bin/bash\nout=\"$1\"\nshift 1\n\"$out/bin/\"{} \"$@\"\n",
        quote(name)
    )
}

/// Single-quotes a string for bash.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The script: shebang, shell options and helpers, the environment, then the entrypoint.
pub(crate) fn script_text(spec: &ScriptSpec, bash: &str, coreutils: &str) -> String {
    let mut s = format!(
        "#! {bash}/bin/bash\n# shellcheck shell=bash\n\n{}",
        shell_prelude()
    );
    // Nothing of the caller's PATH: coreutils, then the search paths (each one first, as
    // makes' makeSearchPaths prepends them in order).
    let _ = writeln!(s, "export PATH={}", quote(&format!("{coreutils}/bin")));
    for dir in &spec.search_paths.bin {
        let _ = writeln!(
            s,
            "export PATH={}\"${{PATH:+:}}${{PATH:-}}\"",
            quote(&format!("{dir}/bin"))
        );
    }
    for (var, dir, suffix) in &spec.search_paths.export {
        let _ = writeln!(
            s,
            "export {var}={}\"${{{var}:+:}}${{{var}:-}}\"",
            quote(&format!("{dir}{suffix}"))
        );
    }
    for file in &spec.search_paths.source {
        let f = quote(file);
        let _ = writeln!(
            s,
            "if test -e {f}/template; then source {f}/template; else source {f}; fi"
        );
    }
    let _ = writeln!(
        s,
        r#"export HOME_IMPURE="${{HOME_IMPURE:-${{HOME:-}}}}"
export HOME
HOME="$(mktemp -d)"
export STATE="${{HOME_IMPURE:-$HOME}}/.makes/state/{name}"
{clear}mkdir -p "${{STATE}}"
"#,
        name = spec.name,
        clear = if spec.persist_state {
            ""
        } else {
            "rm -rf \"${STATE}\"\n"
        },
    );
    s.push_str(&spec.entrypoint);
    if !spec.entrypoint.ends_with('\n') {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use makes_spec::SearchPaths;

    #[test]
    fn the_script_sets_up_its_environment_before_the_entrypoint() {
        let spec = ScriptSpec {
            name: "hello".into(),
            aliases: vec![],
            entrypoint: "info Hello \"$@\"".into(),
            search_paths: SearchPaths {
                bin: vec!["/nix/store/a-jq".into()],
                source: vec!["/nix/store/b-env".into()],
                export: vec![("PYTHONPATH".into(), "/nix/store/c-py".into(), "/lib".into())],
            },
            persist_state: false,
            context: Context::default(),
        };
        let text = script_text(&spec, "/nix/store/x-bash", "/nix/store/y-coreutils");
        assert!(text.starts_with("#! /nix/store/x-bash/bin/bash\n"));
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {text}"))
        };
        assert!(at("set -o errexit") < at("export PATH='/nix/store/y-coreutils/bin'"));
        assert!(
            at("export PATH='/nix/store/y-coreutils/bin'")
                < at("export PATH='/nix/store/a-jq/bin'")
        );
        at("export PYTHONPATH='/nix/store/c-py/lib'\"${PYTHONPATH:+:}${PYTHONPATH:-}\"");
        at("source '/nix/store/b-env'/template");
        at("rm -rf \"${STATE}\"");
        assert!(at("mkdir -p \"${STATE}\"") < at("info Hello"));
        assert!(text.ends_with("info Hello \"$@\"\n"));
    }

    #[test]
    fn the_action_runs_the_script_of_the_output_with_the_arguments() {
        assert_eq!(
            action_text("it's", "/nix/store/x-bash"),
            "#! /nix/store/x-bash/bin/bash\nout=\"$1\"\nshift 1\n\"$out/bin/\"'it'\\''s' \"$@\"\n"
        );
    }
}
