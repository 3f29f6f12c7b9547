//! One evaluation session over a project: the store, the evaluator joined to it, and the
//! recipes of the outputs the evaluation names.

use crate::env_vars::NIX_PATH;
use crate::locations;
use crate::report::{report_eval, report_spec, Failure};
use crate::settings::{PackagesBackend, Settings};
use makes_args::{makes_arguments, ArgumentContext};
use makes_args::{store_builtins, StoreIo};
use makes_derivation::{
    derivation_builtins, fetch_builtins, DeferredFetches, Derivations, Fetchers,
};
use makes_eval::{EvalOptions, Evaluator};
use makes_spec::{find_project_dir, load_project, Project};
use makes_spec::{fitted, pinned_release, ReleaseRules};
use makes_store::packages::{LockFile, NixBackend, PackageMode, Packages};
use makes_store::{LocalStore, ProjectFiles, Recipes, StorePath};
use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub struct Session {
    /// Held shared while the session lives, so `makes gc` never removes what it adds.
    _gc_guard: makes_store::SessionGuard,
    pub store: LocalStore,
    pub evaluator: Evaluator,
    pub recipes: Recipes,
    /// The derivations `builtins.derivation` instantiated, with their `.drv` texts.
    pub derivations: Derivations,
    /// What `builtins.fetch*` and `builtin:fetchurl` fetch with.
    pub fetchers: Fetchers,
    pub now: String,
    pub settings: Settings,
    /// Resolve no package (placeholders instead): reading a project needs no backend.
    pub symbolic_packages: bool,
    /// The project's package sets, made when the project is loaded.
    packages: OnceCell<Rc<Packages>>,
    /// What of the project evaluation sees, set when the project is loaded.
    project_files: ProjectFiles,
}

impl Session {
    pub fn open(options: EvalOptions, settings: Settings) -> Result<Session, Failure> {
        let store_dir = locations::store_dir().map_err(Failure::message)?;
        let store = LocalStore::open(&store_dir)?
            .with_build_log(crate::build_log::build_log_settings().map_err(Failure::message)?);
        let gc_guard = store.session_lock()?;
        let project_files = ProjectFiles::default();
        let derivations = Derivations::new(store.clone());
        let mut builtins = store_builtins(&store, &project_files);
        builtins.extend(derivation_builtins(&derivations));
        let fetchers = Fetchers {
            store: store.clone(),
            http: Rc::new(crate::realisation::HttpFetcher),
            // Without a cache directory, fetches are remembered beside the store.
            cache_dir: locations::cache_dir().unwrap_or_else(|_| store_dir.join("cache")),
            deferred: DeferredFetches::default(),
        };
        builtins.extend(fetch_builtins(&fetchers, &derivations));
        let registry = derivations.clone();
        let outputs_of = move |drv_path: &str| {
            registry.get(drv_path).map(|drv| {
                drv.outputs
                    .iter()
                    .map(|(name, o)| (name.clone(), o.path.clone()))
                    .collect()
            })
        };
        // A fetch that waits for a build is fetched at once when evaluation reads it.
        let f = fetchers.clone();
        let before_read = move |path: &StorePath| {
            f.fetch_deferred(path)
                .map_err(|e| std::io::Error::other(e.to_string()))
        };
        let io = StoreIo::new(store.clone(), project_files.clone())
            .with_derivation_outputs(Rc::new(outputs_of))
            .with_before_read(Rc::new(before_read));
        let evaluator = Evaluator::with_extra_builtins(Rc::new(io), options, builtins);
        Ok(Session {
            _gc_guard: gc_guard,
            store,
            evaluator,
            recipes: Recipes::default(),
            derivations,
            fetchers,
            now: crate::clock::now_iso8601(),
            settings,
            symbolic_packages: false,
            packages: OnceCell::new(),
            project_files,
        })
    }

    /// Ends the session without freeing the evaluator's values: the process exits next, and
    /// freeing a large evaluation value by value takes a good part of its time.
    pub fn end_without_freeing(self) {
        let Session { evaluator, .. } = self;
        std::mem::forget(evaluator);
    }

    /// The package sets of the loaded project.
    pub fn packages(&self) -> Option<&Rc<Packages>> {
        self.packages.get()
    }

