//! Packages from nixpkgs-like package sets: `inputs.nixpkgs.coreutils` is a reference to the
//! package `coreutils` of a set (`fetchNixpkgs { ... }`, makes' own pinned nixpkgs, a checkout), resolved
//! lazily by a backend when its store path is needed:
//!
//! - "nix": the installed Nix evaluates the set and builds what a job uses ([`NixBackend`]);
//! - "lock": `makes.lock.json` says what each reference is; its closure is substituted from
//!   binary caches (by the CLI, with the substituter crate);
//! - symbolic: nothing resolves; references get placeholder paths, so that a project can be
//!   read and validated (`makes show`) with neither Nix nor a lock file.
//!
//! Every resolved output is recorded ([`Packages::used`]): `makes lock` writes them, and the
//! build provides exactly them before realising the job.

mod description;
mod error;
mod handover;
mod lock;
mod nix_backend;
mod source;
mod steps;

pub use description::Description;
pub use error::PackageError;
pub use handover::hand_to_nix;
pub use lock::{
    AbsentAttribute, LockFile, LockUpdate, LockedFunction, LockedPackage, LockedPathInfo,
    LockedValue, LOCK_FILE,
};
pub use nix_backend::{nix_available, NixBackend, NixScope};
pub use source::{nix_string, Overlay, PackageSetSource, SetOrigin};
pub use steps::{display_steps, plain_attr_path, value_code, Step, SETS_VARIABLE};

use crate::error::StoreError;
use crate::recipes::Recipes;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// How package references are resolved.
#[derive(Debug, Clone)]
pub enum PackageMode {
    Nix(NixBackend),
    Lock,
    Symbolic,
}

/// One output of a package reference that evaluation resolved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsedOutput {
    /// The set's identity ([`PackageSetSource::identity`]).
    pub set: String,
    pub attr_path: Vec<Step>,
    pub output: String,
    /// The package's name (`coreutils-9.5`), or the attribute name when symbolic.
    pub name: String,
    /// The store path (a placeholder when symbolic).
    pub path: makes_store_path::StorePath,
}

/// A function of a set as evaluation holds it, with its set and steps.
type KnownLambda = (std::rc::Rc<makes_eval::PrimOp>, String, Vec<Step>);

/// `(set, attribute path, output)`: one output of one package reference.
type OutputKey = (String, Vec<Step>, String);

/// The package sets of one evaluation, their backend, and what was resolved.
pub struct Packages {
    mode: PackageMode,
    project_dir: PathBuf,
    lock: Option<LockFile>,
    recipes: Recipes,
    /// nixpkgs' `lib` to read for a pinned set whose source is not at hand (offline, or no
    /// Nix): the `nixpkgs-lib` option.
    lib_stand_in: Option<PathBuf>,
    sets: RefCell<BTreeMap<String, PackageSetSource>>,
    /// Each pinned set's lib directory (or why there is none), so that it is fetched once.
    fetched: RefCell<HashMap<String, Result<PathBuf, PackageError>>>,
    descriptions: RefCell<HashMap<(String, Vec<Step>), Description>>,
    /// Each set's own attribute names, as Nix listed them (backend "nix").
    names: RefCell<HashMap<String, Result<std::collections::BTreeSet<String>, PackageError>>>,
    used: RefCell<BTreeMap<OutputKey, UsedOutput>>,
    /// Names found missing (for the lock file).
    absent: RefCell<std::collections::BTreeSet<(String, Vec<Step>)>>,
    /// Paths makes builds itself that call arguments name (Nix gets them before it builds
    /// those calls).
    handed: RefCell<std::collections::BTreeSet<makes_store_path::StorePath>>,
    /// The functions of the sets that evaluation holds as lambdas (`builtins.isFunction` is
    /// true of them, as of Nix's), with where each is, so that a call argument holding one
    /// is written as the steps that reach it.
    lambdas: RefCell<Vec<KnownLambda>>,
}

impl Packages {
    /// `lock` is the project's `makes.lock.json`, if any (required by [`PackageMode::Lock`]).
    pub fn new(
        mode: PackageMode,
        project_dir: PathBuf,
        lock: Option<LockFile>,
        recipes: Recipes,
    ) -> Self {
        Packages {
            mode,
            project_dir,
            lock,
            recipes,
            lib_stand_in: None,
            sets: RefCell::default(),
            fetched: RefCell::default(),
            descriptions: RefCell::default(),
            names: RefCell::default(),
            used: RefCell::default(),
            absent: RefCell::default(),
            handed: RefCell::default(),
            lambdas: RefCell::default(),
        }
    }

