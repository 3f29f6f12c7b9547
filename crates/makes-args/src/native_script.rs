//! `makeScript`: an executable `bin/<name>` (and its aliases) written as makes' own
//! `src/args/make-script` writes it: bash of makes' package set (`__nixpkgs__`), makes' shell
//! options and helper functions, then a `setup` that exports `SSL_CERT_FILE` (that set's
//! cacert), clears every search-path variable, puts that set's coreutils alone on `PATH`, gives
//! a fresh `HOME` (the caller's in `HOME_IMPURE`), a `STATE` directory under makes' state
//! directories (`__stateDirs__`), and sources `makeSearchPaths searchPaths`; the entrypoint
//! follows.

use crate::native_packages::{register, spec};
use crate::native_templates::{search_paths, TemplateActions};
use makes_eval::{
    make_primop, CoercionMode, Context, EvalError, Evaluator, PrimOpFn, Thunk, Value,
};
use makes_spec::{cleared_search_paths_text, reduce_script_spec, ScriptSpec};
use makes_store::{shell_prelude, Recipes};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::rc::Rc;

/// The store paths a script is made of, from makes' package set.
pub(crate) struct ScriptTools {
    pub bash: String,
    pub coreutils: String,
    pub cacert: String,
}

/// `__stateDirs__`: where `STATE` lives (shell words: they hold `$HOME_IMPURE`).
pub(crate) struct StateDirs {
    pub global: String,
    pub project: String,
}

/// The `makeScript` function; `packages` is makes' package set (bash, coreutils, cacert, and
/// glow and less for `--help`), `state_dirs` is `__stateDirs__`.
pub(crate) fn make_script_function(
    recipes: &Recipes,
    packages: Value,
    state_dirs: Thunk,
    actions: TemplateActions,
) -> Value {
    let recipes = recipes.clone();
    let func: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let sp = |v: &Value| search_paths(&recipes, actions, ev, v).map(|(_, path)| path);
        let spec_ = reduce_script_spec(ev, &arg, None, &sp)?;
        let mut context = spec_.context.clone();
        let tools = ScriptTools {
            bash: package_path(ev, &packages, "bash", &mut context)?,
            coreutils: package_path(ev, &packages, "coreutils", &mut context)?,
            cacert: package_path(ev, &packages, "cacert", &mut context)?,
        };
        let dirs = state_dirs_of(ev, &state_dirs)?;
        // makes' assertion: with one state directory for all, the state is global.
        if dirs.global == dirs.project && spec_.global_state == Some(false) {
            return Err(EvalError::other(
                format!(
                    "makeScript '{}': globalState = false needs a projectIdentifier (the project's state directory is the global one)",
                    spec_.name
                ),
                None,
            ));
        }
        let text = script_text(&spec_, &tools, &dirs);
        let names: Vec<&str> = std::iter::once(spec_.name.as_str())
            .chain(spec_.aliases.iter().map(String::as_str))
            .collect();
        let help_tools = match &spec_.help {
            Some(_) => Some(HelpTools {
                less: package_path(ev, &packages, "less", &mut context)?,
                glow: package_path(ev, &packages, "glow", &mut context)?,
            }),
            None => None,
        };
        let mut env = BTreeMap::from([
            ("envText".to_owned(), text),
            ("envNames".to_owned(), names.join(" ")),
            (
                "envAction".to_owned(),
                action_text(&spec_.name, &tools, help_tools.as_ref()),
            ),
        ]);
        if let Some(help) = &spec_.help {
            env.insert("envHelp".to_owned(), help.clone());
        }
        let builder = r#"
mkdir -p "$out/bin"
for name in $envNames; do
  printf '%s' "$envText" > "$out/bin/$name"
  chmod +x "$out/bin/$name"
done
printf '%s' "$envAction" > "$out/makes-action.sh"
chmod +x "$out/makes-action.sh"
if test -n "${envHelp:-}"; then
  cp "$envHelp" "$out/README.md"
fi
"#;
        let mut drv = spec(&spec_.name, builder, env, context)?;
        // makes builds scripts locally.
        drv.local = true;
        Ok(register(&recipes, drv))
    });
    make_primop("makeScript", 1, func)
}

