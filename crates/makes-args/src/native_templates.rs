//! `makeTemplate` and `makeSearchPaths`: derivations holding one file, `$out/template`, whose
//! text makes-spec computes (placeholders replaced and checked, search paths as `export`
//! lines), as makes' own builders write it (`echo "$text" > $out/template`).

use crate::native_packages::spec;
use crate::store_functions::package_value;
use makes_eval::{make_primop, EvalError, Evaluator, PrimOpFn, Value};
use makes_spec::{reduce_template_spec, search_paths_template_text, Release, TemplateSpec};
use makes_store::{derivation_output_path, Recipe, Recipes};
use std::collections::BTreeMap;
use std::rc::Rc;

const BUILDER: &str = r#"
mkdir "$out"
printf '%s\n' "$envText" > "$out/template"
if test -n "${envAction:-}"; then
  printf '%s' "$envAction" > "$out/makes-action.sh"
  chmod +x "$out/makes-action.sh"
fi
"#;

/// The action makes (22.05 on) gives a template with `withAction`: run as `makes-action.sh
/// OUT ARGS...`, it prints the template on stderr. makes writes it for nixpkgs' bash; it is
/// plain POSIX shell, so the host's `/bin/sh` runs it here and a template needs no package.
const ACTION: &str = "#!/bin/sh\ncat \"$1/template\" 1>&2\n";

/// Whether templates get makes' action: the release's rule (22.05 on).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TemplateActions(pub bool);

impl TemplateActions {
    pub(crate) fn of(release: Release) -> TemplateActions {
        TemplateActions(release >= Release::new(22, 5))
    }
}

/// Registers the derivation of `template`; returns its package value and store path.
fn register_template(
    recipes: &Recipes,
    actions: TemplateActions,
    template: TemplateSpec,
) -> makes_eval::Result<(Value, String)> {
    let mut env = BTreeMap::from([("envText".to_owned(), template.text)]);
    if actions.0 && template.with_action {
        env.insert("envAction".to_owned(), ACTION.to_owned());
    }
    let drv = spec(&template.name, BUILDER, env, template.context)?;
    let out = derivation_output_path(&drv);
    let name = drv.name.clone();
    recipes.insert(out.clone(), Recipe::Derivation(drv));
    Ok((package_value(&name, &out), out.to_absolute()))
}

pub(crate) fn search_paths(
    recipes: &Recipes,
    actions: TemplateActions,
    ev: &Evaluator,
    args: &Value,
) -> makes_eval::Result<(Value, String)> {
    let template = search_paths_template_text(ev, args, None).map_err(EvalError::from)?;
    register_template(recipes, actions, template)
}

/// `toFileJson NAME VALUE`: a file holding `builtins.toJSON VALUE`, built as makes builds it
/// (a local makeDerivation copying an `envFiles` entry to `$out`).
pub fn to_file_json_function(recipes: &Recipes) -> Value {
    let r = recipes.clone();
    let func: PrimOpFn = Rc::new(move |ev, args| {
        let name = match args[0].force(ev)? {
            Value::String(s) => s.utf8()?.to_owned(),
            other => return Err(EvalError::type_error("a string", &other, None)),
        };
        let value = args[1].force(ev)?;
        let mut context = makes_eval::Context::default();
        let json = String::from_utf8(makes_eval::to_json_text(ev, &value, &mut context)?).map_err(
            |_| {
                EvalError::other(
                    format!("toFileJson '{name}': a string of the value is not UTF-8"),
                    None,
                )
            },
        )?;
        let mut drv = spec(
            &name,
            "cp \"$envAllPath\" \"$out\"\n",
            BTreeMap::new(),
            context,
        )?;
        drv.env_files.insert("envAll".to_owned(), json);
        drv.local = true;
        let out = derivation_output_path(&drv);
        let name = drv.name.clone();
        r.insert(out.clone(), Recipe::Derivation(drv));
        Ok(package_value(&name, &out))
    });
    make_primop("toFileJson", 2, func)
}

/// `makeTemplate` and `makeSearchPaths`, in that order.
pub(crate) fn template_functions(recipes: &Recipes, actions: TemplateActions) -> (Value, Value) {
    let r = recipes.clone();
    let make_search_paths: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        Ok(search_paths(&r, actions, ev, &arg)?.0)
    });
    let r = recipes.clone();
    let make_template: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let nested = |sp: &Value| search_paths(&r, actions, ev, sp).map(|(_, path)| path);
        let template = reduce_template_spec(ev, &arg, None, &nested)?;
        Ok(register_template(&r, actions, template)?.0)
    });
    (
        make_primop("makeTemplate", 1, make_template),
        make_primop("makeSearchPaths", 1, make_search_paths),
    )
}
