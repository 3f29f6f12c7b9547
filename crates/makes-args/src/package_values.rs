//! Package sets and package references as evaluator values: a set is an open attribute set
//! (its native helpers listed, every other name resolved on selection), a resolved package
//! is a derivation-like set whose `outPath` carries its store path as context.

use crate::native_packages::native_package_set;
use makes_eval::{
    from_json, make_primop, Attrs, Context, EvalError, EvalErrorKind, NixString, OpenAttrs,
    PrimOpFn, Thunk, Value,
};
use makes_store::make_store_path;
use makes_store::packages::{
    Description, PackageMode, PackageSetSource, Packages, SetOrigin, UsedOutput,
};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// The attribute every package reference lists, naming it: `{ set; attrPath; outputName; }`.
pub const PACKAGE_MARKER: &str = "__makesPackage";

/// The value of a package set: makes' native helpers (`buildEnv`, `writeShellScript`,
/// `runtimeShell`, `dockerTools.pullImage`, ...) and, for any other name, a package
/// reference resolved by the backend when forced.
pub fn package_set_value(packages: &Rc<Packages>, source: PackageSetSource) -> Value {
    let set = packages.register_set(source);
    let lookup = Rc::new(Lookup {
        packages: packages.clone(),
        set: set.clone(),
        prefix: Vec::new(),
        memo: RefCell::default(),
    });
    // runtimeShell is bash of the set itself, as in nixpkgs.
    let bash = lookup
        .lookup("bash")
        .unwrap_or_else(|| Thunk::value(Value::Null));
    let runtime_shell = Thunk::deferred(move |ev| {
        let bash = bash.force(ev)?;
        let s = ev.coerce_to_string(&bash, makes_eval::CoercionMode::INTERPOLATION, no_span())?;
        let mut context = Context::default();
        s.merge_context_into(&mut context);
        Ok(Value::String(NixString::with_context(
            [s.as_bytes(), b"/bin/bash"].concat(),
            context,
        )))
    });
    let Value::Attrs(native) = native_package_set(packages.recipes(), runtime_shell) else {
        unreachable!("the native package set is a set")
    };
    let mut entries = (*native).clone();
    // A native sub-set (`dockerTools`) keeps the set's other names under it
    // (`dockerTools.buildImage` is the set's own).
    if let Some(docker_tools) = native.get("dockerTools") {
        let (native_sub, packages, set) =
            (docker_tools.value.clone(), packages.clone(), set.clone());
        let open = Thunk::deferred(move |ev| {
            let Value::Attrs(listed) = native_sub.force(ev)? else {
                return native_sub.force(ev);
            };
            let lookup = Rc::new(Lookup {
                packages: packages.clone(),
                set: set.clone(),
                prefix: vec!["dockerTools".to_owned()],
                memo: RefCell::default(),
            });
            Ok(Value::Attrs(Rc::new(Attrs::open(
                (*listed).clone(),
                lookup,
            ))))
        });
        entries.insert("dockerTools", open, docker_tools.span);
    }
    entries.insert("lib", lib_thunk(packages, &set), None);
    entries.insert(
        "__makesPackageSet",
        Thunk::value(Value::string(set.as_str())),
        None,
    );
    Value::Attrs(Rc::new(Attrs::open(entries, lookup)))
}

/// nixpkgs' `lib` of the set: pure Nix, evaluated by makes' own evaluator from the set's
/// source (a checkout, or what Nix fetched for a pin).
fn lib_thunk(packages: &Rc<Packages>, set: &str) -> Thunk {
    let source = packages.set_source(set);
    let packages = packages.clone();
    let set = set.to_owned();
    Thunk::deferred(move |ev| {
        let Some(source) = source else {
            return Err(EvalError::other(format!("unknown package set {set}"), None));
        };
        let unavailable = |why: String| {
            package_error(
                "makes::packages::lib",
                format!("cannot read nixpkgs' lib of the package set {set}: {why}"),
                None,
            )
        };
        let lib = match &source.origin {
            SetOrigin::Checkout(dir) => dir.join("lib"),
            SetOrigin::Github { .. } => packages.pinned_lib(&set, &source).map_err(unavailable)?,
        };
        ev.eval_file(&lib).map_err(|e| unavailable(e.to_string()))
    })
}

/// The unlisted attributes of a package set (or of a symbolic reference): each a reference
/// one level deeper, shared once made.
struct Lookup {
    packages: Rc<Packages>,
    set: String,
    prefix: Vec<String>,
    memo: RefCell<HashMap<String, Thunk>>,
}

impl OpenAttrs for Lookup {
    fn lookup(&self, name: &str) -> Option<Thunk> {
        // Names of the language's protocols (`__toString`, `__functor`) are no packages.
        if name.starts_with("__") {
            return None;
        }
        if let Some(t) = self.memo.borrow().get(name) {
            return Some(t.clone());
        }
        let packages = self.packages.clone();
        let set = self.set.clone();
        let mut path = self.prefix.clone();
        path.push(name.to_owned());
        let thunk = Thunk::deferred(move |_| reference_value(&packages, &set, path));
        self.memo
            .borrow_mut()
            .insert(name.to_owned(), thunk.clone());
        Some(thunk)
    }
}