/// `__stateDirs__.global` and `.project`, as strings.
fn state_dirs_of(ev: &Evaluator, state_dirs: &Thunk) -> makes_eval::Result<StateDirs> {
    let Value::Attrs(set) = state_dirs.force(ev)? else {
        return Err(EvalError::other(
            "makeScript: __stateDirs__ is not a set",
            None,
        ));
    };
    let get = |name: &str| -> makes_eval::Result<String> {
        match set.get(name).map(|a| a.value.force(ev)).transpose()? {
            Some(Value::String(s)) => Ok(s.utf8()?.to_owned()),
            _ => Err(EvalError::other(
                format!("makeScript: __stateDirs__.{name} is not a string"),
                None,
            )),
        }
    };
    Ok(StateDirs {
        global: get("global")?,
        project: get("project")?,
    })
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
            format!("makeScript needs '{name}' of makes' package set"),
            None,
        )
    })?;
    let value = attr.value.force(ev)?;
    let s = ev.coerce_to_string(
        &value,
        CoercionMode::INTERPOLATION,
        makes_syntax::Span::none(),
    )?;
    s.merge_context_into(context);
    Ok(s.utf8()?.to_owned())
}

/// What `--help` shows the help file with, as makes' action does.
pub(crate) struct HelpTools {
    pub less: String,
    pub glow: String,
}

/// `makes-action.sh`, which makes' makeDerivation writes for an `action` and the CLI runs
/// after the build as `makes-action.sh OUT ARGS...`; makeScript's action runs
/// `OUT/bin/<name> ARGS...`. With a help file, `-h`/`--help` shows it instead (glow, as
/// makes does) and a leading `--` is dropped.
fn action_text(name: &str, tools: &ScriptTools, help: Option<&HelpTools>) -> String {
    let mut s = format!("#! {}/bin/bash\nout=\"$1\"\nshift 1\n", tools.bash);
    if let Some(help) = help {
        let _ = write!(
            s,
            r#"if test -f "$out/README.md"; then
  case "${{1:-}}" in
    -h|--help)
      export LESSCHARSET=utf-8
      export PATH={path}
      glow --pager --local "$out/README.md"
      exit 0
      ;;
    --)
      shift
      ;;
  esac
fi
"#,
            path = quote(&format!(
                "{}/bin:{}/bin:{}/bin",
                tools.coreutils, help.less, help.glow
            )),
        );
    }
    let _ = writeln!(s, "\"$out/bin/\"{} \"$@\"", quote(name));
    s
}

/// Single-quotes a string for bash.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// makes' helper functions for scripts (`src/args/make-script/template.sh`).
const SCRIPT_FUNCTIONS: &str = r#"function running_in_ci_cd_provider {
  # Non-empty on Gitlab, Github, Travis
  export CI

  test -n "${CI-}"
}

function prompt_user_for_confirmation {
  local answer

  warn Please type '"CONFIRM"' to continue: \
    && if running_in_ci_cd_provider; then
      info Running on CI/CD provider, assuming you would have confirmed
    else
      read -ep '>>> ' -r answer \
        && if test "${answer}" != 'CONFIRM'; then
          critical Only CONFIRM will be accepted as an answer, aborting
        fi
    fi
}

function prompt_user_for_input {
  local answer
  local default="${1}"

  info Please type your input or press enter to use: "${default}", as response \
    && if running_in_ci_cd_provider; then
      info Running on CI/CD provider, \
        assuming you would have chosen: "${default}"
    else
      read -ep '>>> ' -r answer \
        && if test -n "${answer}"; then
          echo "${answer}"
        else
          echo "${default}"
        fi
    fi
}
"#;

/// The shell options and helper functions (`info`, `critical`, ...) every makes script
/// starts with: what a script sourced by one (a deploy job's `setup`) may use.
pub fn script_prelude() -> String {
    format!("{}\n{SCRIPT_FUNCTIONS}", shell_prelude())
}

