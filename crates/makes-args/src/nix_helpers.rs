//! makes' pure helpers, written in Nix (`nix/args/helpers.nix`, with makes' shell templates
//! beside it) and evaluated by makes' own evaluator with the other arguments in scope, as
//! makes evaluates its own `src/args`.

use makes_eval::{Attrs, EvalError, Thunk, Value};
use makes_spec::Release;
use makes_syntax::{FileId, Span};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

const HELPERS: &str = include_str!("../../../nix/args/helpers.nix");

/// `(name in helpers.nix, makes' template)`.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "libGit",
        include_str!("../../../nix/args/templates/lib-git.sh"),
    ),
    (
        "makeEnvVars",
        include_str!("../../../nix/args/templates/make-env-vars.sh"),
    ),
    (
        "managePorts",
        include_str!("../../../nix/args/templates/manage-ports.sh"),
    ),
    (
        "makeScriptParallel",
        include_str!("../../../nix/args/templates/make-script-parallel.sh"),
    ),
    (
        "makeSslCertificate",
        include_str!("../../../nix/args/templates/make-ssl-certificate.sh"),
    ),
    (
        "patchShebangs",
        include_str!("../../../nix/args/templates/patch-shebangs.sh"),
    ),
    (
        "shellCommands",
        include_str!("../../../nix/args/templates/shell-commands.sh"),
    ),
    (
        "shellOptions",
        include_str!("../../../nix/args/templates/shell-options.sh"),
    ),
    (
        "toBashArray",
        include_str!("../../../nix/args/templates/to-bash-array.sh"),
    ),
    (
        "toBashMap",
        include_str!("../../../nix/args/templates/to-bash-map.sh"),
    ),
    (
        "toFileJsonFromFileYaml",
        include_str!("../../../nix/args/templates/to-file-json-from-file-yaml.sh"),
    ),
];

/// The helpers' set, evaluated once when first used. `this` holds the finished arguments.
pub(crate) fn helpers(
    this: Rc<RefCell<Option<Rc<Attrs>>>>,
    release: Release,
    project_dir: &Path,
) -> Thunk {
    let base: PathBuf = project_dir.to_path_buf();
    Thunk::deferred(move |ev| {
        let function = ev.eval_source("<makes>/nix/args/helpers.nix", HELPERS, &base)?;
        let mut templates = Attrs::new();
        for (name, text) in TEMPLATES {
            templates.insert(*name, Thunk::value(Value::string(*text)), None);
        }
        let mut arg = Attrs::new();
        let this = this.borrow().clone().unwrap_or_default();
        arg.insert("self", Thunk::value(Value::Attrs(this)), None);
        arg.insert(
            "release",
            Thunk::value(Value::string(release.to_string())),
            None,
        );
        arg.insert(
            "templates",
            Thunk::value(Value::Attrs(Rc::new(templates))),
            None,
        );
        let no_span = Span {
            file: FileId(u32::MAX),
            start: 0,
            end: 0,
        };
        ev.apply(&function, Thunk::value(Value::Attrs(Rc::new(arg))), no_span)
    })
}

/// The helper `name` of `helpers`.
pub(crate) fn select(helpers: &Thunk, name: &'static str) -> Thunk {
    let helpers = helpers.clone();
    Thunk::deferred(move |ev| match helpers.force(ev)? {
        Value::Attrs(set) => match set.get(name) {
            Some(attr) => attr.value.force(ev),
            None => Err(EvalError::other(
                format!("nix/args/helpers.nix does not define '{name}'"),
                None,
            )),
        },
        other => Err(EvalError::type_error("a set", &other, None)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Provider, ARGUMENTS};
    use makes_eval::{DiskIo, EvalOptions, Evaluator};

    #[test]
    fn helpers_nix_defines_every_argument_the_table_gives_it() {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let this: Rc<RefCell<Option<Rc<Attrs>>>> = Rc::default();
        let helpers = helpers(this, Release::LATEST, Path::new("/"));
        let Ok(Value::Attrs(set)) = helpers.force(&ev) else {
            panic!("helpers.nix gives a set");
        };
        for a in ARGUMENTS.iter().filter(|a| a.provider == Provider::Nix) {
            assert!(set.contains(a.name), "{} is not in helpers.nix", a.name);
        }
        for name in set.names() {
            let row = ARGUMENTS.iter().find(|a| *a.name == **name);
            assert_eq!(row.map(|a| a.provider), Some(Provider::Nix), "{name}");
        }
    }
}
