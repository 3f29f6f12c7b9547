//! `makes.lock.json`: for each package reference a project uses, its outputs' store paths,
//! and for every path of their closures the NAR hash, NAR size and references, so that the
//! same packages can be substituted from a binary cache without Nix.

use super::description::Description;
use super::steps::Step;
use crate::error::StoreError;
use makes_store_path::{StorePath, StorePathError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The lock file's name, at the project root.
pub const LOCK_FILE: &str = "makes.lock.json";

/// The format version this makes reads and writes.
const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LockFile {
    pub version: u32,
    /// Sorted by set, then attribute path.
    pub packages: Vec<LockedPackage>,
    /// Every store path of the packages' closures, in the order of the path strings (which
    /// is `StorePath`'s order: the hash part has a fixed length).
    pub paths: BTreeMap<StorePath, LockedPathInfo>,
    /// Names evaluation found missing in a package set (`pkgs ? name`, `pkgs.name or x`),
    /// so that the set answers the same without Nix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent: Vec<AbsentAttribute>,
    /// Plain data evaluation took from a package set (`pkgs.version`, `stdenv.isLinux`, a
    /// call that returns data), so that the set gives the same without Nix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<LockedValue>,
    /// Functions evaluation took from a package set, with what Nix has them as (a lambda,
    /// or a set with `__functor` and its names), so that `builtins.isFunction` and `?` on
    /// them answer the same without Nix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<LockedFunction>,
}

/// A function at `attrPath` of the set named `set`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockedFunction {
    pub set: String,
    pub attr_path: Vec<Step>,
    /// A set with `__functor` rather than a lambda.
    pub functor: bool,
    /// A functor set's attribute names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<String>>,
}

/// Plain data at `attrPath` of the set named `set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockedValue {
    pub set: String,
    pub attr_path: Vec<Step>,
    pub value: serde_json::Value,
}

/// An attribute a package set does not have.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbsentAttribute {
    pub set: String,
    pub attr_path: Vec<Step>,
}

/// One package reference: `attrPath` of the package set named `set` (attribute names, and
/// calls as `{ "call": "<argument as Nix code>" }`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockedPackage {
    pub set: String,
    pub attr_path: Vec<Step>,
    pub name: String,
    pub output_name: String,
    /// Output name -> store path, for the outputs the project uses.
    pub outputs: BTreeMap<String, StorePath>,
    /// For a call that takes paths makes built itself: each such path and the NAR hash of
    /// the contents the call was locked with. The call's result stands only for those.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<StorePath, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockedPathInfo {
    /// `sha256:<nix-base32>`, as Nix prints it.
    pub nar_hash: String,
    pub nar_size: u64,
    /// Sorted (possibly the path itself).
    pub references: Vec<StorePath>,
}

/// What one `makes lock` run found out about the packages its jobs use, to be merged into a
/// lock file ([`LockFile::merge`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LockUpdate {
    /// One entry per output used; entries of the same package (set and attribute path) are
    /// joined into one.
    pub packages: Vec<LockedPackage>,
    pub absent: Vec<AbsentAttribute>,
    pub values: Vec<LockedValue>,
    pub functions: Vec<LockedFunction>,
    /// What Nix says of every path of the used outputs' closures.
    pub paths: BTreeMap<StorePath, LockedPathInfo>,
}

impl LockFile {
    pub fn new() -> Self {
        LockFile {
            version: VERSION,
            ..LockFile::default()
        }
    }

