//! makes' helpers written in Nix (`nix/args/*.nix`, with makes' shell templates beside them)
//! and evaluated by makes' own evaluator with the other arguments in scope, as makes evaluates
//! its own `src/args`. Each file is a function `{ self, release, templates }: { NAME = ...; }`;
//! the arguments are the union of their sets (a name defined twice is an error).

use makes_eval::AttrSet;
use makes_eval::{Attrs, EvalError, Thunk, Value};
use makes_spec::Release;
use makes_syntax::Span;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// `(name shown in errors, text)` of each file of Nix-written arguments.
const SOURCES: &[(&str, &str)] = &[
    (
        "<makes>/nix/args/helpers.nix",
        include_str!("../../../nix/args/helpers.nix"),
    ),
    (
        "<makes>/nix/args/deploy.nix",
        include_str!("../../../nix/args/deploy.nix"),
    ),
    (
        "<makes>/nix/args/python.nix",
        include_str!("../../../nix/args/python.nix"),
    ),
    (
        "<makes>/nix/args/secrets.nix",
        include_str!("../../../nix/args/secrets.nix"),
    ),
    (
        "<makes>/nix/args/terraform.nix",
        include_str!("../../../nix/args/terraform.nix"),
    ),
    (
        "<makes>/nix/args/ruby.nix",
        include_str!("../../../nix/args/ruby.nix"),
    ),
    (
        "<makes>/nix/args/nodejs.nix",
        include_str!("../../../nix/args/nodejs.nix"),
    ),
    (
        "<makes>/nix/args/fetch-gitlab.nix",
        include_str!("../../../nix/args/fetch-gitlab.nix"),
    ),
    (
        "<makes>/nix/args/modules.nix",
        include_str!("../../../nix/args/modules.nix"),
    ),
    (
        "<makes>/nix/args/python-checks.nix",
        include_str!("../../../nix/args/python-checks.nix"),
    ),
    (
        "<makes>/nix/args/python-poetry.nix",
        include_str!("../../../nix/args/python-poetry.nix"),
    ),
    (
        "<makes>/nix/args/builders.nix",
        include_str!("../../../nix/args/builders.nix"),
    ),
];

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
    (
        "deployContainer",
        include_str!("../../../nix/args/templates/deploy-container.sh"),
    ),
    (
        "deployContainer2402",
        include_str!("../../../nix/args/templates/deploy-container-24.02.sh"),
    ),
    (
        "deployContainerImage2204",
        include_str!("../../../nix/args/templates/deploy-container-image-22.04.sh"),
    ),
    (
        "deployContainerImage2304",
        include_str!("../../../nix/args/templates/deploy-container-image-23.04.sh"),
    ),
    (
        "deployContainerManifest",
        include_str!("../../../nix/args/templates/deploy-container-manifest.sh"),
    ),
    (
        "makePythonPypiEnvironment",
        include_str!("../../../nix/args/templates/python-pypi-environment.sh"),
    ),
    (
        "pythonVscodeSettings",
        include_str!("../../../nix/args/templates/python-vscode-settings.sh"),
    ),
    (
        "pythonVscodeSettingsPy",
        include_str!("../../../nix/args/templates/python-vscode-settings.py"),
    ),
    (
        "pythonPyprojectCheckTests",
        include_str!("../../../nix/args/templates/python-pyproject-check-tests.sh"),
    ),
    (
        "pythonPyprojectCheckTypes",
        include_str!("../../../nix/args/templates/python-pyproject-check-types.sh"),
    ),
    (
        "pythonNumpy_1_21_2_37",
        include_str!("../../../nix/args/templates/python-numpy-1.21.2-37.yaml"),
    ),
    (
        "pythonNumpy_1_21_2_38",
        include_str!("../../../nix/args/templates/python-numpy-1.21.2-38.yaml"),
    ),
    (
        "pythonNumpy_1_21_2_39",
        include_str!("../../../nix/args/templates/python-numpy-1.21.2-39.yaml"),
    ),
    (
        "pythonNumpy_1_24_0_38",
        include_str!("../../../nix/args/templates/python-numpy-1.24.0-38.yaml"),
    ),
    (
        "pythonNumpy_1_24_0_39",
        include_str!("../../../nix/args/templates/python-numpy-1.24.0-39.yaml"),
    ),
    (
        "pythonNumpy_1_24_0_310",
        include_str!("../../../nix/args/templates/python-numpy-1.24.0-310.yaml"),
    ),
    (
        "pythonNumpy_1_24_0_311",
        include_str!("../../../nix/args/templates/python-numpy-1.24.0-311.yaml"),
    ),
    (
        "makeSecretForEnvFromSops",
        include_str!("../../../nix/args/templates/make-secret-for-env-from-sops.sh"),
    ),
    (
        "makeSecretForAwsFromEnv",
        include_str!("../../../nix/args/templates/make-secret-for-aws-from-env.sh"),
    ),
    (
        "makeSecretForAwsFromGitlab",
        include_str!("../../../nix/args/templates/make-secret-for-aws-from-gitlab.sh"),
    ),
    (
        "makeSecretForGpgFromEnv",
        include_str!("../../../nix/args/templates/make-secret-for-gpg-from-env.sh"),
    ),
    (
        "makeSecretForKubernetesConfigFromAws",
        include_str!("../../../nix/args/templates/make-secret-for-kubernetes-config-from-aws.sh"),
    ),
    (
        "makeSecretForNomadFromEnv",
        include_str!("../../../nix/args/templates/make-secret-for-nomad-from-env.sh"),
    ),
    (
        "makeSecretForTerraformFromEnv",
        include_str!("../../../nix/args/templates/make-secret-for-terraform-from-env.sh"),
    ),
    (
        "makeEnvVarsForTerraform",
        include_str!("../../../nix/args/templates/make-env-vars-for-terraform.sh"),
    ),
    (
        "makeWorkspaceForTerraformFromEnv",
        include_str!("../../../nix/args/templates/make-workspace-for-terraform-from-env.sh"),
    ),
    (
        "makeRubyGemsInstall",
        include_str!("../../../nix/args/templates/make-ruby-gems-install.sh"),
    ),
    (
        "makeNodeJsModules",
        include_str!("../../../nix/args/templates/make-node-js-modules.sh"),
    ),
    (
        "computeOnAwsBatch2110",
        include_str!("../../../nix/args/templates/builders-compute-on-aws-batch-21.10.sh"),
    ),
    (
        "computeOnAwsBatch2111",
        include_str!("../../../nix/args/templates/builders-compute-on-aws-batch-21.11.sh"),
    ),
    (
        "computeOnAwsBatch2205",
        include_str!("../../../nix/args/templates/builders-compute-on-aws-batch-22.05.sh"),
    ),
    (
        "computeOnAwsBatch2211",
        include_str!("../../../nix/args/templates/builders-compute-on-aws-batch-22.11.sh"),
    ),
    (
        "computeOnAwsBatch",
        include_str!("../../../nix/args/templates/builders-compute-on-aws-batch.sh"),
    ),
    (
        "makeDynamoDb",
        include_str!("../../../nix/args/templates/builders-make-dynamodb.sh"),
    ),
    (
        "calculateCvss3",
        include_str!("../../../nix/args/templates/builders-calculate-cvss-3.sh"),
    ),
    (
        "calculateCvss3Py",
        include_str!("../../../nix/args/templates/builders-calculate-cvss-3.py"),
    ),
    (
        "calculateCvss3Python38",
        include_str!("../../../nix/args/templates/builders-calculate-cvss-3-21.09.yaml"),
    ),
    (
        "calculateCvss3Python311",
        include_str!("../../../nix/args/templates/builders-calculate-cvss-3-22.11.yaml"),
    ),
    (
        "calculateCvss3Pyproject",
        include_str!("../../../nix/args/templates/builders-calculate-cvss-3-pyproject.toml"),
    ),
    (
        "calculateCvss3PoetryLock",
        include_str!("../../../nix/args/templates/builders-calculate-cvss-3-poetry.lock"),
    ),
    (
        "deployNomad",
        include_str!("../../../nix/args/templates/builders-deploy-nomad.sh"),
    ),
    (
        "secureKubernetesWithRbacPolice",
        include_str!("../../../nix/args/templates/builders-secure-kubernetes-with-rbac-police.sh"),
    ),
    (
        "secureNixWithVulnix",
        include_str!("../../../nix/args/templates/builders-secure-nix-with-vulnix.sh"),
    ),
    (
        "testPullRequest",
        include_str!("../../../nix/args/templates/builders-test-pull-request.sh"),
    ),
    (
        "testPullRequestPackage",
        include_str!("../../../nix/args/templates/builders-test-pull-request-package.json"),
    ),
    (
        "testPullRequestPackageLock",
        include_str!("../../../nix/args/templates/builders-test-pull-request-package-lock.json"),
    ),
    (
        "batchClient2401/batch_client/__init__.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/__init__.py"),
    ),
    (
        "batchClient2401/batch_client/_cli.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/_cli.py"),
    ),
    (
        "batchClient2401/batch_client/_logger.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/_logger.py"),
    ),
    (
        "batchClient2401/batch_client/actions.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/actions.py"),
    ),
    (
        "batchClient2401/batch_client/core.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/core.py"),
    ),
    (
        "batchClient2401/batch_client/decode.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/decode.py"),
    ),
    (
        "batchClient2401/batch_client/py.typed",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/py.typed"),
    ),
    (
        "batchClient2401/batch_client/utils.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/utils.py"),
    ),
    (
        "batchClient2401/batch_client/api/__init__.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/api/__init__.py"),
    ),
    (
        "batchClient2401/batch_client/api/_core.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/api/_core.py"),
    ),
    (
        "batchClient2401/batch_client/api/_client_1/__init__.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/api/_client_1/__init__.py"),
    ),
    (
        "batchClient2401/batch_client/api/_client_1/_list_jobs.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/api/_client_1/_list_jobs.py"),
    ),
    (
        "batchClient2401/batch_client/api/_client_1/_send_job.py",
        include_str!("../../../nix/args/templates/builders-batch-client-24.01/batch_client/api/_client_1/_send_job.py"),
    ),
    (
        "batchClient2307/batch_client/_cli.py",
        include_str!("../../../nix/args/templates/builders-batch-client-23.07/batch_client/_cli.py"),
    ),
    (
        "batchClient2307/batch_client/actions.py",
        include_str!("../../../nix/args/templates/builders-batch-client-23.07/batch_client/actions.py"),
    ),
    (
        "batchClient2307/batch_client/core.py",
        include_str!("../../../nix/args/templates/builders-batch-client-23.07/batch_client/core.py"),
    ),
    (
        "batchClient2307/batch_client/decode.py",
        include_str!("../../../nix/args/templates/builders-batch-client-23.07/batch_client/decode.py"),
    ),
    (
        "batchClientSources",
        include_str!("../../../nix/args/templates/builders-batch-client-sources.yaml"),
    ),
    (
        "modules/ajv-cli-package-lock.json",
        include_str!("../../../nix/modules/templates/ajv-cli-package-lock.json"),
    ),
    (
        "modules/ajv-cli-package.json",
        include_str!("../../../nix/modules/templates/ajv-cli-package.json"),
    ),
    (
        "modules/calculate-scorecard.sh",
        include_str!("../../../nix/modules/templates/calculate-scorecard.sh"),
    ),
    (
        "modules/commitlint-package-lock.json",
        include_str!("../../../nix/modules/templates/commitlint-package-lock.json"),
    ),
    (
        "modules/commitlint-package.json",
        include_str!("../../../nix/modules/templates/commitlint-package.json"),
    ),
    (
        "modules/deploy-terraform.sh",
        include_str!("../../../nix/modules/templates/deploy-terraform.sh"),
    ),
    (
        "modules/format-bash.sh",
        include_str!("../../../nix/modules/templates/format-bash.sh"),
    ),
    (
        "modules/format-javascript-prettierrc.yaml",
        include_str!("../../../nix/modules/templates/format-javascript-prettierrc.yaml"),
    ),
    (
        "modules/format-javascript.sh",
        include_str!("../../../nix/modules/templates/format-javascript.sh"),
    ),
    (
        "modules/format-markdown.sh",
        include_str!("../../../nix/modules/templates/format-markdown.sh"),
    ),
    (
        "modules/format-nix-alejandra.sh",
        include_str!("../../../nix/modules/templates/format-nix-alejandra.sh"),
    ),
    (
        "modules/format-nix-nixpkgs-fmt.sh",
        include_str!("../../../nix/modules/templates/format-nix-nixpkgs-fmt.sh"),
    ),
    (
        "modules/format-nix.sh",
        include_str!("../../../nix/modules/templates/format-nix.sh"),
    ),
    (
        "modules/format-python-black.toml",
        include_str!("../../../nix/modules/templates/format-python-black.toml"),
    ),
    (
        "modules/format-python-isort.toml",
        include_str!("../../../nix/modules/templates/format-python-isort.toml"),
    ),
    (
        "modules/format-python.sh",
        include_str!("../../../nix/modules/templates/format-python.sh"),
    ),
    (
        "modules/format-scala.sh",
        include_str!("../../../nix/modules/templates/format-scala.sh"),
    ),
    (
        "modules/format-terraform.sh",
        include_str!("../../../nix/modules/templates/format-terraform.sh"),
    ),
    (
        "modules/format-yaml.sh",
        include_str!("../../../nix/modules/templates/format-yaml.sh"),
    ),
    (
        "modules/lint-bash.sh",
        include_str!("../../../nix/modules/templates/lint-bash.sh"),
    ),
    (
        "modules/lint-clojure.sh",
        include_str!("../../../nix/modules/templates/lint-clojure.sh"),
    ),
    (
        "modules/lint-git-commit-msg-config.js",
        include_str!("../../../nix/modules/templates/lint-git-commit-msg-config.js"),
    ),
    (
        "modules/lint-git-commit-msg-parser.js",
        include_str!("../../../nix/modules/templates/lint-git-commit-msg-parser.js"),
    ),
    (
        "modules/lint-git-commit-msg.sh",
        include_str!("../../../nix/modules/templates/lint-git-commit-msg.sh"),
    ),
    (
        "modules/lint-git-mailmap.sh",
        include_str!("../../../nix/modules/templates/lint-git-mailmap.sh"),
    ),
    (
        "modules/lint-markdown-config.rb",
        include_str!("../../../nix/modules/templates/lint-markdown-config.rb"),
    ),
    (
        "modules/lint-markdown-rulesets.rb",
        include_str!("../../../nix/modules/templates/lint-markdown-rulesets.rb"),
    ),
    (
        "modules/lint-markdown.sh",
        include_str!("../../../nix/modules/templates/lint-markdown.sh"),
    ),
    (
        "modules/lint-nix.sh",
        include_str!("../../../nix/modules/templates/lint-nix.sh"),
    ),
    (
        "modules/lint-python-mypy.cfg",
        include_str!("../../../nix/modules/templates/lint-python-mypy.cfg"),
    ),
    (
        "modules/lint-python-prospector.yaml",
        include_str!("../../../nix/modules/templates/lint-python-prospector.yaml"),
    ),
    (
        "modules/lint-terraform-config.hcl",
        include_str!("../../../nix/modules/templates/lint-terraform-config.hcl"),
    ),
    (
        "modules/lint-terraform.sh",
        include_str!("../../../nix/modules/templates/lint-terraform.sh"),
    ),
    (
        "modules/lint-with-ajv.sh",
        include_str!("../../../nix/modules/templates/lint-with-ajv.sh"),
    ),
    (
        "modules/lint-with-lizard.sh",
        include_str!("../../../nix/modules/templates/lint-with-lizard.sh"),
    ),
    (
        "modules/pipeline-job.sh",
        include_str!("../../../nix/modules/templates/pipeline-job.sh"),
    ),
    (
        "modules/pipeline-on-gitlab.sh",
        include_str!("../../../nix/modules/templates/pipeline-on-gitlab.sh"),
    ),
    (
        "modules/pipeline.sh",
        include_str!("../../../nix/modules/templates/pipeline.sh"),
    ),
    (
        "modules/secure-python-with-bandit.sh",
        include_str!("../../../nix/modules/templates/secure-python-with-bandit.sh"),
    ),
    (
        "modules/taint-terraform.sh",
        include_str!("../../../nix/modules/templates/taint-terraform.sh"),
    ),
    (
        "modules/test-license.sh",
        include_str!("../../../nix/modules/templates/test-license.sh"),
    ),
    (
        "modules/test-terraform.sh",
        include_str!("../../../nix/modules/templates/test-terraform.sh"),
    ),
    (
        "pythonLint",
        include_str!("../../../nix/args/templates/python-lint.sh"),
    ),
    (
        "pythonLintImports",
        include_str!("../../../nix/args/templates/python-lint-imports.sh"),
    ),
    (
        "pythonTest",
        include_str!("../../../nix/args/templates/python-test.sh"),
    ),
];

