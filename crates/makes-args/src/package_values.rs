//! Package sets and package references as evaluator values: a set is an open attribute set
//! (its native helpers listed, every other name resolved on selection), a resolved package
//! is a derivation-like set whose `outPath` carries its store path as context, and a
//! function of the set is called by the backend (the call is one more step of the
//! reference, its argument written as Nix code).

use crate::native_packages::native_package_set;
use makes_eval::{
    from_json, make_primop, Attrs, Context, EvalError, EvalErrorKind, NixString, OpenAttrs,
    PrimOpFn, Thunk, UnlistedNames, Value,
};
use makes_store::packages::{
    display_steps, plain_attr_path, Description, PackageMode, PackageSetSource, Packages,
    SetOrigin, Step, UsedOutput,
};
use makes_store::{make_store_path, StorePath};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// The attribute every package reference lists, naming it: `{ set; attrPath; outputName; }`
/// (`attrPath` holds names, and calls as `{ call = "<argument as Nix code>"; }`; a function
/// of the set has no `outputName`).
pub const PACKAGE_MARKER: &str = "__makesPackage";

/// The value of a package set: makes' native helpers (`buildEnv`, `writeShellScript`,
/// `runtimeShell`, `dockerTools.pullImage`, ...) and, for any other name, a package
/// reference resolved by the backend when forced.
pub fn package_set_value(packages: &Rc<Packages>, source: PackageSetSource) -> Value {
    let set = packages.register_set(source);
    let lookup = Rc::new(Lookup::new(packages, &set, Vec::new(), Names::OfTheSet));
    // runtimeShell is bash of the set itself, as in nixpkgs; asked of the backend only when
    // used (making a set asks nothing: `--list` runs no Nix).
    let (packages2, set2) = (packages.clone(), set.clone());
    let runtime_shell = Thunk::deferred(move |ev| {
        let bash = reference_value(&packages2, &set2, vec![Step::attr("bash")])?;
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
    let mut entries = native.to_attrs();
    // A native sub-set (`dockerTools`) keeps the set's other names under it
    // (`dockerTools.buildImage` is the set's own).
    if let Some(docker_tools) = native.get("dockerTools") {
        let (native_sub, packages, set) =
            (docker_tools.value.clone(), packages.clone(), set.clone());
        let open = Thunk::deferred(move |ev| {
            let Value::Attrs(listed) = native_sub.force(ev)? else {
                return native_sub.force(ev);
            };
            let lookup = Rc::new(Lookup::new(
                &packages,
                &set,
                vec![Step::attr("dockerTools")],
                Names::Unknown,
            ));
            Ok(Value::attrs(Attrs::open(listed.to_attrs(), lookup)))
        });
        entries.insert("dockerTools", open, docker_tools.span);
    }
    entries.insert("lib", lib_thunk(packages, &set), None);
    entries.insert(
        "__makesPackageSet",
        Thunk::value(Value::string(set.as_str())),
        None,
    );
    Value::attrs(Attrs::open(entries, lookup))
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
            SetOrigin::Github { .. } => packages
                .pinned_lib(&set, &source)
                .map_err(|e| unavailable(e.to_string()))?,
        };
        ev.eval_file(&lib).map_err(|e| unavailable(e.to_string()))
    })
}

/// Which names an open set has beyond those it lists.
enum Names {
    /// The package set's own: asked of the backend ([`Packages::has_attribute`]).
    OfTheSet,
    /// Exactly these (a package whose attributes the backend listed).
    Known(BTreeSet<String>),
    /// Not known here: every name is taken as present and resolved when used.
    Unknown,
}

/// The unlisted attributes of a package set (or of a reference): each a reference one step
/// deeper, shared once made.
struct Lookup {
    packages: Rc<Packages>,
    set: String,
    prefix: Vec<Step>,
    names: Names,
    memo: RefCell<HashMap<String, Thunk>>,
}

impl Lookup {
    fn new(packages: &Rc<Packages>, set: &str, prefix: Vec<Step>, names: Names) -> Self {
        Lookup {
            packages: packages.clone(),
            set: set.to_owned(),
            prefix,
            names,
            memo: RefCell::default(),
        }
    }