    /// Reads `dir/makes.lock.json`; `Ok(None)` when there is none.
    pub fn read(dir: &Path) -> Result<Option<LockFile>, StoreError> {
        let path = dir.join(LOCK_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        let lock: LockFile =
            serde_json::from_str(&text).map_err(|e| match first_malformed_store_path(&text) {
                Some((entry, source)) => StoreError::LockFileStorePath {
                    path: path.clone(),
                    entry,
                    source,
                },
                None => StoreError::LockFile {
                    path: path.clone(),
                    message: e.to_string(),
                },
            })?;
        if lock.version != VERSION {
            return Err(StoreError::LockFile {
                path,
                message: format!(
                    "version {} is not the version this makes reads ({VERSION}); run `makes lock` again",
                    lock.version
                ),
            });
        }
        Ok(Some(lock))
    }

    /// Writes `dir/makes.lock.json` atomically, pretty-printed with a final newline.
    pub fn write(&self, dir: &Path) -> Result<(), StoreError> {
        let path = dir.join(LOCK_FILE);
        let io = |e| StoreError::Io {
            path: path.clone(),
            source: e,
        };
        let mut text = serde_json::to_string_pretty(self).map_err(|e| StoreError::LockFile {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(io)?;
        tmp.persist(&path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// What the lock knows of `attr_path` in the set `set`: a derivation when it is locked, a
    /// function when a locked package is a call of it, a set when locked packages lie below
    /// it, missing when recorded absent, `None` when the lock does not cover it.
    pub fn describe(&self, set: &str, attr_path: &[Step]) -> Option<Description> {
        if let Some(f) = self
            .functions
            .iter()
            .find(|f| f.set == set && f.attr_path == attr_path)
        {
            return Some(Description::Function {
                functor: f.functor,
                attributes: f.attributes.clone(),
            });
        }
        if let Some(v) = self
            .values
            .iter()
            .find(|v| v.set == set && v.attr_path == attr_path)
        {
            return Some(Description::Value {
                value: v.value.clone(),
            });
        }
        let mut names = BTreeSet::new();
        let mut called = false;
        let below = self
            .values
            .iter()
            .map(|v| (&v.set, &v.attr_path))
            .chain(self.functions.iter().map(|f| (&f.set, &f.attr_path)));
        for (_, v_path) in below.filter(|(s, _)| *s == set) {
            if v_path.len() > attr_path.len() && v_path.starts_with(attr_path) {
                match &v_path[attr_path.len()] {
                    Step::Attr(name) => {
                        names.insert(name.clone());
                    }
                    Step::Call { .. } => called = true,
                }
            }
        }
        for p in self.packages.iter().filter(|p| p.set == set) {
            if p.attr_path == attr_path {
                return Some(Description::Derivation {
                    name: p.name.clone(),
                    output_name: p.output_name.clone(),
                    outputs: p.outputs.clone(),
                    attributes: None,
                });
            }
            if p.attr_path.len() > attr_path.len() && p.attr_path.starts_with(attr_path) {
                match &p.attr_path[attr_path.len()] {
                    Step::Attr(name) => {
                        names.insert(name.clone());
                    }
                    Step::Call { .. } => called = true,
                }
            }
        }
        if called {
            // A lock that did not record what the function is: a set with `__functor`, as
            // makes took every function before it recorded them.
            return Some(Description::Function {
                functor: true,
                attributes: None,
            });
        }
        if !names.is_empty() {
            return Some(Description::Set {
                names: names.into_iter().collect(),
            });
        }
        self.is_absent(set, attr_path)
            .then_some(Description::Missing)
    }

    /// Merges what a lock run found: the packages, values and functions it found replace
    /// those of the same set and attribute path, absent names are added, and the paths are
    /// exactly the closures of the locked packages. Merged into a new lock, that is the lock
    /// of the jobs locked; merged into the previous lock, the packages of other jobs stay as
    /// it says. Fails, naming the path, when a closure needs a path neither has.
    pub fn merge(&mut self, update: LockUpdate) -> Result<(), StoreError> {
        let LockUpdate {
            packages,
            absent,
            values,
            functions,
            paths,
        } = update;
        let relocked: BTreeSet<(&str, &[Step])> = packages
            .iter()
            .map(|p| (p.set.as_str(), p.attr_path.as_slice()))
            .collect();
        self.packages
            .retain(|p| !relocked.contains(&(p.set.as_str(), p.attr_path.as_slice())));
        for package in packages {
            match self
                .packages
                .iter_mut()
                .find(|p| p.set == package.set && p.attr_path == package.attr_path)
            {
                Some(entry) => {
                    entry.outputs.extend(package.outputs);
                    entry.inputs.extend(package.inputs);
                }
                None => self.packages.push(package),
            }
        }
        self.packages.sort();
        self.absent.extend(absent);
        self.absent.sort();
        self.absent.dedup();
        self.values.retain(|old| {
            !values
                .iter()
                .any(|v| (&v.set, &v.attr_path) == (&old.set, &old.attr_path))
        });
        self.values.extend(values);
        self.values
            .sort_by(|a, b| (&a.set, &a.attr_path).cmp(&(&b.set, &b.attr_path)));
        self.functions.retain(|old| {
            !functions
                .iter()
                .any(|f| (&f.set, &f.attr_path) == (&old.set, &old.attr_path))
        });
        self.functions.extend(functions);
        self.functions.sort();
        self.paths.extend(paths);
        self.keep_only_locked_closures()
    }

    /// Drops the paths no locked package's closure holds.
    fn keep_only_locked_closures(&mut self) -> Result<(), StoreError> {
        let roots = self.packages.iter().flat_map(|p| p.outputs.values());
        let keep: BTreeSet<StorePath> = self.closure(roots)?.into_keys().cloned().collect();
        self.paths.retain(|p, _| keep.contains(p));
        Ok(())
    }

    /// Whether evaluation found `attr_path` missing in the set `set` when it was locked.
    pub fn is_absent(&self, set: &str, attr_path: &[Step]) -> bool {
        self.absent
            .iter()
            .any(|a| a.set == set && a.attr_path == attr_path)
    }

    /// The closure of `roots` (store paths), every path with what the lock says of it; the
    /// error names the first path the lock lacks.
    pub fn closure<'a>(
        &'a self,
        roots: impl IntoIterator<Item = &'a StorePath>,
    ) -> Result<BTreeMap<&'a StorePath, &'a LockedPathInfo>, StoreError> {
        let mut out = BTreeMap::new();
        let mut todo: Vec<&StorePath> = roots.into_iter().collect();
        while let Some(path) = todo.pop() {
            if out.contains_key(path) {
                continue;
            }
            let (key, info) = self
                .paths
                .get_key_value(path)
                .ok_or_else(|| StoreError::LockIncomplete { path: path.clone() })?;
            out.insert(key, info);
            todo.extend(&info.references);
        }
        Ok(out)
    }
}

/// Where a lock file that serde could not read holds a string that is not a store path,
/// and why: `(entry, error)` with the entry as its place in the file (`paths["..."]
/// .references[1]`). `None` when its store paths are all well formed (or it is not JSON).
fn first_malformed_store_path(text: &str) -> Option<(String, StorePathError)> {
    use serde_json::Value;
    let doc: Value = serde_json::from_str(text).ok()?;
    let check = |entry: String, text: &str| StorePath::parse(text).err().map(|e| (entry, e));
    let packages = doc.get("packages").and_then(Value::as_array);
    for (i, package) in packages.into_iter().flatten().enumerate() {
        let outputs = package.get("outputs").and_then(Value::as_object);
        for (output, path) in outputs.into_iter().flatten() {
            if let Some(bad) = path
                .as_str()
                .and_then(|p| check(format!("packages[{i}].outputs.{output}"), p))
            {
                return Some(bad);
            }
        }
        let inputs = package.get("inputs").and_then(Value::as_object);
        for input in inputs.into_iter().flatten().map(|(k, _)| k) {
            if let Some(bad) = check(format!("packages[{i}].inputs[{input:?}]"), input) {
                return Some(bad);
            }
        }
    }
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, info) in paths.into_iter().flatten() {
        if let Some(bad) = check(format!("paths[{path:?}]"), path) {
            return Some(bad);
        }
        let references = info.get("references").and_then(Value::as_array);
        for (j, reference) in references.into_iter().flatten().enumerate() {
            if let Some(bad) = reference
                .as_str()
                .and_then(|r| check(format!("paths[{path:?}].references[{j}]"), r))
            {
                return Some(bad);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store path named `name` (all test paths share one hash part).
    fn sp(name: &str) -> StorePath {
        StorePath::from_base_name(&format!("{}-{name}", "0".repeat(32))).expect("a store path")
    }

    fn lock() -> LockFile {
        let mut lock = LockFile::new();
        lock.packages.push(LockedPackage {
            set: "<nixpkgs>".into(),
            attr_path: vec![Step::attr("python3Packages"), Step::attr("requests")],
            name: "python3.11-requests-2.31".into(),
            output_name: "out".into(),
            outputs: BTreeMap::from([("out".into(), sp("a-requests"))]),
            inputs: BTreeMap::new(),
        });
        lock.paths.insert(
            sp("a-requests"),
            LockedPathInfo {
                nar_hash: "sha256:x".into(),
                nar_size: 1,
                references: vec![sp("a-requests"), sp("b-py")],
            },
        );
        lock.paths.insert(
            sp("b-py"),
            LockedPathInfo {
                nar_hash: "sha256:y".into(),
                nar_size: 2,
                references: vec![],
            },
        );
        lock
    }

    #[test]
    fn describes_locked_packages_and_the_sets_above_them() {
        let lock = lock();
        assert_eq!(
            lock.describe("<nixpkgs>", &[Step::attr("python3Packages")]),
            Some(Description::Set {
                names: vec!["requests".into()]
            })
        );
        assert!(matches!(
            lock.describe(
                "<nixpkgs>",
                &[Step::attr("python3Packages"), Step::attr("requests")]
            ),
            Some(Description::Derivation { .. })
        ));
        assert_eq!(lock.describe("<nixpkgs>", &[Step::attr("hello")]), None);
        assert_eq!(
            lock.describe("<other>", &[Step::attr("python3Packages")]),
            None
        );
    }

    #[test]
    fn calls_are_functions_and_absent_names_missing() {
        let mut lock = lock();
        let call = Step::Call {
            call: "{ name = \"x\"; }".into(),
        };
        lock.packages.push(LockedPackage {
            set: "<nixpkgs>".into(),
            attr_path: vec![
                Step::attr("stdenv"),
                Step::attr("mkDerivation"),
                call.clone(),
            ],
            name: "x".into(),
            output_name: "out".into(),
            outputs: BTreeMap::from([("out".into(), sp("c-x"))]),
            inputs: BTreeMap::new(),
        });
        record_nope_and_is_linux(&mut lock);
        assert_eq!(
            lock.describe("<nixpkgs>", &[Step::attr("stdenv"), Step::attr("isLinux")]),
            Some(Description::Value {
                value: serde_json::json!(true)
            })
        );
        let function = [Step::attr("stdenv"), Step::attr("mkDerivation")];
        assert_eq!(
            lock.describe("<nixpkgs>", &function),
            Some(Description::Function {
                functor: true,
                attributes: None
            })
        );
        lock.functions.push(LockedFunction {
            set: "<nixpkgs>".into(),
            attr_path: function.to_vec(),
            functor: false,
            attributes: None,
        });
        assert_eq!(
            lock.describe("<nixpkgs>", &function),
            Some(Description::Function {
                functor: false,
                attributes: None
            })
        );
        let mut called = function.to_vec();
        called.push(call);
        assert!(matches!(
            lock.describe("<nixpkgs>", &called),
            Some(Description::Derivation { .. })
        ));
        assert_eq!(
            lock.describe("<nixpkgs>", &[Step::attr("nope")]),
            Some(Description::Missing)
        );
        let dir = tempfile::tempdir().expect("tempdir");
        lock.write(dir.path()).expect("written");
        assert_eq!(LockFile::read(dir.path()).expect("read"), Some(lock));
    }

    #[test]
    fn closures_follow_references_and_name_what_is_missing() {
        let mut lock = lock();
        let requests = sp("a-requests");
        let closure = lock.closure([&requests]).expect("closed");
        assert_eq!(closure.len(), 2);
        lock.paths.remove(&sp("b-py"));
        assert!(matches!(
            lock.closure([&requests]),
            Err(StoreError::LockIncomplete { path }) if path == sp("b-py")
        ));
    }

    fn package(attr: &str, output: &str, path: StorePath) -> LockedPackage {
        LockedPackage {
            set: "<nixpkgs>".into(),
            attr_path: vec![Step::attr(attr)],
            name: attr.into(),
            output_name: "out".into(),
            outputs: BTreeMap::from([(output.into(), path)]),
            inputs: BTreeMap::new(),
        }
    }

    fn path_info(references: &[StorePath]) -> LockedPathInfo {
        LockedPathInfo {
            nar_hash: "sha256:z".into(),
            nar_size: 3,
            references: references.to_vec(),
        }
    }

    #[test]
    fn a_merge_joins_outputs_and_keeps_exactly_the_locked_closures() {
        let mut lock = LockFile::new();
        lock.merge(LockUpdate {
            packages: vec![
                package("openssl", "out", sp("o-openssl")),
                package("openssl", "dev", sp("d-openssl-dev")),
            ],
            absent: vec![AbsentAttribute {
                set: "<nixpkgs>".into(),
                attr_path: vec![Step::attr("nope")],
            }],
            paths: BTreeMap::from([
                (sp("o-openssl"), path_info(&[])),
                (sp("d-openssl-dev"), path_info(&[sp("o-openssl")])),
                (sp("u-unused"), path_info(&[])),
            ]),
            ..LockUpdate::default()
        })
        .expect("closed");
        assert_eq!(lock.packages.len(), 1, "one entry per package");
        assert_eq!(
            lock.packages[0].outputs.keys().collect::<Vec<_>>(),
            ["dev", "out"]
        );
        assert_eq!(
            lock.paths.keys().collect::<Vec<_>>(),
            [&sp("d-openssl-dev"), &sp("o-openssl")],
            "a path no locked package needs is dropped"
        );
        assert!(lock.is_absent("<nixpkgs>", &[Step::attr("nope")]));
    }

    #[test]
    fn a_merge_into_the_previous_lock_replaces_only_what_was_locked_again() {
        let mut lock = lock();
        lock.values.push(LockedValue {
            set: "<nixpkgs>".into(),
            attr_path: vec![Step::attr("version")],
            value: serde_json::json!("1"),
        });
        let absent = AbsentAttribute {
            set: "<nixpkgs>".into(),
            attr_path: vec![Step::attr("nope")],
        };
        lock.absent.push(absent.clone());
        lock.merge(LockUpdate {
            packages: vec![package("hello", "out", sp("h-hello-2"))],
            absent: vec![absent],
            values: vec![LockedValue {
                set: "<nixpkgs>".into(),
                attr_path: vec![Step::attr("version")],
                value: serde_json::json!("2"),
            }],
            paths: BTreeMap::from([(sp("h-hello-2"), path_info(&[]))]),
            ..LockUpdate::default()
        })
        .expect("closed");
        let requests = [Step::attr("python3Packages"), Step::attr("requests")];
        assert!(
            matches!(
                lock.describe("<nixpkgs>", &requests),
                Some(Description::Derivation { .. })
            ),
            "a package of another job stays"
        );
        assert_eq!(lock.paths.len(), 3, "with its closure, and the new one's");
        assert_eq!(lock.absent.len(), 1, "absent names are not repeated");
        assert_eq!(lock.values.len(), 1);
        assert_eq!(lock.values[0].value, serde_json::json!("2"));
        // Locked again with another path, a package keeps only the new one.
        lock.merge(LockUpdate {
            packages: vec![package("hello", "out", sp("h-hello-3"))],
            paths: BTreeMap::from([(sp("h-hello-3"), path_info(&[]))]),
            ..LockUpdate::default()
        })
        .expect("closed");
        let hello = lock.describe("<nixpkgs>", &[Step::attr("hello")]);
        assert!(
            matches!(&hello, Some(Description::Derivation { outputs, .. })
                if outputs["out"] == sp("h-hello-3")),
            "{hello:?}"
        );
        assert!(!lock.paths.contains_key(&sp("h-hello-2")));
    }

    #[test]
    fn a_merge_needing_a_path_neither_lock_has_names_it() {
        let mut lock = LockFile::new();
        let err = lock
            .merge(LockUpdate {
                packages: vec![package("hello", "out", sp("h-hello"))],
                paths: BTreeMap::from([(sp("h-hello"), path_info(&[sp("g-glibc")]))]),
                ..LockUpdate::default()
            })
            .expect_err("glibc is missing");
        assert!(
            err.to_string().contains(&sp("g-glibc").to_string()),
            "{err}"
        );
    }

    #[test]
    fn a_malformed_path_names_the_file_and_the_entry() {
        let good = sp("a-requests").to_string();
        for (bad_text, entry) in [
            (
                r#""outputs": { "out": "/tmp/evil" }"#,
                "packages[0].outputs.out",
            ),
            (
                r#""outputs": {}, "inputs": { "../../x": "sha256:1" }"#,
                r#"packages[0].inputs["../../x"]"#,
            ),
        ] {
            let text = format!(
                r#"{{ "version": 1, "packages": [ {{ "set": "s", "attrPath": ["a"], "name": "a", "outputName": "out", {bad_text} }} ], "paths": {{}} }}"#
            );
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join(LOCK_FILE), text).expect("written");
            match LockFile::read(dir.path()) {
                Err(StoreError::LockFileStorePath {
                    path,
                    entry: found,
                    source,
                }) => {
                    assert_eq!(path, dir.path().join(LOCK_FILE));
                    assert_eq!(found, entry);
                    assert!(
                        matches!(source, StorePathError::InvalidStorePath { .. }),
                        "{source:?}"
                    );
                }
                other => panic!("{entry}: {other:?}"),
            }
        }
        for (paths, entry) in [
            (
                r#"{ "/nix/store/x": { "narHash": "h", "narSize": 1, "references": [] } }"#
                    .to_owned(),
                r#"paths["/nix/store/x"]"#.to_owned(),
            ),
            (
                format!(
                    r#"{{ "{good}": {{ "narHash": "h", "narSize": 1, "references": ["{good}", "{good}/sub"] }} }}"#
                ),
                format!("paths[{good:?}].references[1]"),
            ),
        ] {
            let text = format!(r#"{{ "version": 1, "packages": [], "paths": {paths} }}"#);
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join(LOCK_FILE), text).expect("written");
            let err = LockFile::read(dir.path()).expect_err("malformed");
            assert!(
                matches!(&err, StoreError::LockFileStorePath { entry: found, .. } if *found == entry),
                "{entry}: {err:?}"
            );
            assert!(err.to_string().contains(&entry), "{err}");
        }
        // Not a store path problem: the JSON error as it is.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(LOCK_FILE),
            "{ \"version\": 1, \"packages\": 3 }",
        )
        .expect("written");
        assert!(matches!(
            LockFile::read(dir.path()),
            Err(StoreError::LockFile { .. })
        ));
    }

    #[test]
    fn path_keys_are_in_the_order_of_the_path_strings() {
        // The hash part has a fixed length, so ordering by hash and then name (StorePath's
        // order) is ordering the absolute paths as strings: the file's key order holds.
        let hashes = [
            "0".repeat(32),
            format!("{}1", "0".repeat(31)),
            format!("1{}", "0".repeat(31)),
            "z".repeat(32),
        ];
        let names = ["a", "a-b", "a.b", "a+b", "A", "b", "a-", "a0", "zz", "Z=?_"];
        let mut paths: Vec<StorePath> = hashes
            .iter()
            .flat_map(|h| {
                names
                    .iter()
                    .map(move |n| StorePath::from_base_name(&format!("{h}-{n}")).expect("valid"))
            })
            .collect();
        paths.reverse();
        let mut by_string: Vec<String> = paths.iter().map(StorePath::to_absolute).collect();
        by_string.sort();
        paths.sort();
        let by_path: Vec<String> = paths.iter().map(StorePath::to_absolute).collect();
        assert_eq!(by_path, by_string);
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = lock();
        lock.write(dir.path()).expect("written");
        assert_eq!(LockFile::read(dir.path()).expect("read"), Some(lock));
    }

    /// A name found missing and a value taken, as evaluation records them.
    fn record_nope_and_is_linux(lock: &mut LockFile) {
        lock.absent.push(AbsentAttribute {
            set: "<nixpkgs>".into(),
            attr_path: vec![Step::attr("nope")],
        });
        lock.values.push(LockedValue {
            set: "<nixpkgs>".into(),
            attr_path: vec![Step::attr("stdenv"), Step::attr("isLinux")],
            value: serde_json::json!(true),
        });
    }

    const H1: &str = "/nix/store/0a9wxq5k3z8f1c2v7b4n6m3l0p9r8s2d";
    const H2: &str = "/nix/store/0a9wxq5k3z8f1c2v7b4n6m3l0p9r8s2f";
    const H3: &str = "/nix/store/zz1q2w3r4y5i6p7a8s9d0f1g2h3j4k5l";

    fn full(path: &str) -> StorePath {
        StorePath::parse(path).expect("a store path")
    }

    fn golden_lock() -> LockFile {
        let mut lock = LockFile::new();
        let glibc = full(&format!("{H1}-glibc-2.39"));
        let glibc_bin = full(&format!("{H1}-glibc-2.39-bin"));
        let openssl = full(&format!("{H2}-openssl-3.0"));
        let openssl_dev = full(&format!("{H3}-openssl-3.0-dev"));
        let src = full(&format!("{H3}-source"));
        lock.packages.push(LockedPackage {
            set: "<nixpkgs>".into(),
            attr_path: vec![Step::attr("openssl")],
            name: "openssl-3.0".into(),
            output_name: "out".into(),
            outputs: BTreeMap::from([
                ("out".into(), openssl.clone()),
                ("dev".into(), openssl_dev.clone()),
            ]),
            inputs: BTreeMap::new(),
        });
        lock.packages.push(LockedPackage {
            set: "<nixpkgs>".into(),
            attr_path: vec![
                Step::attr("stdenv"),
                Step::attr("mkDerivation"),
                Step::Call {
                    call: format!("{{ src = {src}; }}"),
                },
            ],
            name: "x".into(),
            output_name: "out".into(),
            outputs: BTreeMap::from([("out".into(), glibc_bin.clone())]),
            inputs: BTreeMap::from([(src.clone(), "sha256:1b".into())]),
        });
        for (path, refs) in [
            (&openssl_dev, vec![openssl.clone(), openssl_dev.clone()]),
            (&glibc_bin, vec![glibc.clone()]),
            (&openssl, vec![glibc.clone(), openssl.clone()]),
            (&glibc, vec![]),
        ] {
            lock.paths.insert(
                path.clone(),
                LockedPathInfo {
                    nar_hash: format!("sha256:{}", path.hash),
                    nar_size: path.to_absolute().len() as u64,
                    references: refs,
                },
            );
        }
        record_nope_and_is_linux(&mut lock);
        lock.functions.push(LockedFunction {
            set: "<nixpkgs>".into(),
            attr_path: vec![Step::attr("stdenv"), Step::attr("mkDerivation")],
            functor: false,
            attributes: None,
        });
        lock
    }

    /// The bytes of a lock file are its users' diffs: this lock, written, must stay exactly
    /// the file recorded beside this module.
    #[test]
    fn a_written_lock_is_the_recorded_file_byte_for_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = golden_lock();
        lock.write(dir.path()).expect("written");
        let written = std::fs::read_to_string(dir.path().join(LOCK_FILE)).expect("read");
        assert_eq!(written, include_str!("lock_golden.json"));
        assert_eq!(LockFile::read(dir.path()).expect("read"), Some(lock));
    }
}
