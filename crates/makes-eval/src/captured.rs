//! The variables a closure takes from outside its own text, so that a function written in
//! makes.nix can be handed to another Nix evaluator as `let <its variables> in <its source>`.

use crate::eval::{Env, Evaluator, Slots};
use crate::pool::Counted;
use crate::value::{Closure, Value};
use crate::{Result, Thunk};
use makes_syntax::ir::{AttrKey, BindingValue, ExprKind, ExprRef, Param, PathKind, StrPart, Var};
use makes_syntax::Span;
use std::rc::Rc;

/// A variable of a closure bound outside its text.
pub enum CapturedVariable {
    /// Bound in an enclosing scope of makes.nix (a `let`, a function argument, ...).
    Local { name: Rc<str>, value: Thunk },
    /// One of the language's globals (`builtins`, `map`, `true`): every evaluator has it.
    Global { name: Rc<str> },
}

impl CapturedVariable {
    pub fn name(&self) -> &Rc<str> {
        match self {
            CapturedVariable::Local { name, .. } | CapturedVariable::Global { name } => name,
        }
    }
}

impl Evaluator {
    /// The source text of `span` (a lambda's, for instance).
    pub fn source_text(&self, span: Span) -> Option<String> {
        let file = self.sources.get(span.file)?;
        file.text
            .get(span.start as usize..span.end as usize)
            .map(str::to_owned)
    }

    /// The variables `closure` refers to that its own text does not bind, each once, in the
    /// order they appear. A name found through a `with` outside the closure is looked up
    /// now (forcing that `with`'s namespace).
    pub fn captured_variables(&self, closure: &Closure) -> Result<Vec<CapturedVariable>> {
        Ok(self.walk_closure(closure)?.0)
    }

    /// The source text of `closure` with each path literal in it (absolute once read)
    /// written as `path_code` says, so that another evaluator reading the text elsewhere
    /// finds the same files.
    pub fn closure_source(
        &self,
        closure: &Closure,
        mut path_code: impl FnMut(&str) -> Result<String>,
    ) -> Result<Option<String>> {
        let span = closure.def.span;
        let Some(text) = self.source_text(span) else {
            return Ok(None);
        };
        let (_, mut paths) = self.walk_closure(closure)?;
        paths.sort_by_key(|(s, _)| s.start);
        let mut out = String::with_capacity(text.len());
        let mut at = 0usize;
        for (path_span, path) in paths {
            let (Some(start), Some(end)) = (
                (path_span.start as usize).checked_sub(span.start as usize),
                (path_span.end as usize).checked_sub(span.start as usize),
            ) else {
                continue;
            };
            if path_span.file != span.file || start < at || end > text.len() {
                continue;
            }
            let (Some(before), Some(_)) = (text.get(at..start), text.get(start..end)) else {
                continue;
            };
            out.push_str(before);
            out.push_str(&path_code(&path)?);
            at = end;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        Ok(Some(out))
    }

    fn walk_closure(&self, closure: &Closure) -> Result<(Vec<CapturedVariable>, PathLiterals)> {
        let mut found = Vec::new();
        let mut paths = Vec::new();
        let mut walk = Walk {
            ev: self,
            env: &closure.env,
            found: &mut found,
            paths: &mut paths,
        };
        walk.param(&closure.def.param, 1)?;
        walk.expr(&closure.def.body, 1, 0)?;
        Ok((found, paths))
    }
}

/// The path literals of a text: where, and the absolute path each is.
type PathLiterals = Vec<(Span, Rc<str>)>;

struct Walk<'a> {
    ev: &'a Evaluator,
    env: &'a Env,
    found: &'a mut Vec<CapturedVariable>,
    paths: &'a mut PathLiterals,
}