    /// The same, reading `lib` (a nixpkgs `lib` directory) for a pinned set whose source is
    /// not at hand.
    pub fn with_lib_stand_in(self, lib: Option<PathBuf>) -> Self {
        Packages {
            lib_stand_in: lib,
            ..self
        }
    }

    pub fn lib_stand_in(&self) -> Option<&std::path::Path> {
        self.lib_stand_in.as_deref()
    }

    pub fn mode(&self) -> &PackageMode {
        &self.mode
    }

    pub fn project_dir(&self) -> &std::path::Path {
        &self.project_dir
    }

    /// The recipes of the outputs this evaluation names (native helpers add theirs).
    pub fn recipes(&self) -> &Recipes {
        &self.recipes
    }

    pub fn lock(&self) -> Option<&LockFile> {
        self.lock.as_ref()
    }

    /// The outputs resolved so far, sorted.
    pub fn used(&self) -> Vec<UsedOutput> {
        self.used.borrow().values().cloned().collect()
    }

    /// The name and default output of a package the backend described.
    pub fn described_package(&self, set: &str, attr_path: &[Step]) -> Option<(String, String)> {
        match self
            .descriptions
            .borrow()
            .get(&(set.to_owned(), attr_path.to_vec()))?
        {
            Description::Derivation {
                name, output_name, ..
            } => Some((name.clone(), output_name.clone())),
            _ => None,
        }
    }

    /// nixpkgs' `lib` directory of the pinned set `id`: in its source as Nix fetched it, else
    /// the stand-in (with a warning). Tried once per evaluation.
    pub fn pinned_lib(&self, id: &str, source: &PackageSetSource) -> Result<PathBuf, PackageError> {
        if let Some(known) = self.fetched.borrow().get(id) {
            return known.clone();
        }
        let fetched = match &self.mode {
            PackageMode::Nix(nix) => nix.fetch_source(source).map_err(|e| e.to_string()),
            _ => Err(PackageError::SourceNeedsNix.to_string()),
        };
        // lib is plain Nix and changes little between releases: listing and showing jobs
        // offline may read a stand-in the user names.
        let result = match (fetched, &self.lib_stand_in) {
            (Ok(root), _) => Ok(root.join("lib")),
            (Err(why), Some(stand_in)) => {
                eprintln!(
                    "makes: warning: the source of the package set {id} is not at hand ({}); its lib is the option nixpkgs-lib's {}",
                    why.lines().last().unwrap_or(&why),
                    stand_in.display()
                );
                Ok(stand_in.clone())
            }
            (Err(cause), None) => Err(PackageError::LibUnavailable { cause }),
        };
        self.fetched
            .borrow_mut()
            .insert(id.to_owned(), result.clone());
        result
    }

    /// The source of the set named `id`.
    pub fn set_source(&self, id: &str) -> Option<PackageSetSource> {
        self.sets.borrow().get(id).cloned()
    }

    /// Registers a set (by its identity, which it returns).
    pub fn register_set(&self, source: PackageSetSource) -> String {
        let id = source.identity(&self.project_dir);
        self.sets.borrow_mut().entry(id.clone()).or_insert(source);
        id
    }

    /// Records an output that evaluation resolved.
    pub fn record(&self, used: UsedOutput) {
        let key = (
            used.set.clone(),
            used.attr_path.clone(),
            used.output.clone(),
        );
        self.used.borrow_mut().entry(key).or_insert(used);
    }

    /// The names found missing so far, sorted.
    pub fn absent(&self) -> Vec<AbsentAttribute> {
        self.absent
            .borrow()
            .iter()
            .map(|(set, attr_path)| AbsentAttribute {
                set: set.clone(),
                attr_path: attr_path.clone(),
            })
            .collect()
    }

    /// Records that `op` is the function at `steps` of the set `set`.
    pub fn record_lambda(&self, op: std::rc::Rc<makes_eval::PrimOp>, set: &str, steps: &[Step]) {
        self.lambdas
            .borrow_mut()
            .push((op, set.to_owned(), steps.to_vec()));
    }