    fn present(&self, name: &str, path: &[Step]) -> bool {
        match &self.names {
            Names::OfTheSet => self.packages.has_attribute(&self.set, name) != Some(false),
            Names::Known(names) => {
                let present = names.contains(name);
                if !present {
                    self.packages.record_absent(&self.set, path);
                }
                present
            }
            Names::Unknown => !self.packages.lock().is_some_and(|l| {
                matches!(self.packages.mode(), PackageMode::Lock) && l.is_absent(&self.set, path)
            }),
        }
    }
}

impl OpenAttrs for Lookup {
    fn lookup(&self, name: &str) -> Option<Thunk> {
        // Names of the language's protocols (`__toString`, `__functor`) are no packages;
        // a functor set's `__functionArgs` (what `lib.functionArgs` reads) is its data.
        let function_args =
            name == "__functionArgs" && matches!(&self.names, Names::Known(n) if n.contains(name));
        if name.starts_with("__") && !function_args {
            return None;
        }
        // A reference not resolved yet stands for a package as `pkgs.NAME` gives it, which
        // has no `outputSpecified` (nixpkgs sets it on `pkg.OUTPUT` only): lib.getOutput
        // then selects the output it asks for, as it does on the real derivation.
        if name == "outputSpecified" && matches!(self.names, Names::Unknown) {
            return None;
        }
        if let Some(t) = self.memo.borrow().get(name) {
            return Some(t.clone());
        }
        let mut path = self.prefix.clone();
        path.push(Step::attr(name));
        if !self.present(name, &path) {
            return None;
        }
        let packages = self.packages.clone();
        let set = self.set.clone();
        let thunk = Thunk::deferred(move |_| reference_value(&packages, &set, path));
        self.memo
            .borrow_mut()
            .insert(name.to_owned(), thunk.clone());
        Some(thunk)
    }

    fn names(&self) -> Result<Vec<String>, UnlistedNames> {
        let what = if self.prefix.is_empty() {
            format!("the package set {}", self.set)
        } else {
            format!(
                "'{}' of the package set {}",
                display_steps(&self.prefix),
                self.set
            )
        };
        match &self.names {
            Names::Known(names) => Ok(names.iter().cloned().collect()),
            Names::OfTheSet => {
                self.packages
                    .attribute_names(&self.set)
                    .map_err(|why| UnlistedNames {
                        reason: format!("{what} cannot be listed: {why}"),
                        help: None,
                    })
            }
            Names::Unknown => Err(UnlistedNames {
                reason: format!(
                    "the names of {what} are not known in this evaluation (no package backend \
                     resolved it)"
                ),
                help: Some(
                    "run with --packages nix, or `makes lock` where Nix is installed".to_owned(),
                ),
            }),
        }
    }
}