/// The value at `path` of the set `set`, as the backend describes it.
fn reference_value(
    packages: &Rc<Packages>,
    set: &str,
    path: Vec<String>,
) -> makes_eval::Result<Value> {
    if matches!(packages.mode(), PackageMode::Symbolic) {
        if let Some(answer) = platform_predicate(&path) {
            return Ok(Value::Bool(answer));
        }
        return Ok(symbolic_value(packages, set, path));
    }
    let what = format!("'{}' of the package set {set}", path.join("."));
    let description = packages.describe(set, &path).map_err(|message| {
        package_error(
            "makes::packages::unresolved",
            format!("cannot resolve {what}: {message}"),
            None,
        )
    })?;
    match description {
        Description::Derivation {
            name,
            output_name,
            outputs,
        } => Ok(derivation_value(
            packages,
            Rc::new(Package {
                set: set.to_owned(),
                path,
                name,
                outputs,
            }),
            &output_name,
        )),
        Description::Set { names } => {
            let mut attrs = Attrs::new();
            for n in names {
                let packages = packages.clone();
                let set = set.to_owned();
                let mut child = path.clone();
                child.push(n.clone());
                attrs.insert(
                    n.as_str(),
                    Thunk::deferred(move |_| reference_value(&packages, &set, child)),
                    None,
                );
            }
            Ok(Value::Attrs(Rc::new(attrs)))
        }
        Description::Value { value } => Ok(from_json(&value)),
        Description::Function => {
            let message = function_message(&what);
            let func: PrimOpFn = Rc::new(move |_, _| {
                Err(package_error(
                    "makes::packages::function",
                    message.clone(),
                    None,
                ))
            });
            Ok(make_primop(path.last().map_or("function", |s| s), 1, func))
        }
        Description::Missing => Err(EvalError::new(
            EvalErrorKind::External {
                code: "makes::packages::missing",
                message: format!("attribute {what} is missing"),
                help: None,
                related: Vec::new(),
            },
            None,
        )),
        Description::Unsupported { what: kind } => Err(package_error(
            "makes::packages::unsupported",
            format!("{what} is {kind}, which makes cannot take from a package set yet"),
            None,
        )),
    }
}

/// `stdenv.isLinux`, `stdenv.hostPlatform.isDarwin`, ...: what the set answers on this host,
/// where jobs are built (a symbolic set knows no package, but knows its platform).
fn platform_predicate(path: &[String]) -> Option<bool> {
    let [.., parent, name] = path else {
        return None;
    };
    let platform = ["stdenv", "hostPlatform", "buildPlatform", "targetPlatform"];
    if !platform.contains(&parent.as_str()) {
        return None;
    }
    let (os, arch) = (std::env::consts::OS, std::env::consts::ARCH);
    Some(match name.as_str() {
        "isLinux" => os == "linux",
        "isDarwin" => os == "macos",
        "isFreeBSD" => os == "freebsd",
        "isWindows" => os == "windows",
        "isx86_64" => arch == "x86_64",
        "isAarch64" => arch == "aarch64",
        "isi686" | "isx86_32" => arch == "x86",
        "isx86" => matches!(arch, "x86" | "x86_64"),
        "isAarch32" => arch == "arm",
        "is64bit" => cfg!(target_pointer_width = "64"),
        "is32bit" => cfg!(target_pointer_width = "32"),
        _ => return None,
    })
}

fn function_message(what: &str) -> String {
    format!(
        "{what} is a function of nixpkgs: makes calls no nixpkgs function except its native helpers (buildEnv, symlinkJoin, runCommand, writeText, writeTextFile, writeShellScript, writeShellScriptBin, dockerTools.pullImage, dockerTools.buildImage, dockerTools.buildLayeredImage, dockerTools.streamLayeredImage)"
    )
}

/// A package as the backend described it.
struct Package {
    set: String,
    path: Vec<String>,
    name: String,
    outputs: BTreeMap<String, String>,
}