/// `(name shown in errors, text)` of each file of makes' modules written in Nix: each is a
/// function `{ self, release, templates }: { MODULE = config: { "/job" = ...; }; }` mapping a
/// module's merged configuration to the jobs it makes, as makes'
/// `src/evaluator/modules/*/default.nix` do.
const MODULE_SOURCES: &[(&str, &str)] = &[(
    "<makes>/nix/modules/default.nix",
    include_str!("../../../nix/modules/default.nix"),
)];

/// The helpers' set (every file of `SOURCES`), evaluated once when first used. `this` holds
/// the finished arguments.
pub(crate) fn helpers(
    this: Rc<RefCell<Option<AttrSet>>>,
    release: Release,
    project_dir: &Path,
) -> Thunk {
    union_of(SOURCES, this, release, project_dir)
}

/// makes' modules (every file of `MODULE_SOURCES`): a set from module name to a function of
/// the module's configuration giving its jobs, evaluated once when first used.
pub(crate) fn modules(
    this: Rc<RefCell<Option<AttrSet>>>,
    release: Release,
    project_dir: &Path,
) -> Thunk {
    union_of(MODULE_SOURCES, this, release, project_dir)
}

/// The union of the sets the files of `sources` give, each applied to
/// `{ self, release, templates }`.
fn union_of(
    sources: &'static [(&'static str, &'static str)],
    this: Rc<RefCell<Option<AttrSet>>>,
    release: Release,
    project_dir: &Path,
) -> Thunk {
    let base: PathBuf = project_dir.to_path_buf();
    Thunk::deferred(move |ev| {
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
        arg.insert("templates", Thunk::value(Value::attrs(templates)), None);
        let arg = Thunk::value(Value::attrs(arg));
        let no_span = Span::none();
        let mut union = Attrs::new();
        for (path, text) in sources {
            let function = ev.eval_source(path, text, &base)?;
            let Value::Attrs(set) = ev.apply(&function, arg.clone(), no_span)? else {
                return Err(EvalError::other(
                    format!("{path} does not give a set"),
                    None,
                ));
            };
            for name in set.names() {
                if union.contains(name) {
                    return Err(EvalError::other(
                        format!("{path} defines '{name}' again"),
                        None,
                    ));
                }
                if let Some(attr) = set.get(name) {
                    union.insert(name.clone(), attr.value.clone(), attr.span);
                }
            }
        }
        Ok(Value::attrs(union))
    })
}

