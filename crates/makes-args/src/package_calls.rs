//! The argument of a call of a package-set function (`stdenv.mkDerivation { ... }`,
//! `hello.overrideAttrs (old: ...)`) as Nix code, so that the backend's Nix makes the call.
//!
//! Plain data is written as literals; package references (and package sets) as the steps
//! that reach them from `__makesSets`; project files as paths relative to the project
//! (Nix runs there), which Nix copies to the same store paths makes does; functions written
//! in makes.nix as `let <the variables they capture> in <their source text>`; paths makes
//! builds itself (a `makeScript`, a `fetchGithub` source) as `builtins.storePath "<path>"`,
//! recorded so that Nix gets them in its store before it builds the call; built-ins (also
//! applied to some arguments) as `builtins.<name>`. Anything else (makes' own functions) cannot
//! cross, and the error names it.

use crate::package_values::PACKAGE_MARKER;
use makes_eval::{CapturedVariable, Closure, Counted, EvalError, Evaluator, NixString, Value};
use makes_store::packages::{nix_string, Packages, Step, SETS_VARIABLE};
use std::path::Path;

/// How deep and how large an argument may be: a set with a cycle, or nixpkgs itself handed
/// over by value, stops here.
const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 200_000;

/// Writes `value` as Nix code.
pub fn argument_code(
    ev: &Evaluator,
    packages: &Packages,
    value: &Value,
) -> makes_eval::Result<String> {
    let mut writer = CodeWriter {
        ev,
        packages,
        nodes: 0,
        writing: Vec::new(),
        recursive: Vec::new(),
    };
    writer.value(value, 0, "the argument")
}

struct CodeWriter<'a> {
    ev: &'a Evaluator,
    packages: &'a Packages,
    nodes: usize,
    /// The functions being written, innermost last.
    writing: Vec<Counted<Closure>>,
    /// Those of them met again while being written (a function that captures itself, as a
    /// recursive `let` binding does): each is bound to a name its code refers to.
    recursive: Vec<Counted<Closure>>,
}