/// The value at `path` of the set `set`, as the backend describes it.
fn reference_value(
    packages: &Rc<Packages>,
    set: &str,
    path: Vec<Step>,
) -> makes_eval::Result<Value> {
    if matches!(packages.mode(), PackageMode::Symbolic) {
        if let Some(answer) = plain_attr_path(&path).and_then(|p| platform_predicate(&p)) {
            return Ok(Value::Bool(answer));
        }
        return Ok(unresolved_value(packages, set, path, None));
    }
    let what = format!("'{}' of the package set {set}", display_steps(&path));
    let description = match packages.describe(set, &path) {
        Ok(d) => d,
        // Without a backend that knows it, the reference stays open: calling it or using
        // its files says what is missing, naming the function or package.
        Err(message) if matches!(packages.mode(), PackageMode::Lock) => {
            if let Some(answer) = plain_attr_path(&path).and_then(|p| platform_predicate(&p)) {
                return Ok(Value::Bool(answer));
            }
            return Ok(unresolved_value(
                packages,
                set,
                path,
                Some(message.to_string()),
            ));
        }
        Err(message) => {
            return Err(package_error(
                "makes::packages::unresolved",
                format!("cannot resolve {what}: {message}"),
                None,
            ))
        }
    };
    match description {
        Description::Derivation {
            name,
            output_name,
            outputs,
            attributes,
        } => Ok(derivation_value(
            packages,
            Rc::new(Package {
                set: set.to_owned(),
                path,
                name,
                outputs,
                attributes: attributes.map(|a| a.into_iter().collect()),
            }),
            &output_name,
            false,
        )),
        Description::Set { names } => {
            let mut attrs = Attrs::new();
            for n in names {
                let packages = packages.clone();
                let set = set.to_owned();
                let mut child = path.clone();
                child.push(Step::attr(n.as_str()));
                attrs.insert(
                    n.as_str(),
                    Thunk::deferred(move |_| reference_value(&packages, &set, child)),
                    None,
                );
            }
            Ok(Value::attrs(attrs))
        }
        Description::Value { value } => Ok(from_json(&value)),
        Description::Function {
            functor,
            attributes,
        } => Ok(function_value(packages, set, path, functor, attributes)),
        Description::Missing => {
            packages.record_absent(set, &path);
            Err(EvalError::new(
                EvalErrorKind::External {
                    code: "makes::packages::missing",
                    message: format!("attribute {what} is missing"),
                    help: None,
                    related: Vec::new(),
                },
                None,
            ))
        }
        Description::Unsupported { what: kind } => Err(package_error(
            "makes::packages::unsupported",
            format!("{what} is {kind}, which makes cannot take from a package set yet"),
            None,
        )),
    }
}

/// A function of the set (`stdenv.mkDerivation`, `hello.overrideAttrs`): called, its
/// argument is written as Nix code and the call resolved as one more step. It is what Nix
/// has it as: a function (`builtins.isFunction` is true of it) or, for a `functor`, a set
/// with `__functor` and the names the backend listed (`fetchurl ? override`).
fn function_value(
    packages: &Rc<Packages>,
    set: &str,
    path: Vec<Step>,
    functor: bool,
    attributes: Option<Vec<String>>,
) -> Value {
    let call = {
        let (packages, set, path) = (packages.clone(), set.to_owned(), path.clone());
        move |ev: &makes_eval::Evaluator, argument: &Thunk| {
            let argument = argument.force(ev)?;
            let code = crate::package_calls::argument_code(ev, &packages, &argument)?;
            let steps = crate::package_calls::call_steps(&path, code);
            // A lock that did not record this call cannot make it: say so here, where it is
            // made, rather than where its files are first needed.
            if matches!(packages.mode(), PackageMode::Lock) {
                if let Err(why) = packages.describe(&set, &steps) {
                    return Err(no_backend_error(&set, &path, &why.to_string()));
                }
            }
            reference_value(&packages, &set, steps)
        }
    };
    if !functor {
        let called: PrimOpFn = Rc::new(move |ev, args| call(ev, &args[0]));
        let op = make_primop(&display_steps(&path), 1, called);
        if let Value::PrimOp(p) = &op {
            packages.record_lambda(p.clone(), set, &path);
        }
        return op;
    }
    let mut attrs = Attrs::new();
    attrs.insert(PACKAGE_MARKER, Thunk::value(marker(set, &path, None)), None);
    let called: PrimOpFn = Rc::new(move |ev, args| call(ev, &args[1]));
    attrs.insert(
        "__functor",
        Thunk::value(make_primop("__functor", 2, called)),
        None,
    );
    let names = match attributes {
        Some(names) => Names::Known(names.into_iter().collect()),
        None => Names::Unknown,
    };
    let lookup = Rc::new(Lookup::new(packages, set, path, names));
    Value::attrs(Attrs::open(attrs, lookup))
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

/// The error of a call of the function at `path` that no backend can make here: why, and
/// the ways out.
fn no_backend_error(set: &str, path: &[Step], why: &str) -> EvalError {
    package_error(
        "makes::packages::no_backend",
        format!(
            "cannot call '{}' of the package set {set}: {why}",
            display_steps(path)
        ),
        Some(
            "install Nix (the backend \"nix\" makes the call), run `makes lock` where Nix is installed (the backend \"lock\" then builds what it recorded), or set MAKES_NIXPKGS to a package set Nix can read"
                .to_owned(),
        ),
    )
}

/// A package as the backend described it.
struct Package {
    set: String,
    path: Vec<Step>,
    name: String,
    outputs: BTreeMap<String, StorePath>,
    /// Its attribute names, when the backend listed them.
    attributes: Option<BTreeSet<String>>,
}

/// The package `pkg` standing for its output `output` (as `pkg.out`, `pkg.bin` do);
/// `selected` when the output was named (`pkg.bin`), which nixpkgs marks `outputSpecified`.
fn derivation_value(
    packages: &Rc<Packages>,
    pkg: Rc<Package>,
    output: &str,
    selected: bool,
) -> Value {
    let mut attrs = Attrs::new();
    if selected {
        attrs.insert("outputSpecified", Thunk::value(Value::Bool(true)), None);
    }
    attrs.insert("type", Thunk::value(Value::string("derivation")), None);
    attrs.insert("name", Thunk::value(Value::string(pkg.name.as_str())), None);
    attrs.insert("outputName", Thunk::value(Value::string(output)), None);
    attrs.insert(
        "outputs",
        Thunk::value(Value::list(
            pkg.outputs
                .keys()
                .map(|o| Thunk::value(Value::string(o.as_str())))
                .collect(),
        )),
        None,
    );
    attrs.insert(
        PACKAGE_MARKER,
        Thunk::value(marker(&pkg.set, &pkg.path, Some(output))),
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
                Ok(store_path_string(&path))
            }),
            None,
        );
    }
    for other in pkg.outputs.keys() {
        let (packages2, pkg2, other2) = (packages.clone(), pkg.clone(), other.clone());
        attrs.insert(
            other.as_str(),
            Thunk::deferred(move |_| Ok(derivation_value(&packages2, pkg2, &other2, true))),
            None,
        );
    }
    // Its other attributes (`override`, `overrideAttrs`, `passthru` ones) are references
    // one step deeper.
    let names = match &pkg.attributes {
        Some(names) => Names::Known(names.clone()),
        None => Names::Unknown,
    };
    let lookup = Rc::new(Lookup::new(packages, &pkg.set, pkg.path.clone(), names));
    Value::attrs(Attrs::open(attrs, lookup))
}