    /// How this session resolves package references.
    fn package_mode(&self) -> PackageMode {
        let nix = || {
            PackageMode::Nix(NixBackend {
                search_path: Vec::new(),
                description_cache: locations::cache_dir()
                    .ok()
                    .map(|d| d.join("package-descriptions")),
            })
        };
        match self.settings.packages {
            None if self.symbolic_packages => PackageMode::Symbolic,
            Some(PackagesBackend::Nix) => nix(),
            Some(PackagesBackend::Lock) => PackageMode::Lock,
            None if crate::nix_probe::nix_installed() => nix(),
            None => PackageMode::Lock,
        }
    }

    /// Reads the project at `dir` (or the nearest one upward from the current directory).
    pub fn load_project(&self, dir: Option<&Path>) -> Result<Project, Failure> {
        let dir = match dir {
            Some(d) => locations::absolute(d),
            None => {
                let cwd = std::env::current_dir().map_err(|e| {
                    Failure::message(format!("cannot read the current directory: {e}"))
                })?;
                find_project_dir(&cwd).map_err(|e| report_spec(&self.evaluator, &e))?
            }
        };
        // A project without makes.nix is `{ }` (its legacy `makes/` jobs, if any), as makes
        // reads it; a directory that does not exist is no project.
        if !dir.is_dir() {
            return Err(Failure::message(format!(
                "no project at {}: not a directory",
                dir.display()
            )));
        }
        self.project_files
            .set(&dir, crate::tracked_files::project_files(&dir)?);
        let makes_nix = dir.join("makes.nix");
        if makes_nix.exists() && self.project_files.hides(&makes_nix) {
            return Err(Failure::message(format!(
                "{} is not tracked by git: makes reads only the files git tracks (git add it)",
                makes_nix.display()
            )));
        }
        let lock = LockFile::read(&dir)?;
        let packages = Rc::new(
            Packages::new(self.package_mode(), dir.clone(), lock, self.recipes.clone())
                .with_lib_stand_in(self.settings.nixpkgs_lib.clone()),
        );
        let _ = self.packages.set(packages.clone());
        // A project's pinned fetches wait until a build or a read needs them (`makes eval`
        // and `makes instantiate` fetch at the call, as Nix does).
        self.fetchers.deferred.enable(self.recipes.clone());
        let rules = pinned_release(&dir);
        let project = self.evaluate_project(&dir, &packages, rules.clone())?;
        // A project pinning makes at no release tag is read again with the rules of the
        // release it was written for, when the latest's do not fit the modules it sets.
        let project = match fitted(&rules, |r| project.fits(r)) {
            Some(rules) => self.evaluate_project(&dir, &packages, rules)?,
            None => project,
        };
        for module in &project.other_release_modules {
            say!(
                "makes: warning: '{module}' is no option of makes {} ({}); read as the releases that have it read it",
                project.release.release, project.release.reason
            );
        }
        Ok(project)
    }

    /// The project at `dir`, evaluated with the makes arguments of `rules`' release.
    fn evaluate_project(
        &self,
        dir: &Path,
        packages: &Rc<Packages>,
        rules: ReleaseRules,
    ) -> Result<Project, Failure> {
        let finished_arguments = Rc::default();
        let arguments = makes_arguments(&ArgumentContext {
            store: &self.store,
            packages,
            project_dir: dir,
            project_files: &self.project_files,
            now: &self.now,
            release: rules.release,
            makes_nixpkgs: self.settings.makes_nixpkgs.as_deref(),
            project_arguments: &finished_arguments,
        });
        load_project(&self.evaluator, dir, arguments, &finished_arguments, rules)
            .map_err(|e| report_spec(&self.evaluator, &e))
    }
}

/// How a project is evaluated: `<name>` paths found through `NIX_PATH`, as Nix finds them.
pub fn project_eval_options() -> EvalOptions {
    EvalOptions {
        search_path: search_path(&[]),
        ..EvalOptions::default()
    }
}

/// Search path entries from `NIX_PATH` and `-I` (later entries come first, as in Nix).
pub fn search_path(includes: &[String]) -> Vec<(String, PathBuf)> {
    let mut entries = Vec::new();
    let from_env = std::env::var(NIX_PATH).unwrap_or_default();
    for item in includes
        .iter()
        .map(String::as_str)
        .chain(from_env.split(':'))
    {
        if item.is_empty() {
            continue;
        }
        match item.split_once('=') {
            Some((prefix, path)) => {
                entries.push((prefix.to_owned(), locations::absolute(Path::new(path))))
            }
            None => entries.push((String::new(), locations::absolute(Path::new(item)))),
        }
    }
    entries
}

pub fn eval_failure(ev: &Evaluator, e: &makes_eval::EvalError) -> Failure {
    report_eval(ev, e)
}