    /// The set and steps of the function `op`, when it is one of a set's.
    pub fn lambda_steps(
        &self,
        op: &std::rc::Rc<makes_eval::PrimOp>,
    ) -> Option<(String, Vec<Step>)> {
        self.lambdas
            .borrow()
            .iter()
            .find(|(known, _, _)| std::rc::Rc::ptr_eq(known, op))
            .map(|(_, set, steps)| (set.clone(), steps.clone()))
    }

    /// Records that a call's argument names `path`, which makes builds itself.
    pub fn record_handed(&self, path: &makes_store_path::StorePath) {
        self.handed.borrow_mut().insert(path.clone());
    }

    /// The paths makes builds itself that the calls of `steps` name (their code holds them
    /// as text), sorted.
    pub fn handed_in(&self, steps: &[Step]) -> Vec<makes_store_path::StorePath> {
        let handed = self.handed.borrow();
        if handed.is_empty() {
            return Vec::new();
        }
        let mut found = std::collections::BTreeSet::new();
        for step in steps {
            if let Step::Call { call } = step {
                found.extend(
                    handed
                        .iter()
                        .filter(|p| call.contains(&p.to_absolute()))
                        .cloned(),
                );
            }
        }
        found.into_iter().collect()
    }

    /// `message` (Nix failing to evaluate `attr_path`), with why when the call read a path
    /// makes builds itself: Nix gets those only before it builds the call.
    fn explain_handed(&self, attr_path: &[Step], message: String) -> String {
        let read: Vec<String> = self
            .handed_in(attr_path)
            .iter()
            .map(makes_store_path::StorePath::to_absolute)
            .filter(|p| message.contains(p.as_str()))
            .collect();
        if read.is_empty() {
            return message;
        }
        format!(
            "{message}\n(makes builds {} itself and hands it to Nix's store before Nix builds the call, not while Nix evaluates it: a function that reads it during evaluation cannot be called with it)",
            read.join(", ")
        )
    }

    /// The functions the backend described so far (for the lock file), sorted.
    pub fn functions(&self) -> Vec<LockedFunction> {
        let mut functions: Vec<LockedFunction> = self
            .descriptions
            .borrow()
            .iter()
            .filter_map(|((set, attr_path), d)| match d {
                Description::Function {
                    functor,
                    attributes,
                } => Some(LockedFunction {
                    set: set.clone(),
                    attr_path: attr_path.clone(),
                    functor: *functor,
                    attributes: attributes.clone(),
                }),
                _ => None,
            })
            .collect();
        functions.sort();
        functions
    }

    /// The plain data the backend gave so far (for the lock file), sorted.
    pub fn values(&self) -> Vec<LockedValue> {
        let mut values: Vec<LockedValue> = self
            .descriptions
            .borrow()
            .iter()
            .filter_map(|((set, attr_path), d)| match d {
                Description::Value { value } => Some(LockedValue {
                    set: set.clone(),
                    attr_path: attr_path.clone(),
                    value: value.clone(),
                }),
                _ => None,
            })
            .collect();
        values.sort_by(|a, b| (&a.set, &a.attr_path).cmp(&(&b.set, &b.attr_path)));
        values
    }

    /// What Nix needs to evaluate steps of any set of this evaluation.
    pub fn nix_scope(&self) -> NixScope {
        NixScope {
            sets: self
                .sets
                .borrow()
                .iter()
                .map(|(id, source)| (id.clone(), source.nix_expression()))
                .collect(),
            dir: self.project_dir.clone(),
        }
    }

    /// Every attribute name of the set `set` (`builtins.attrNames pkgs`), from Nix; the other
    /// backends cannot list a set.
    pub fn attribute_names(&self, set: &str) -> Result<Vec<String>, PackageError> {
        let PackageMode::Nix(nix) = &self.mode else {
            return Err(PackageError::ListingNeedsNix);
        };
        self.listed_names(nix, set)
            .map(|names| names.into_iter().collect())
    }

    /// The names of the set `set` as Nix lists them (memoised, failures too).
    fn listed_names(
        &self,
        nix: &NixBackend,
        set: &str,
    ) -> Result<std::collections::BTreeSet<String>, PackageError> {
        if let Some(known) = self.names.borrow().get(set).cloned() {
            return known;
        }
        let listed = self
            .set_source(set)
            .ok_or_else(|| PackageError::UnknownSet {
                set: set.to_owned(),
            })
            .and_then(|source| {
                nix.attribute_names(&self.nix_scope(), set, &source)
                    .map_err(|e| PackageError::Nix {
                        message: e.to_string(),
                    })
            })
            .map(|names| names.into_iter().collect());
        self.names
            .borrow_mut()
            .insert(set.to_owned(), listed.clone());
        listed
    }