impl CodeWriter<'_> {
    fn value(&mut self, value: &Value, depth: usize, what: &str) -> makes_eval::Result<String> {
        self.nodes += 1;
        if depth > MAX_DEPTH || self.nodes > MAX_NODES {
            return Err(cannot_cross(
                what,
                "it is too deep or too large to hand to Nix",
            ));
        }
        Ok(match value {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) if *i < 0 => format!("({i})"),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_code(*f),
            Value::String(s) => self.string(s, what)?,
            Value::Path(p) => self.path(Path::new(&**p)),
            Value::List(items) => {
                let mut out = String::from("[ ");
                for (i, item) in items.iter().enumerate() {
                    let item = item.force(self.ev)?;
                    out.push_str(&format!(
                        "({}) ",
                        self.value(&item, depth + 1, &format!("{what}, item {i}"))?
                    ));
                }
                out.push(']');
                out
            }
            Value::Attrs(attrs) => {
                if let Some(code) = self.reference(value)? {
                    return Ok(code);
                }
                if let (Some(kind), Some(out_path)) = (attrs.get("type"), attrs.get("outPath")) {
                    if matches!(kind.value.force(self.ev)?, Value::String(k) if k.as_bytes() == b"derivation")
                    {
                        let out_path = out_path.value.force(self.ev)?;
                        let out_path =
                            self.value(&out_path, depth + 1, &format!("{what}, its outPath"))?;
                        let name = match attrs.get("name").map(|a| a.value.force(self.ev)) {
                            Some(Ok(Value::String(s))) => self.string(&s, what)?,
                            _ => nix_string("package"),
                        };
                        return Ok(derivation_code(&name, &out_path));
                    }
                }
                let mut out = String::from("{ ");
                for (name, attr) in attrs.iter() {
                    let v = attr.value.force(self.ev)?;
                    let code = self.value(&v, depth + 1, &format!("{what}, attribute '{name}'"))?;
                    out.push_str(&format!("{} = ({code}); ", nix_string(name)));
                }
                out.push('}');
                out
            }
            Value::Lambda(closure) => {
                // The function itself, or a copy of it that it makes (`let self = f a; in
                // x: ... self ...` makes one per level): its name, bound around it.
                let outer = self
                    .writing
                    .iter()
                    .find(|c| Counted::ptr_eq(c, closure) || self.ev.same_function(c, closure))
                    .cloned();
                if let Some(outer) = outer {
                    if !self.recursive.iter().any(|c| Counted::ptr_eq(c, &outer)) {
                        self.recursive.push(outer.clone());
                    }
                    return Ok(self.recursive_name(&outer));
                }
                self.writing.push(closure.clone());
                let code = self.lambda(closure, depth, what);
                self.writing.pop();
                let code = code?;
                if self.recursive.iter().any(|c| Counted::ptr_eq(c, closure)) {
                    // Nix's `let` is recursive: the name in the code is the function itself.
                    let name = self.recursive_name(closure);
                    format!("(let {name} = {code}; in {name})")
                } else {
                    code
                }
            }
            Value::PrimOp(op) => {
                if let Some((set, steps)) = self.packages.lambda_steps(op) {
                    makes_store::packages::value_code(&set_code(&set), &steps)
                } else if self.is_builtin(op) {
                    format!("builtins.{}", op.name)
                } else {
                    return Err(cannot_cross(
                        what,
                        &format!("it is makes' own function '{}'", op.name),
                    ));
                }
            }
            Value::PrimOpApp(app) if self.is_builtin(&app.op) => {
                // `builtins.mapAttrs f`: the built-in applied to its arguments' code.
                let mut out = format!("(builtins.{}", app.op.name);
                for (i, arg) in app.args.iter().enumerate() {
                    let arg = arg.force(self.ev)?;
                    let code = self.value(
                        &arg,
                        depth + 1,
                        &format!("argument {} of '{}' in {what}", i + 1, app.op.name),
                    )?;
                    out.push_str(&format!(" ({code})"));
                }
                out.push(')');
                out
            }
            Value::PrimOpApp(app) => {
                return Err(cannot_cross(
                    what,
                    &format!(
                        "it is the built-in '{}' applied to some arguments",
                        app.op.name
                    ),
                ))
            }
        })
    }

    /// A function written in makes.nix: `let <the variables it captures> in <its source>`.
    fn lambda(
        &mut self,
        closure: &Closure,
        depth: usize,
        what: &str,
    ) -> makes_eval::Result<String> {
        let mut bindings = String::new();
        for var in self.ev.captured_variables(closure)? {
            if let CapturedVariable::Local { name, value } = var {
                let v = value.force(self.ev)?;
                let code = self.value(
                    &v,
                    depth + 1,
                    &format!("the variable '{name}' of a function in {what}"),
                )?;
                bindings.push_str(&format!("{name} = ({code}); "));
            }
        }
        let source = self
            .ev
            .closure_source(closure, |p| Ok(self.path(Path::new(p))))?
            .ok_or_else(|| {
                cannot_cross(what, "it is a function whose source text is not at hand")
            })?;
        Ok(if bindings.is_empty() {
            format!("({source})")
        } else {
            format!("(let {bindings}in {source})")
        })
    }

    /// The name a recursive function is bound to in the code.
    fn recursive_name(&self, closure: &Counted<Closure>) -> String {
        let index = self
            .recursive
            .iter()
            .position(|c| Counted::ptr_eq(c, closure))
            .unwrap_or(self.recursive.len());
        format!("__makesFunction{index}")
    }

    /// A file or directory: where it is, and (when it exists) the store path makes gives
    /// its contents, so that the code of a call changes when the file does (the lock file
    /// keys calls by their code).
    fn path(&self, path: &Path) -> String {
        let code = path_code(self.packages.project_dir(), path);
        let placeholder = makes_syntax::Span {
            file: makes_syntax::FileId(u32::MAX),
            start: 0,
            end: 0,
        };
        match self
            .ev
            .copy_path_to_store(&path.to_string_lossy(), placeholder)
        {
            Ok(stored) => format!("(let __makesContent = {}; in {code})", nix_string(&stored)),
            // Nix reports a missing file where it is used, as it would.
            Err(_) => code,
        }
    }

    /// Whether `op` is `builtins.<its name>`, which Nix has too.
    fn is_builtin(&self, op: &std::rc::Rc<makes_eval::PrimOp>) -> bool {
        let Ok(Value::Attrs(builtins)) =
            self.ev
                .eval_source("«builtins»", "builtins", self.packages.project_dir())
        else {
            return false;
        };
        let Some(attr) = builtins.get(&op.name) else {
            return false;
        };
        matches!(attr.value.force(self.ev), Ok(Value::PrimOp(p)) if std::rc::Rc::ptr_eq(&p, op))
    }

    /// The code of a package reference, a package-set function or a package set.
    fn reference(&mut self, value: &Value) -> makes_eval::Result<Option<String>> {
        let Value::Attrs(attrs) = value else {
            return Ok(None);
        };
        if let Some(set) = attrs.get("__makesPackageSet") {
            let Value::String(id) = set.value.force(self.ev)? else {
                return Ok(None);
            };
            return Ok(Some(set_code(&id.lossy())));
        }
        let Some(marker) = attrs.get(PACKAGE_MARKER) else {
            return Ok(None);
        };
        let Value::Attrs(marker) = marker.value.force(self.ev)? else {
            return Ok(None);
        };
        let (set, steps, output) = crate::package_values::read_marker(self.ev, &marker)?;
        // The package is a dependency of the call: resolved now, so that it is recorded
        // (and locked) as every package the evaluation uses is.
        if output.is_some() {
            if let Some(out_path) = attrs.get("outPath") {
                out_path.value.force(self.ev)?;
            }
        }
        let code = makes_store::packages::value_code(&set_code(&set), &steps);
        Ok(Some(match output {
            Some(output) => format!("(builtins.getAttr {} {code})", nix_string(&output)),
            None => code,
        }))
    }

    /// A string: its text, with each store path it refers to written as the Nix code that
    /// makes that path (so that Nix's string keeps the same dependencies).
    fn string(&mut self, s: &NixString, what: &str) -> makes_eval::Result<String> {
        let mut splices: Vec<(Vec<u8>, String)> = Vec::new();
        for path in s.context_paths() {
            let store_path = makes_store::StorePath::parse(path).ok();
            let used = self
                .packages
                .used()
                .into_iter()
                .find(|u| Some(&u.path) == store_path.as_ref());
            let code = if let Some(used) = used {
                format!(
                    "(builtins.getAttr {} {})",
                    nix_string(&used.output),
                    makes_store::packages::value_code(&set_code(&used.set), &used.attr_path)
                )
            } else if let Some(source) = self.ev.source_of_store_path(path) {
                self.path(&source)
            } else if let Some(built) = &store_path {
                // A path makes builds itself: Nix gets it (and its closure) in its store
                // before it builds the call, and refers to it as to any path it has.
                self.packages.record_handed(built);
                format!("(builtins.storePath {})", nix_string(path))
            } else {
                return Err(cannot_cross(
                    what,
                    &format!("it refers to {path}, which is not a store path"),
                ));
            };
            splices.push((path.as_bytes().to_vec(), code));
        }
        let bytes = s.as_bytes();
        let quote = |b: &[u8]| {
            String::from_utf8(makes_eval::quote_bytes(b))
                .map_err(|_| cannot_cross(what, "it holds a string that is not UTF-8"))
        };
        let mut parts: Vec<String> = Vec::new();
        let mut literal_start = 0;
        let mut i = 0;
        while i < bytes.len() {
            if let Some((needle, code)) = splices.iter().find(|(n, _)| bytes[i..].starts_with(n)) {
                parts.push(quote(&bytes[literal_start..i])?);
                parts.push(format!("\"${{{code}}}\""));
                i += needle.len();
                literal_start = i;
            } else {
                i += 1;
            }
        }
        parts.push(quote(&bytes[literal_start..])?);
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            format!("({})", parts.join(" + "))
        })
    }
}