impl Walk<'_> {
    fn note(
        &mut self,
        name: Rc<str>,
        make: impl FnOnce() -> Result<CapturedVariable>,
    ) -> Result<()> {
        if self.found.iter().any(|v| *v.name() == name) {
            return Ok(());
        }
        let var = make()?;
        self.found.push(var);
        Ok(())
    }

    fn name_at(&self, span: Span) -> Rc<str> {
        Rc::from(self.ev.source_text(span).unwrap_or_default().trim())
    }

    fn param(&mut self, param: &Param, frames: u32) -> Result<()> {
        if let Param::Pattern { formals, .. } = param {
            for formal in formals {
                if let Some(default) = &formal.default {
                    self.expr(default, frames, 0)?;
                }
            }
        }
        Ok(())
    }

    /// `frames`: the frames the closure's own text pushed above its environment;
    /// `withs`: how many of them are `with`s.
    fn expr(&mut self, e: &ExprRef, frames: u32, withs: u32) -> Result<()> {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::CurPos => {}
            ExprKind::Path {
                kind: PathKind::Plain,
                parts,
                ..
            } if matches!(parts.as_slice(), [StrPart::Literal(_)]) => {
                if let [StrPart::Literal(path)] = parts.as_slice() {
                    self.paths.push((e.span, path.clone()));
                }
            }
            ExprKind::Interpolated(parts) | ExprKind::Path { parts, .. } => {
                for part in parts {
                    if let StrPart::Interpolation(inner) = part {
                        self.expr(inner, frames, withs)?;
                    }
                }
            }
            ExprKind::Var(Var::Local { depth, slot }) => {
                if *depth >= frames {
                    let mut frame = self.env;
                    for _ in 0..(*depth - frames) {
                        match &frame.parent {
                            Some(parent) => frame = parent,
                            None => return Ok(()),
                        }
                    }
                    let name = self.name_at(e.span);
                    let global = frame.parent.is_none();
                    let value = frame.slots.get(*slot as usize).clone();
                    self.note(name.clone(), || {
                        Ok(if global {
                            CapturedVariable::Global { name }
                        } else {
                            CapturedVariable::Local { name, value }
                        })
                    })?;
                }
            }
            ExprKind::Var(Var::With { name }) => {
                // A `with` inside the closure may supply it: only one outside is looked up.
                if withs == 0 {
                    let (ev, env, span) = (self.ev, self.env, e.span);
                    let name2 = name.clone();
                    self.note(name.clone(), move || {
                        let value = ev.lookup_with(env, &name2, span)?;
                        Ok(CapturedVariable::Local {
                            name: name2,
                            value: Thunk::value(value),
                        })
                    })?;
                }
            }
            ExprKind::Select {
                target,
                path,
                default,
            } => {
                self.expr(target, frames, withs)?;
                self.keys(path, frames, withs)?;
                if let Some(d) = default {
                    self.expr(d, frames, withs)?;
                }
            }
            ExprKind::HasAttr { target, path } => {
                self.expr(target, frames, withs)?;
                self.keys(path, frames, withs)?;
            }
            ExprKind::Apply { func, arg } => {
                self.expr(func, frames, withs)?;
                self.expr(arg, frames, withs)?;
            }
            ExprKind::Lambda(def) => {
                self.param(&def.param, frames + 1)?;
                self.expr(&def.body, frames + 1, withs)?;
            }
            ExprKind::AttrSet(def) => {
                let inner = if def.recursive { frames + 1 } else { frames };
                for b in &def.statics {
                    match &b.value {
                        BindingValue::Expr(v) => self.expr(v, inner, withs)?,
                        BindingValue::Inherit(v) => self.expr(v, frames, withs)?,
                    }
                }
                for d in &def.dynamics {
                    self.expr(&d.name, inner, withs)?;
                    match &d.value {
                        BindingValue::Expr(v) => self.expr(v, inner, withs)?,
                        BindingValue::Inherit(v) => self.expr(v, frames, withs)?,
                    }
                }
            }
            ExprKind::Let { bindings, body } => {
                for b in &bindings.statics {
                    match &b.value {
                        BindingValue::Expr(v) => self.expr(v, frames + 1, withs)?,
                        BindingValue::Inherit(v) => self.expr(v, frames, withs)?,
                    }
                }
                self.expr(body, frames + 1, withs)?;
            }
            ExprKind::List(items) => {
                for item in items {
                    self.expr(item, frames, withs)?;
                }
            }
            ExprKind::Unary { operand, .. } => self.expr(operand, frames, withs)?,
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs, frames, withs)?;
                self.expr(rhs, frames, withs)?;
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond, frames, withs)?;
                self.expr(then, frames, withs)?;
                self.expr(otherwise, frames, withs)?;
            }
            ExprKind::Assert { cond, body } => {
                self.expr(cond, frames, withs)?;
                self.expr(body, frames, withs)?;
            }
            ExprKind::With { namespace, body } => {
                self.expr(namespace, frames, withs)?;
                self.expr(body, frames + 1, withs + 1)?;
            }
        }
        Ok(())
    }

    fn keys(&mut self, path: &[AttrKey], frames: u32, withs: u32) -> Result<()> {
        for key in path {
            if let AttrKey::Dynamic(e) = key {
                self.expr(e, frames, withs)?;
            }
        }
        Ok(())
    }
}