    /// Whether the set `set` has the attribute `name` (`pkgs ? name`): `None` when it cannot
    /// be known here (symbolic evaluation, or a lock that did not see the question), where
    /// the name is taken as present and resolved, or not, when used.
    pub fn has_attribute(&self, set: &str, name: &str) -> Option<bool> {
        let path = vec![Step::attr(name)];
        let answer = match &self.mode {
            PackageMode::Nix(nix) => {
                // Nix could not list the set: the name is resolved (and fails) when used.
                self.listed_names(nix, set)
                    .ok()
                    .map(|names| names.contains(name))
            }
            PackageMode::Lock => {
                let lock = self.lock.as_ref()?;
                if lock.is_absent(set, &path) {
                    Some(false)
                } else {
                    lock.describe(set, &path).map(|_| true)
                }
            }
            PackageMode::Symbolic => None,
        };
        if answer == Some(false) {
            self.record_absent(set, &path);
        }
        answer
    }

    /// Records that `attr_path` is missing in the set `set`.
    pub fn record_absent(&self, set: &str, attr_path: &[Step]) {
        self.absent
            .borrow_mut()
            .insert((set.to_owned(), attr_path.to_vec()));
    }

    /// What the backend says of `attr_path` in the set `set` (memoised).
    pub fn describe(&self, set: &str, attr_path: &[Step]) -> Result<Description, PackageError> {
        let key = (set.to_owned(), attr_path.to_vec());
        if let Some(d) = self.descriptions.borrow().get(&key) {
            return Ok(d.clone());
        }
        let described = match &self.mode {
            PackageMode::Nix(nix) => {
                let source = self
                    .set_source(set)
                    .ok_or_else(|| PackageError::UnknownSet {
                        set: set.to_owned(),
                    })?;
                nix.describe(&self.nix_scope(), set, &source, attr_path)
                    .map_err(|e: StoreError| PackageError::Nix {
                        message: self.explain_handed(attr_path, e.to_string()),
                    })?
            }
            PackageMode::Lock => {
                let Some(lock) = &self.lock else {
                    return Err(PackageError::NoLockFile {
                        dir: self.project_dir.clone(),
                    });
                };
                lock.describe(set, attr_path)
                    .ok_or_else(|| PackageError::NotLocked {
                        set: set.to_owned(),
                        attr_path: display_steps(attr_path),
                    })?
            }
            PackageMode::Symbolic => return Err(PackageError::Symbolic),
        };
        self.descriptions
            .borrow_mut()
            .insert(key, described.clone());
        Ok(described)
    }
}

/// The wanted outputs of `used`, grouped by set, for one batched build per set.
pub fn outputs_by_set(used: &[UsedOutput]) -> BTreeMap<String, Vec<(Vec<Step>, String)>> {
    let mut by_set: BTreeMap<String, Vec<(Vec<Step>, String)>> = BTreeMap::new();
    for u in used {
        by_set
            .entry(u.set.clone())
            .or_default()
            .push((u.attr_path.clone(), u.output.clone()));
    }
    by_set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handed_paths_are_found_in_calls_and_named_when_nix_reads_them() {
        let packages = Packages::new(PackageMode::Symbolic, "/p".into(), None, Recipes::default());
        let built = "/nix/store/p9lyihcj2i0crskix4310fgj57yhgs5c-other";
        let built_path = makes_store_path::StorePath::parse(built).expect("a store path");
        packages.record_handed(&built_path);
        let steps = vec![
            Step::attr("hello"),
            Step::attr("overrideAttrs"),
            Step::Call {
                call: format!("(old: {{ v = builtins.readFile \"${{(builtins.storePath \"{built}\")}}/t\"; }})"),
            },
        ];
        assert_eq!(packages.handed_in(&steps), vec![built_path]);
        assert!(packages.handed_in(&steps[..2]).is_empty());
        let explained =
            packages.explain_handed(&steps, format!("error: path '{built}' is not valid"));
        assert!(explained.contains("hands it to Nix's store before Nix builds the call"));
        let other = packages.explain_handed(&steps, "error: something else".into());
        assert_eq!(other, "error: something else");
    }
}