/// The package `pkg` standing for its output `output` (as `pkg.out`, `pkg.bin` do).
fn derivation_value(packages: &Rc<Packages>, pkg: Rc<Package>, output: &str) -> Value {
    let mut attrs = Attrs::new();
    attrs.insert("type", Thunk::value(Value::string("derivation")), None);
    attrs.insert("name", Thunk::value(Value::string(pkg.name.as_str())), None);
    attrs.insert("outputName", Thunk::value(Value::string(output)), None);
    attrs.insert(
        "outputs",
        Thunk::value(Value::List(Rc::new(
            pkg.outputs
                .keys()
                .map(|o| Thunk::value(Value::string(o.as_str())))
                .collect(),
        ))),
        None,
    );
    attrs.insert(
        PACKAGE_MARKER,
        Thunk::value(marker(&pkg.set, &pkg.path, output)),
        None,
    );
    if let Some(path) = pkg.outputs.get(output) {
        let (packages2, pkg2, output2, path) = (
            packages.clone(),
            pkg.clone(),
            output.to_owned(),
            path.clone(),
        );
        attrs.insert(
            "outPath",
            Thunk::deferred(move |_| {
                packages2.record(UsedOutput {
                    set: pkg2.set.clone(),
                    attr_path: pkg2.path.clone(),
                    output: output2,
                    name: pkg2.name.clone(),
                    path: path.clone(),
                });
                Ok(store_path_string(path))
            }),
            None,
        );
    }
    for other in pkg.outputs.keys() {
        let (packages2, pkg2, other2) = (packages.clone(), pkg.clone(), other.clone());
        attrs.insert(
            other.as_str(),
            Thunk::deferred(move |_| Ok(derivation_value(&packages2, pkg2, &other2))),
            None,
        );
    }
    Value::Attrs(Rc::new(attrs))
}

/// An unresolved reference (symbolic mode): a derivation-like set whose `outPath` is a
/// placeholder store path, and whose other attributes are references one level deeper.
fn symbolic_value(packages: &Rc<Packages>, set: &str, path: Vec<String>) -> Value {
    let name = path.last().cloned().unwrap_or_default();
    let placeholder = placeholder_path(set, &path);
    let mut attrs = Attrs::new();
    attrs.insert("type", Thunk::value(Value::string("derivation")), None);
    attrs.insert("name", Thunk::value(Value::string(name.as_str())), None);
    attrs.insert("outputName", Thunk::value(Value::string("out")), None);
    attrs.insert(
        PACKAGE_MARKER,
        Thunk::value(marker(set, &path, "out")),
        None,
    );
    let (packages2, set2, path2) = (packages.clone(), set.to_owned(), path.clone());
    attrs.insert(
        "outPath",
        Thunk::deferred(move |_| {
            packages2.record(UsedOutput {
                set: set2,
                attr_path: path2,
                output: "out".into(),
                name,
                path: placeholder.clone(),
            });
            Ok(store_path_string(placeholder))
        }),
        None,
    );
    // Called, the reference is a nixpkgs function (`stdenv.mkDerivation`, `linkFarm`,
    // `pkg.override`): say so rather than "not a function but a set".
    let message = function_message(&format!("'{}' of the package set {set}", path.join(".")));
    let called: PrimOpFn = Rc::new(move |_, _| {
        Err(package_error(
            "makes::packages::function",
            message.clone(),
            None,
        ))
    });
    attrs.insert(
        "__functor",
        Thunk::value(make_primop("__functor", 2, called)),
        None,
    );
    let lookup = Rc::new(Lookup {
        packages: packages.clone(),
        set: set.to_owned(),
        prefix: path,
        memo: RefCell::default(),
    });
    Value::Attrs(Rc::new(Attrs::open(attrs, lookup)))
}

/// The placeholder path of an unresolved reference: a valid store path no real package has
/// (its hash covers the set and the attribute path), named after the attribute.
pub fn placeholder_path(set: &str, path: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"makes-unresolved-package\0");
    hasher.update(set.as_bytes());
    for p in path {
        hasher.update(b"\0");
        hasher.update(p.as_bytes());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let name: String = path
        .last()
        .map(|n| {
            n.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "+-._?=".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let name = if name.is_empty() || name.starts_with('.') {
        format!("package{name}")
    } else {
        name
    };
    make_store_path("makes-unresolved", &digest, &name).to_absolute()
}

fn marker(set: &str, path: &[String], output: &str) -> Value {
    let mut attrs = Attrs::new();
    attrs.insert("set", Thunk::value(Value::string(set)), None);
    attrs.insert(
        "attrPath",
        Thunk::value(Value::List(Rc::new(
            path.iter()
                .map(|p| Thunk::value(Value::string(p.as_str())))
                .collect(),
        ))),
        None,
    );
    attrs.insert("outputName", Thunk::value(Value::string(output)), None);
    Value::Attrs(Rc::new(attrs))
}

fn store_path_string(path: String) -> Value {
    let mut ctx = Context::default();
    ctx.paths.insert(path.as_str().into());
    Value::String(NixString::with_context(path, ctx))
}

fn package_error(code: &'static str, message: String, help: Option<String>) -> EvalError {
    EvalError::new(
        EvalErrorKind::External {
            code,
            message,
            help,
            related: Vec::new(),
        },
        None,
    )
}

fn no_span() -> makes_syntax::Span {
    makes_syntax::Span {
        file: makes_syntax::FileId(u32::MAX),
        start: 0,
        end: 0,
    }
}