/// An unresolved reference (symbolic mode, or a lock that does not know it): a
/// derivation-like set whose `outPath` is a placeholder store path (or, when `why` says why
/// nothing resolves it, an error), whose other attributes are references one step deeper,
/// and which, called, is a call of a function of the set.
fn unresolved_value(
    packages: &Rc<Packages>,
    set: &str,
    path: Vec<Step>,
    why: Option<String>,
) -> Value {
    let name = path
        .iter()
        .rev()
        .find_map(|s| s.as_attr())
        .unwrap_or_default()
        .to_owned();
    let placeholder = placeholder_path(set, &path);
    let mut attrs = Attrs::new();
    attrs.insert("type", Thunk::value(Value::string("derivation")), None);
    attrs.insert("name", Thunk::value(Value::string(name.as_str())), None);
    attrs.insert("outputName", Thunk::value(Value::string("out")), None);
    attrs.insert(
        PACKAGE_MARKER,
        Thunk::value(marker(set, &path, Some("out"))),
        None,
    );
    let (packages2, set2, path2, why2) =
        (packages.clone(), set.to_owned(), path.clone(), why.clone());
    attrs.insert(
        "outPath",
        Thunk::deferred(move |_| {
            if let Some(why) = &why2 {
                return Err(package_error(
                    "makes::packages::unresolved",
                    format!(
                        "cannot resolve '{}' of the package set {set2}: {why}",
                        display_steps(&path2)
                    ),
                    None,
                ));
            }
            packages2.record(UsedOutput {
                set: set2.clone(),
                attr_path: path2.clone(),
                output: "out".into(),
                name: name.clone(),
                path: placeholder.clone(),
            });
            Ok(store_path_string(&placeholder))
        }),
        None,
    );
    let (packages2, set2, path2) = (packages.clone(), set.to_owned(), path.clone());
    let called: PrimOpFn = Rc::new(move |ev, args| {
        if let Some(why) = &why {
            return Err(no_backend_error(&set2, &path2, why));
        }
        // Symbolic: the call is one more step, its argument written as it would be for Nix
        // (so that what cannot cross is reported here too).
        let argument = args[1].force(ev)?;
        let code = crate::package_calls::argument_code(ev, &packages2, &argument)?;
        Ok(unresolved_value(
            &packages2,
            &set2,
            crate::package_calls::call_steps(&path2, code),
            None,
        ))
    });
    attrs.insert(
        "__functor",
        Thunk::value(make_primop("__functor", 2, called)),
        None,
    );
    let lookup = Rc::new(Lookup::new(packages, set, path, Names::Unknown));
    Value::attrs(Attrs::open(attrs, lookup))
}

