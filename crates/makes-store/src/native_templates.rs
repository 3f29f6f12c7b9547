//! `makeTemplate` and `makeSearchPaths`: derivations holding one file, `$out/template`, whose
//! text makes-spec computes (placeholders replaced and checked, search paths as `export`
//! lines), as makes' own builders write it (`echo "$text" > $out/template`).

use crate::eval_glue::{package_value, Recipe, Recipes};
use crate::native_packages::spec;
use crate::path::derivation_output_path;
use makes_eval::{make_primop, EvalError, Evaluator, PrimOpFn, Value};
use makes_spec::{reduce_template_spec, search_paths_template_text, TemplateSpec};
use std::collections::BTreeMap;
use std::rc::Rc;

const BUILDER: &str = r#"
mkdir "$out"
printf '%s\n' "$envText" > "$out/template"
"#;

/// Registers the derivation of `template`; returns its package value and store path.
fn register_template(recipes: &Recipes, template: TemplateSpec) -> (Value, String) {
    let env = BTreeMap::from([("envText".to_owned(), template.text)]);
    let drv = spec(&template.name, BUILDER, env, template.context);
    let out = derivation_output_path(&drv);
    let name = drv.name.clone();
    recipes.insert(out.clone(), Recipe::Derivation(drv));
    (package_value(&name, &out), out.to_absolute())
}

fn search_paths(
    recipes: &Recipes,
    ev: &Evaluator,
    args: &Value,
) -> makes_eval::Result<(Value, String)> {
    let template = search_paths_template_text(ev, args, None).map_err(EvalError::from)?;
    Ok(register_template(recipes, template))
}

/// `makeTemplate` and `makeSearchPaths`, in that order.
pub fn template_functions(recipes: &Recipes) -> (Value, Value) {
    let r = recipes.clone();
    let make_search_paths: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        Ok(search_paths(&r, ev, &arg)?.0)
    });
    let r = recipes.clone();
    let make_template: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let nested = |sp: &Value| search_paths(&r, ev, sp).map(|(_, path)| path);
        let template = reduce_template_spec(ev, &arg, None, &nested)?;
        Ok(register_template(&r, template).0)
    });
    (
        make_primop("makeTemplate", 1, make_template),
        make_primop("makeSearchPaths", 1, make_search_paths),
    )
}