/// The script: shebang, shell options and helpers, makes' `setup`, then the entrypoint.
pub(crate) fn script_text(spec: &ScriptSpec, tools: &ScriptTools, dirs: &StateDirs) -> String {
    let mut s = format!(
        "#! {}/bin/bash\n\n# shellcheck shell=bash\n\n{}\n{SCRIPT_FUNCTIONS}\nfunction setup {{\n",
        tools.bash,
        shell_prelude()
    );
    let global = spec.global_state.unwrap_or(dirs.global == dirs.project);
    let state_dir = if global { &dirs.global } else { &dirs.project };
    let _ = write!(
        s,
        r#"  export HOME
  export HOME_IMPURE
  export SSL_CERT_FILE={cert}
  export STATE

"#,
        cert = quote(&format!("{}/etc/ssl/certs/ca-bundle.crt", tools.cacert)),
    );
    for line in cleared_search_paths_text().lines() {
        let _ = writeln!(s, "  {line}");
    }
    // The state directory is shell text, as makes substitutes it: `$HOME_IMPURE` expands.
    let _ = write!(
        s,
        r#"  export PATH={path}
  if test -z "${{HOME_IMPURE-}}"; then
    HOME_IMPURE="${{HOME-}}"
    HOME="$(mktemp -d)"
  fi
  STATE="{state_dir}/{name}"
{clear}  mkdir -p "${{STATE}}"
"#,
        path = quote(&format!("{}/bin", tools.coreutils)),
        name = spec.name,
        clear = if spec.persist_state {
            ""
        } else {
            "  rm -rf \"${STATE}\"\n"
        },
    );
    if let Some(sp) = &spec.search_paths {
        let _ = writeln!(s, "  source {}/template", quote(sp));
    }
    s.push_str("}\n\nsetup\n\n");
    s.push_str(&spec.entrypoint);
    if !spec.entrypoint.ends_with('\n') {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools() -> ScriptTools {
        ScriptTools {
            bash: "/nix/store/x-bash".into(),
            coreutils: "/nix/store/y-coreutils".into(),
            cacert: "/nix/store/z-cacert".into(),
        }
    }

    fn script(global_state: Option<bool>, persist_state: bool) -> ScriptSpec {
        ScriptSpec {
            name: "hello".into(),
            aliases: vec![],
            entrypoint: "info Hello \"$@\"".into(),
            search_paths: Some("/nix/store/a-make-search-paths".into()),
            persist_state,
            global_state,
            help: None,
            context: Context::default(),
        }
    }

    const DIRS: StateDirs = StateDirs {
        global: String::new(),
        project: String::new(),
    };

    #[test]
    fn the_script_sets_up_its_environment_before_the_entrypoint() {
        let dirs = StateDirs {
            global: "$HOME_IMPURE/.cache/makes/state".into(),
            project: "$HOME_IMPURE/.cache/makes/state/proj".into(),
        };
        let text = script_text(&script(None, false), &tools(), &dirs);
        assert!(text.starts_with("#! /nix/store/x-bash/bin/bash\n"));
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {text}"))
        };
        at("export SSL_CERT_FILE='/nix/store/z-cacert/etc/ssl/certs/ca-bundle.crt'");
        assert!(at("set -o errexit") < at("export PATH='/nix/store/y-coreutils/bin'"));
        assert!(at("export PYTHONPATH=\"/not-set\"") < at("export PATH='/nix/store/y-"));
        assert!(
            at("export PATH='/nix/store/y-coreutils/bin'")
                < at("source '/nix/store/a-make-search-paths'/template")
        );
        at("STATE=\"$HOME_IMPURE/.cache/makes/state/proj/hello\"");
        at("rm -rf \"${STATE}\"");
        assert!(at("mkdir -p \"${STATE}\"") < at("info Hello"));
        assert!(at("\nsetup\n") < at("info Hello"));
        assert!(text.ends_with("info Hello \"$@\"\n"));
    }

    #[test]
    fn state_is_global_when_asked_or_when_there_is_one_directory() {
        let dirs = StateDirs {
            global: "G".into(),
            project: "P".into(),
        };
        let text = script_text(&script(Some(true), true), &tools(), &dirs);
        assert!(text.contains("STATE=\"G/hello\""), "{text}");
        assert!(!text.contains("rm -rf"), "persistState keeps it");
        let text = script_text(&script(None, false), &tools(), &DIRS);
        assert!(text.contains("STATE=\"/hello\""), "{text}");
    }

    #[test]
    fn the_action_runs_the_script_of_the_output_with_the_arguments() {
        assert_eq!(
            action_text("it's", &tools(), None),
            "#! /nix/store/x-bash/bin/bash\nout=\"$1\"\nshift 1\n\"$out/bin/\"'it'\\''s' \"$@\"\n"
        );
        let with_help = action_text(
            "x",
            &tools(),
            Some(&HelpTools {
                less: "/nix/store/l-less".into(),
                glow: "/nix/store/g-glow".into(),
            }),
        );
        assert!(with_help.contains("glow --pager --local \"$out/README.md\""));
        assert!(with_help
            .contains("'/nix/store/y-coreutils/bin:/nix/store/l-less/bin:/nix/store/g-glow/bin'"));
    }
}