/// Frames assumed equal while comparing (a frame pair met again holds by assumption: the
/// comparison is of possibly infinite unfoldings), and how many may be assumed at most.
type Assumed = Vec<(*const (), *const ())>;
const MAX_ASSUMED: usize = 4096;

impl Evaluator {
    /// Whether two closures are the same function, without calling them: the same code in
    /// equal environments. A function that makes a new copy of itself at every level (`let
    /// self = f a b; in x: ... self ...`) has a new closure per copy, each with a frame of
    /// its own, yet every copy is the first: the frames of a `let` hold their bindings' code
    /// in the frame, so they are equal when the frames outside are, and only the arguments
    /// of calls are data to compare. Data not evaluated yet is not compared (the answer is
    /// then "not known to be the same"), so nothing is evaluated here.
    pub fn same_function(&self, a: &Closure, b: &Closure) -> bool {
        same_closure(a, b, &mut Vec::new())
    }

    /// The file or directory this evaluation copied to the store as `store_path`
    /// (`"${./src}"`), if any.
    pub fn source_of_store_path(&self, store_path: &str) -> Option<std::path::PathBuf> {
        self.paths_in_store
            .borrow()
            .iter()
            .find(|(_, p)| &***p == store_path)
            .map(|(source, _)| source.clone())
    }
}

fn same_closure(a: &Closure, b: &Closure, assumed: &mut Assumed) -> bool {
    Rc::ptr_eq(&a.def, &b.def) && same_frames(&a.env, &b.env, assumed)
}

fn same_frames(a: &Env, b: &Env, assumed: &mut Assumed) -> bool {
    if Env::ptr_eq(a, b) {
        return true;
    }
    let pair = (Env::as_ptr(a), Env::as_ptr(b));
    if assumed.contains(&pair) {
        return true;
    }
    if assumed.len() >= MAX_ASSUMED {
        return false;
    }
    assumed.push(pair);
    // A `with`'s namespace is its code in the frame outside, as a `let`'s bindings are.
    let own_slots_same = match (&a.slots, &b.slots) {
        (x, y) if x.are_bindings() || y.are_bindings() => {
            x.are_bindings() && y.are_bindings() && x.as_slice().len() == y.as_slice().len()
        }
        (Slots::With(_), y) => matches!(y, Slots::With(_)),
        (_, Slots::With(_)) => false,
        (x, y) => {
            let (x, y) = (x.as_slice(), y.as_slice());
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_thunk(x, y, assumed))
        }
    };
    own_slots_same
        && match (&a.parent, &b.parent) {
            (None, None) => false,
            (Some(x), Some(y)) => same_frames(x, y, assumed),
            _ => false,
        }
}