/// The helper `name` of `helpers`.
pub(crate) fn select(helpers: &Thunk, name: &'static str) -> Thunk {
    let helpers = helpers.clone();
    Thunk::deferred(move |ev| match helpers.force(ev)? {
        Value::Attrs(set) => match set.get(name) {
            Some(attr) => attr.value.force(ev),
            None => Err(EvalError::other(
                format!("no file of nix/args defines '{name}'"),
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
        let this: Rc<RefCell<Option<AttrSet>>> = Rc::default();
        let helpers = helpers(this, Release::LATEST, Path::new("/"));
        let Ok(Value::Attrs(set)) = helpers.force(&ev) else {
            panic!("helpers.nix gives a set");
        };
        for a in ARGUMENTS.iter().filter(|a| a.provider == Provider::Nix) {
            assert!(set.contains(a.name), "{} is not in nix/args", a.name);
        }
        for name in set.names() {
            let row = ARGUMENTS.iter().find(|a| *a.name == **name);
            assert_eq!(row.map(|a| a.provider), Some(Provider::Nix), "{name}");
        }
    }

    #[test]
    fn nix_modules_are_makes_modules_and_give_functions() {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let this: Rc<RefCell<Option<AttrSet>>> = Rc::default();
        let modules = modules(this, Release::LATEST, Path::new("/"));
        let Ok(Value::Attrs(set)) = modules.force(&ev) else {
            panic!("nix/modules gives a set");
        };
        let known: Vec<&str> = makes_spec::module_names().collect();
        for name in set.names() {
            assert!(known.contains(&&**name), "{name} is no makes module");
            let value = set.get(name).map(|a| a.value.force(&ev));
            assert!(
                matches!(value, Some(Ok(Value::Lambda(_)))),
                "{name} is not a function"
            );
        }
        // Every module that makes jobs, except those whose arguments are not written yet.
        let unported = [
            "cache",
            "deployContainer",
            "deployContainerImage",
            "deployContainerManifest",
            "formatNixWithAlejandra",
        ];
        for name in known.iter().filter(|n| !unported.contains(n)) {
            assert!(set.contains(name), "{name} is not in nix/modules");
        }
    }
}