/// The code of a derivation makes builds itself, as Nix code: what nixpkgs' functions look
/// at of a package (`type`, `name`, `outPath`, `outputName`, `outputs`, `out`, `all`), its
/// output being the path Nix gets from makes.
fn derivation_code(name: &str, out_path: &str) -> String {
    format!(
        "(let __makesDrv = {{ type = \"derivation\"; name = ({name}); outPath = ({out_path}); outputName = \"out\"; outputs = [ \"out\" ]; out = __makesDrv; all = [ __makesDrv ]; }}; in __makesDrv)"
    )
}

/// The code of the package set `id`.
fn set_code(id: &str) -> String {
    format!("{SETS_VARIABLE}.{}", nix_string(id))
}

/// A path: relative to the project when inside it (Nix runs in the project directory), so
/// that the call reads the same on every machine.
fn path_code(project: &Path, path: &Path) -> String {
    match path.strip_prefix(project) {
        Ok(rest) if rest.as_os_str().is_empty() => "./.".to_owned(),
        Ok(rest) => format!("(./. + {})", nix_string(&format!("/{}", rest.display()))),
        Err(_) => format!("(/. + {})", nix_string(&path.display().to_string())),
    }
}

/// A float as Nix reads it back exactly (shortest round-trip digits; Nix's literals need a
/// `.` in the mantissa).
fn float_code(f: f64) -> String {
    let magnitude = f.abs();
    let text = if magnitude == 0.0 || (1e-5..1e15).contains(&magnitude) {
        let plain = format!("{magnitude}");
        if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        }
    } else {
        let exp = format!("{magnitude:e}");
        match exp.split_once('e') {
            Some((mantissa, power)) if !mantissa.contains('.') => format!("{mantissa}.0e{power}"),
            _ => exp,
        }
    };
    if f.is_sign_negative() && magnitude != 0.0 {
        format!("(-{text})")
    } else {
        text
    }
}