/// Whether two arguments are the same: one thunk, or values evaluated already that are equal
/// (functions compared as [`Evaluator::same_function`] does; sets and lists by identity).
fn same_thunk(a: &Thunk, b: &Thunk, assumed: &mut Assumed) -> bool {
    if a.ptr_eq(b) {
        return true;
    }
    let (Some(x), Some(y)) = (a.peek(), b.peek()) else {
        return false;
    };
    match (&x, &y) {
        (Value::Lambda(x), Value::Lambda(y)) => {
            Counted::ptr_eq(x, y) || same_closure(x, y, assumed)
        }
        (Value::Attrs(x), Value::Attrs(y)) => x.ptr_eq(y),
        (Value::List(x), Value::List(y)) => x.ptr_eq(y),
        (Value::PrimOp(x), Value::PrimOp(y)) => Rc::ptr_eq(x, y),
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Path(x), Value::Path(y)) => x == y,
        (Value::String(x), Value::String(y)) => {
            !x.has_context() && !y.has_context() && x.as_bytes() == y.as_bytes()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::{CapturedVariable, DiskIo, EvalOptions, Evaluator, Value};
    use std::rc::Rc;

    /// The captured variables of the closure `src` evaluates to: `(name, value or None for
    /// a global)`.
    fn captured(src: &str) -> Vec<(String, Option<String>)> {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let Ok(Value::Lambda(closure)) = ev.eval_source("«test»", src, std::path::Path::new("/"))
        else {
            panic!("{src} is no lambda");
        };
        ev.captured_variables(&closure)
            .expect("captured")
            .into_iter()
            .map(|v| match v {
                CapturedVariable::Global { name } => (name.to_string(), None),
                CapturedVariable::Local { name, value } => {
                    let v = value.force(&ev).expect("forced");
                    let printed = crate::print_value(&ev, &v, true).expect("printed");
                    (
                        name.to_string(),
                        Some(String::from_utf8_lossy(&printed).into_owned()),
                    )
                }
            })
            .collect()
    }

    #[test]
    fn free_variables_are_found_in_their_scopes() {
        assert_eq!(
            captured("let a = 1; b = 2; in x: let y = a; in x + y + builtins.length [ b a ]"),
            vec![
                ("a".to_owned(), Some("1".to_owned())),
                ("builtins".to_owned(), None),
                ("b".to_owned(), Some("2".to_owned())),
            ]
        );
        // Bound inside: parameters, formals (with defaults seeing each other), let, rec.
        assert_eq!(
            captured("let d = 3; in { p, q ? p }: rec { r = p; s = r + q + d; }.s"),
            vec![("d".to_owned(), Some("3".to_owned()))]
        );
        // Through a `with` outside the closure: looked up now; inside one: left to it.
        assert_eq!(
            captured("with { w = 4; }; x: w + x"),
            vec![("w".to_owned(), Some("4".to_owned()))]
        );
        assert_eq!(captured("x: with { w = 4; }; w + x"), vec![]);
        // `inherit` in a let inside reads the scope outside that let.
        assert_eq!(
            captured("let i = 5; in x: let inherit i; in i"),
            vec![("i".to_owned(), Some("5".to_owned()))]
        );
    }

    #[test]
    fn path_literals_are_rewritten_in_the_source() {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let Ok(Value::Lambda(closure)) = ev.eval_source(
            "«test»",
            "let f = x: [ ./a/b x /c ]; in f",
            std::path::Path::new("/dir"),
        ) else {
            panic!("no lambda");
        };
        assert_eq!(
            ev.closure_source(&closure, |p| Ok(format!("<{p}>")))
                .expect("walked")
                .as_deref(),
            Some("x: [ </dir/a/b> x </c> ]")
        );
    }
}

#[cfg(test)]
mod same_function_tests {
    use crate::{DiskIo, EvalOptions, Evaluator, Value};
    use std::rc::Rc;

    /// Whether the two functions `src` evaluates to (`[ f g ]`) are the same function.
    fn same(src: &str) -> bool {
        let ev = Evaluator::new(Rc::new(DiskIo), EvalOptions::default());
        let Ok(Value::List(items)) = ev.eval_source("«test»", src, std::path::Path::new("/"))
        else {
            panic!("{src} is no list");
        };
        let (Ok(Value::Lambda(f)), Ok(Value::Lambda(g))) =
            (items[0].force(&ev), items[1].force(&ev))
        else {
            panic!("{src} is no list of two functions");
        };
        ev.same_function(&f, &g)
    }

    #[test]
    fn a_copy_a_function_makes_of_itself_is_the_same_function() {
        let recursive = "let mk = a: b: let self = mk a b; in x: [ a b self ]; f = mk (y: y) 2; in";
        assert!(same(&format!(
            "{recursive} [ f (builtins.elemAt (f 0) 2) ]"
        )));
        assert!(same(&format!(
            "{recursive} let g = builtins.elemAt (f 0) 2; in [ f (builtins.elemAt (g 0) 2) ]"
        )));
    }
}