/// The placeholder path of an unresolved reference: a valid store path no real package has
/// (its hash covers the set and the attribute path), named after the attribute.
pub fn placeholder_path(set: &str, path: &[Step]) -> StorePath {
    let mut hasher = Sha256::new();
    hasher.update(b"makes-unresolved-package\0");
    hasher.update(set.as_bytes());
    for p in path {
        hasher.update(b"\0");
        match p {
            Step::Attr(name) => hasher.update(name.as_bytes()),
            Step::Call { call } => {
                hasher.update(b"\x01call\0");
                hasher.update(call.as_bytes());
            }
        }
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let name: String = path
        .iter()
        .rev()
        .find_map(|s| s.as_attr())
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
    make_store_path("makes-unresolved", &digest, &name)
}

fn marker(set: &str, path: &[Step], output: Option<&str>) -> Value {
    let mut attrs = Attrs::new();
    attrs.insert("set", Thunk::value(Value::string(set)), None);
    attrs.insert(
        "attrPath",
        Thunk::value(Value::list(
            path.iter()
                .map(|p| match p {
                    Step::Attr(name) => Thunk::value(Value::string(name.as_str())),
                    Step::Call { call } => {
                        let mut call_attrs = Attrs::new();
                        call_attrs.insert("call", Thunk::value(Value::string(call.as_str())), None);
                        Thunk::value(Value::attrs(call_attrs))
                    }
                })
                .collect(),
        )),
        None,
    );
    if let Some(output) = output {
        attrs.insert("outputName", Thunk::value(Value::string(output)), None);
    }
    Value::attrs(attrs)
}

/// The set, steps and output a package marker names.
pub fn read_marker(
    ev: &makes_eval::Evaluator,
    marker: &makes_eval::AttrSet,
) -> makes_eval::Result<(String, Vec<Step>, Option<String>)> {
    let text = |v: Value| match v {
        Value::String(s) => s.utf8().map(str::to_owned),
        other => Err(EvalError::type_error("a string", &other, None)),
    };
    let field = |name: &str| {
        marker
            .get(name)
            .map(|a| a.value.clone())
            .ok_or_else(|| EvalError::other(format!("a package marker without {name}"), None))
    };
    let set = text(field("set")?.force(ev)?)?;
    let Value::List(items) = field("attrPath")?.force(ev)? else {
        return Err(EvalError::other(
            "a package marker's attrPath is no list",
            None,
        ));
    };
    let mut steps = Vec::with_capacity(items.len());
    for item in items.iter() {
        steps.push(match item.force(ev)? {
            Value::Attrs(call) => {
                let call = call.get("call").ok_or_else(|| {
                    EvalError::other("a package marker's call without code", None)
                })?;
                Step::Call {
                    call: text(call.value.force(ev)?)?,
                }
            }
            other => Step::attr(text(other)?),
        });
    }
    let output = match marker.get("outputName") {
        Some(o) => Some(text(o.value.force(ev)?)?),
        None => None,
    };
    Ok((set, steps, output))
}

fn store_path_string(path: &StorePath) -> Value {
    let path = path.to_absolute();
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