fn cannot_cross(what: &str, why: &str) -> EvalError {
    // A long chain of captured variables (a function that makes a new function of itself
    // at every level) is named by its two ends.
    let what = match (
        what.char_indices().nth(160),
        what.char_indices().rev().nth(160),
    ) {
        (Some((head, _)), Some((tail, _))) if tail > head + 40 => {
            format!("{} … {}", &what[..head], &what[tail..])
        }
        _ => what.to_owned(),
    };
    EvalError::new(
        makes_eval::EvalErrorKind::External {
            code: "makes::packages::argument",
            message: format!("{what} of a package-set function cannot be handed to Nix: {why}"),
            help: Some(
                "pass package references, plain data, project files and functions of those"
                    .to_owned(),
            ),
            related: Vec::new(),
        },
        None,
    )
}

/// The steps of a call of the function at `steps` with `argument`.
pub fn call_steps(steps: &[Step], argument: String) -> Vec<Step> {
    let mut out = steps.to_vec();
    out.push(Step::Call { call: argument });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use makes_store::packages::PackageMode;
    use std::rc::Rc;

    /// The argument code of what `src` evaluates to, in a project at /p.
    fn code(src: &str) -> Result<String, String> {
        let ev = Evaluator::new(
            Rc::new(makes_eval::DiskIo),
            makes_eval::EvalOptions::default(),
        );
        let packages = Packages::new(
            PackageMode::Symbolic,
            "/p".into(),
            None,
            makes_store::Recipes::default(),
        );
        let value = ev
            .eval_source("«test»", src, Path::new("/p"))
            .map_err(|e| e.to_string())?;
        argument_code(&ev, &packages, &value).map_err(|e| e.to_string())
    }

    #[test]
    fn data_and_functions_become_nix_code() {
        assert_eq!(
            code(r#"{ n = -1; s = "a${"b"}${"$"}{c}"; l = [ null true ./src ]; }"#).as_deref(),
            Ok(
                r#"{ "l" = ([ (null) (true) ((./. + "/src")) ]); "n" = ((-1)); "s" = ("ab\${c}"); }"#
            )
        );
        // A function with what it captures; globals need no binding.
        assert_eq!(
            code(r#"let suffix = "-x"; in old: { pname = old.pname + suffix; v = builtins.currentSystem; }"#)
                .as_deref(),
            Ok(r#"(let suffix = ("-x"); in old: { pname = old.pname + suffix; v = builtins.currentSystem; })"#)
        );
        assert_eq!(code("builtins.map").as_deref(), Ok("builtins.map"));
    }

    #[test]
    fn functions_that_capture_themselves_are_bound_to_a_name() {
        assert_eq!(
            code("let f = n: if n == 0 then [ ] else [ n ] ++ f (n - 1); in { g = f; }").as_deref(),
            Ok(
                r#"{ "g" = ((let __makesFunction0 = (let f = (__makesFunction0); in n: if n == 0 then [ ] else [ n ] ++ f (n - 1)); in __makesFunction0)); }"#
            )
        );
    }

    #[test]
    fn a_function_making_a_copy_of_itself_per_level_is_bound_once() {
        // As vulscanner's override_utils.nix: `self` is a new closure at every call.
        let written = code(
            r#"let
              over = is_pkg: override: let self = over is_pkg override; in
                pkg: if is_pkg pkg then override pkg else map self pkg;
              replace = names: new: over (x: builtins.elem x names) (_: new);
            in { f = replace [ "a" ] 1; }"#,
        )
        .expect("written");
        assert_eq!(
            written.matches("__makesFunction0 =").count(),
            1,
            "{written}"
        );
        assert!(written.contains("self = (__makesFunction0)"), "{written}");
    }

    #[test]
    fn what_cannot_cross_is_named() {
        // A built-in applied to arguments is the built-in applied to their code.
        assert_eq!(
            code("let f = builtins.map (x: x); in { g = f; }").as_deref(),
            Ok(r#"{ "g" = ((builtins.map ((x: x)))); }"#)
        );
        let err = code("let s = { a = s; }; in s").expect_err("a cycle");
        assert!(err.contains("too deep or too large"), "{err}");
    }

    #[test]
    fn paths_makes_builds_are_handed_to_nix() {
        let ev = Evaluator::new(
            Rc::new(makes_eval::DiskIo),
            makes_eval::EvalOptions::default(),
        );
        let packages = Packages::new(
            PackageMode::Symbolic,
            "/p".into(),
            None,
            makes_store::Recipes::default(),
        );
        let built = "/nix/store/0f1c39a6iw21r1frdhfk2hl6pypxvgfh-source";
        let src = format!(
            r#"let p = builtins.appendContext "{built}" {{ "{built}" = {{ path = true; }}; }}; in
            {{ s = "export X=${{p}}/bin"; d = {{ type = "derivation"; name = "tool"; outPath = p; }}; }}"#
        );
        let value = ev
            .eval_source("«test»", &src, Path::new("/p"))
            .expect("evaluates");
        let code = argument_code(&ev, &packages, &value).expect("written");
        let handed = format!("(builtins.storePath \"{built}\")");
        assert!(
            code.contains(&format!(
                r#""s" = (("export X=" + "${{{handed}}}" + "/bin"))"#
            )),
            "{code}"
        );
        assert!(
            code.contains(&format!(
                r#"type = "derivation"; name = ("tool"); outPath = (("" + "${{{handed}}}" + ""))"#
            )),
            "{code}"
        );
        let call = vec![makes_store::packages::Step::Call { call: code }];
        assert_eq!(
            packages.handed_in(&call),
            vec![makes_store::StorePath::parse(built).expect("a store path")]
        );
    }

    #[test]
    fn paths_are_project_relative_and_floats_read_back() {
        let project = Path::new("/p");
        assert_eq!(path_code(project, Path::new("/p/src")), "(./. + \"/src\")");
        assert_eq!(path_code(project, Path::new("/p")), "./.");
        assert_eq!(path_code(project, Path::new("/q")), "(/. + \"/q\")");
        assert_eq!(float_code(1.0), "1.0");
        assert_eq!(float_code(-2.5), "(-2.5)");
        assert_eq!(float_code(0.1), "0.1");
        assert_eq!(float_code(1e300), "1.0e300");
        assert_eq!(float_code(2.5e-7), "2.5e-7");
    }
}
