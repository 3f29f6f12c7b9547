//! The tree-walking evaluator: expressions to values in weak head normal form.

use crate::builtins;
use crate::error::{EvalError, EvalErrorKind, Result};
use crate::io::EvalIo;
use crate::thunk::Thunk;
use crate::value::{Attrs, Closure, Context, NixString, PrimOp, PrimOpApp, Value};
use makes_syntax::ir::{
    AttrKey, AttrSetDef, BinaryOp, BindingValue, ExprKind, ExprRef, Param, PathKind, StrPart,
    UnaryOp, Var,
};
use makes_syntax::{canonical_path, parse_file, SourceMap, Span};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Deepest nesting of evaluation before "stack overflow" is reported. The evaluation thread's
/// stack (see `run_with_stack`) is sized for this.
const MAX_DEPTH: usize = 10_000;

/// A frame of variables. `with` frames have no slots but a namespace.
pub struct EnvFrame {
    slots: Vec<Thunk>,
    with: Option<Thunk>,
    parent: Option<Env>,
}

pub type Env = Rc<EnvFrame>;

/// How values become strings (`"${x}"` versus `toString x`).
#[derive(Debug, Clone, Copy)]
pub struct CoercionMode {
    /// `toString`'s extra conversions: numbers, booleans, null, lists.
    pub more: bool,
    /// Whether paths are copied into the store (interpolation) or kept as they are.
    pub copy_to_store: bool,
}

impl CoercionMode {
    pub const INTERPOLATION: CoercionMode = CoercionMode {
        more: false,
        copy_to_store: true,
    };
    pub const TO_STRING: CoercionMode = CoercionMode {
        more: true,
        copy_to_store: true,
    };
}

/// Options that shape an evaluation.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// `-I` entries and `NIX_PATH`: (prefix, path); an empty prefix searches inside `path`.
    pub search_path: Vec<(String, PathBuf)>,
    /// `builtins.currentSystem`.
    pub system: Option<String>,
}

/// One evaluation session: sources, imports, built-ins.
pub struct Evaluator {
    pub sources: SourceMap,
    pub io: Rc<dyn EvalIo>,
    pub options: EvalOptions,
    globals: Vec<Rc<str>>,
    base_env: Env,
    import_cache: RefCell<HashMap<PathBuf, Value>>,
    paths_in_store: RefCell<HashMap<PathBuf, Rc<str>>>,
    depth: Cell<usize>,
}

impl Evaluator {
    pub fn new(io: Rc<dyn EvalIo>, options: EvalOptions) -> Evaluator {
        Self::with_extra_builtins(io, options, Vec::new())
    }

    /// An evaluator whose `builtins` also holds `extra` (registered from outside, e.g. those
    /// that need the store).
    pub fn with_extra_builtins(
        io: Rc<dyn EvalIo>,
        options: EvalOptions,
        extra: Vec<(Rc<str>, Value)>,
    ) -> Evaluator {
        let (globals, values) = builtins::base_environment(&options, extra);
        let base_env = Rc::new(EnvFrame {
            slots: values,
            with: None,
            parent: None,
        });
        Evaluator {
            sources: SourceMap::new(),
            io,
            options,
            globals,
            base_env,
            import_cache: RefCell::new(HashMap::new()),
            paths_in_store: RefCell::new(HashMap::new()),
            depth: Cell::new(0),
        }
    }

    /// Parses and evaluates source text (`--expr`); relative paths resolve against `base_dir`.
    pub fn eval_source(&self, name: &str, text: &str, base_dir: &Path) -> Result<Value> {
        let fake = base_dir.join("«string»");
        let file = self.sources.add(name, Some(&fake), text);
        let expr = parse_file(&self.sources, file, &self.globals)?;
        self.eval(&expr, &self.base_env)
    }

    /// Evaluates a file as `import` does (cached; a directory means its `default.nix`).
    pub fn eval_file(&self, path: &Path) -> Result<Value> {
        self.import(path, None)
    }

    fn import(&self, path: &Path, span: Option<Span>) -> Result<Value> {
        let mut path = PathBuf::from(canonical_path(&path.to_string_lossy()));
        if self.io.is_dir(&path) {
            path.push("default.nix");
        }
        if let Some(v) = self.import_cache.borrow().get(&path) {
            return Ok(v.clone());
        }
        let bytes = self.io.read_file(&path).map_err(|e| {
            EvalError::new(
                EvalErrorKind::Io(format!(
                    "opening file '{}': {}",
                    path.display(),
                    io_reason(&e)
                )),
                span,
            )
        })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let file = self
            .sources
            .add(path.display().to_string(), Some(&path), text);
        let expr = parse_file(&self.sources, file, &self.globals)?;
        let value = self.eval(&expr, &self.base_env)?;
        self.import_cache.borrow_mut().insert(path, value.clone());
        Ok(value)
    }

    /// The lazy value of `expr` in `env`.
    fn thunk(&self, expr: &ExprRef, env: &Env) -> Thunk {
        // Constants need no suspension.
        match &expr.kind {
            ExprKind::Int(i) => Thunk::value(Value::Int(*i)),
            ExprKind::Float(f) => Thunk::value(Value::Float(*f)),
            ExprKind::Str(s) => Thunk::value(Value::String(NixString::plain(s.clone()))),
            ExprKind::Var(Var::Local { depth, slot }) => lookup_local(env, *depth, *slot),
            _ => Thunk::suspended(expr.clone(), env.clone()),
        }
    }

    /// Evaluates `expr` to weak head normal form.
    pub fn eval(&self, expr: &ExprRef, env: &Env) -> Result<Value> {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(EvalError::new(
                EvalErrorKind::StackOverflow,
                Some(expr.span),
            ));
        }
        self.depth.set(depth + 1);
        let result = self.eval_inner(expr, env);
        self.depth.set(depth);
        result
    }

    fn eval_inner(&self, expr: &ExprRef, env: &Env) -> Result<Value> {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Int(i) => Ok(Value::Int(*i)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Str(s) => Ok(Value::String(NixString::plain(s.clone()))),
            ExprKind::Interpolated(parts) => self.interpolate(parts, env, span),
            ExprKind::Path { kind, parts, base } => {
                self.path_literal(*kind, parts, base.as_deref(), env, span)
            }
            ExprKind::SearchPath(name) => self.find_in_search_path(name, span),
            ExprKind::Var(Var::Local { depth, slot }) => {
                lookup_local(env, *depth, *slot).force(self)
            }
            ExprKind::Var(Var::With { name }) => self.lookup_with(env, name, span),
            ExprKind::Select {
                target,
                path,
                default,
            } => self.select(target, path, default.as_ref(), env, span),
            ExprKind::HasAttr { target, path } => self.has_attr_path(target, path, env),
            ExprKind::Apply { func, arg } => {
                let f = self.eval(func, env)?;
                let arg = self.thunk(arg, env);
                self.apply(&f, arg, span)
            }
            ExprKind::Lambda(def) => Ok(Value::Lambda(Rc::new(Closure {
                def: def.clone(),
                env: env.clone(),
            }))),
            ExprKind::AttrSet(def) => self.attr_set(def, env),
            ExprKind::Let { bindings, body } => {
                let frame = self.recursive_frame(bindings, env);
                self.eval(body, &frame)
            }
            ExprKind::List(items) => Ok(Value::List(Rc::new(
                items.iter().map(|i| self.thunk(i, env)).collect(),
            ))),
            ExprKind::Unary { op, operand } => {
                let v = self.eval(operand, env)?;
                match (op, v) {
                    (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                    (UnaryOp::Not, other) => Err(EvalError::type_error(
                        "a Boolean",
                        &other,
                        Some(operand.span),
                    )),
                    (UnaryOp::Negate, Value::Int(i)) => {
                        i.checked_neg().map(Value::Int).ok_or_else(|| {
                            EvalError::new(EvalErrorKind::IntegerOverflow("negation"), Some(span))
                        })
                    }
                    (UnaryOp::Negate, Value::Float(f)) => Ok(Value::Float(-f)),
                    (UnaryOp::Negate, other) => Err(EvalError::type_error(
                        "an integer",
                        &other,
                        Some(operand.span),
                    )),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, env, span),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                if self.eval_bool(cond, env)? {
                    self.eval(then, env)
                } else {
                    self.eval(otherwise, env)
                }
            }
            ExprKind::Assert { cond, body } => {
                if self.eval_bool(cond, env)? {
                    self.eval(body, env)
                } else {
                    let text = self
                        .sources
                        .get(cond.span.file)
                        .map(|f| {
                            f.text[cond.span.start as usize..cond.span.end as usize].to_owned()
                        })
                        .unwrap_or_default();
                    Err(EvalError::new(
                        EvalErrorKind::AssertionFailed(text),
                        Some(cond.span),
                    ))
                }
            }
            ExprKind::With { namespace, body } => {
                let frame = Rc::new(EnvFrame {
                    slots: Vec::new(),
                    with: Some(self.thunk(namespace, env)),
                    parent: Some(env.clone()),
                });
                self.eval(body, &frame)
            }
            ExprKind::CurPos => {
                let mut attrs = Attrs::new();
                if let Some(file) = self.sources.get(span.file) {
                    let (line, col) = file.line_col(span.start);
                    attrs.insert(
                        "file",
                        Thunk::value(Value::string(file.name.as_str())),
                        None,
                    );
                    attrs.insert("line", Thunk::value(Value::Int(line as i64)), None);
                    attrs.insert("column", Thunk::value(Value::Int(col as i64)), None);
                }
                Ok(Value::Attrs(Rc::new(attrs)))
            }
        }
    }

    fn eval_bool(&self, expr: &ExprRef, env: &Env) -> Result<bool> {
        match self.eval(expr, env)? {
            Value::Bool(b) => Ok(b),
            other => Err(EvalError::type_error("a Boolean", &other, Some(expr.span))),
        }
    }

    fn lookup_with(&self, env: &Env, name: &str, span: Span) -> Result<Value> {
        let mut frame = Some(env);
        while let Some(f) = frame {
            if let Some(ns) = &f.with {
                match ns.force(self)? {
                    Value::Attrs(attrs) => {
                        if let Some(attr) = attrs.get(name) {
                            return attr.value.force(self);
                        }
                    }
                    other => return Err(EvalError::type_error("a set", &other, Some(span))),
                }
            }
            frame = f.parent.as_ref();
        }
        Err(EvalError::new(
            EvalErrorKind::UndefinedVariable(name.to_owned()),
            Some(span),
        ))
    }

    fn interpolate(&self, parts: &[StrPart], env: &Env, _span: Span) -> Result<Value> {
        let mut text = String::new();
        let mut context = Context::default();
        for part in parts {
            match part {
                StrPart::Literal(s) => text.push_str(s),
                StrPart::Interpolation(e) => {
                    let v = self.eval(e, env)?;
                    let s = self.coerce_to_string(&v, CoercionMode::INTERPOLATION, e.span)?;
                    text.push_str(s.as_str());
                    s.merge_context_into(&mut context);
                }
            }
        }
        Ok(Value::String(NixString::with_context(text, context)))
    }

    fn path_literal(
        &self,
        kind: PathKind,
        parts: &[StrPart],
        base: Option<&PathBuf>,
        env: &Env,
        span: Span,
    ) -> Result<Value> {
        let mut text = String::new();
        for part in parts {
            match part {
                StrPart::Literal(s) => text.push_str(s),
                StrPart::Interpolation(e) => {
                    let v = self.eval(e, env)?;
                    let mode = CoercionMode {
                        more: false,
                        copy_to_store: false,
                    };
                    text.push_str(self.coerce_to_string(&v, mode, e.span)?.as_str());
                }
            }
        }
        let absolute = match kind {
            PathKind::Home => {
                let home = std::env::var("HOME")
                    .map_err(|_| EvalError::other("HOME is not set", Some(span)))?;
                format!(
                    "{home}/{}",
                    text.trim_start_matches('~').trim_start_matches('/')
                )
            }
            PathKind::Plain if text.starts_with('/') => text,
            PathKind::Plain => match base {
                Some(b) => format!("{}/{}", b.display(), text),
                None => format!("/{text}"),
            },
        };
        Ok(Value::Path(canonical_path(&absolute).into()))
    }

    fn find_in_search_path(&self, name: &str, span: Span) -> Result<Value> {
        for (prefix, dir) in &self.options.search_path {
            let candidate = if prefix.is_empty() {
                dir.join(name)
            } else if name == prefix {
                dir.clone()
            } else if let Some(rest) = name
                .strip_prefix(prefix.as_str())
                .and_then(|r| r.strip_prefix('/'))
            {
                dir.join(rest)
            } else {
                continue;
            };
            if matches!(self.io.file_kind(&candidate), Ok(Some(_))) {
                return Ok(Value::Path(
                    canonical_path(&candidate.to_string_lossy()).into(),
                ));
            }
        }
        Err(EvalError::other(
            format!(
                "file '{name}' was not found in the Nix search path (add it using $NIX_PATH or -I)"
            ),
            Some(span),
        ))
    }

    /// An attribute name given by an expression (`${e}` or `"a${b}"`).
    fn attr_name(&self, key: &AttrKey, env: &Env) -> Result<Option<Rc<str>>> {
        match key {
            AttrKey::Static(n) => Ok(Some(n.clone())),
            AttrKey::Dynamic(e) => match self.eval(e, env)? {
                Value::String(s) => Ok(Some(s.text().clone())),
                Value::Null => Ok(None),
                other => Err(EvalError::type_error("a string", &other, Some(e.span))),
            },
        }
    }

    fn select(
        &self,
        target: &ExprRef,
        path: &[AttrKey],
        default: Option<&ExprRef>,
        env: &Env,
        span: Span,
    ) -> Result<Value> {
        let mut value = self.eval(target, env)?;
        for key in path {
            let name = self.attr_name(key, env)?;
            let attrs = match &value {
                Value::Attrs(a) => a.clone(),
                other => {
                    if let Some(d) = default {
                        return self.eval(d, env);
                    }
                    return Err(EvalError::type_error("a set", other, Some(span)));
                }
            };
            match name.as_deref().and_then(|n| attrs.get(n)) {
                Some(attr) => value = attr.value.force(self)?,
                None => {
                    if let Some(d) = default {
                        return self.eval(d, env);
                    }
                    return Err(missing_attribute(
                        name.as_deref().unwrap_or("null"),
                        &attrs,
                        span,
                    ));
                }
            }
        }
        Ok(value)
    }

    fn has_attr_path(&self, target: &ExprRef, path: &[AttrKey], env: &Env) -> Result<Value> {
        let mut value = self.eval(target, env)?;
        for (i, key) in path.iter().enumerate() {
            let name = self.attr_name(key, env)?;
            let Value::Attrs(attrs) = &value else {
                return Ok(Value::Bool(false));
            };
            match name.as_deref().and_then(|n| attrs.get(n)) {
                // The last attribute is only looked up, never forced.
                Some(_) if i + 1 == path.len() => return Ok(Value::Bool(true)),
                Some(attr) => value = attr.value.force(self)?,
                None => return Ok(Value::Bool(false)),
            }
        }
        Ok(Value::Bool(true))
    }

    /// A `rec` set's or `let`'s frame: one slot per static binding, each a thunk in the frame.
    fn recursive_frame(&self, def: &AttrSetDef, env: &Env) -> Env {
        let slots: Vec<Thunk> = def.statics.iter().map(|_| Thunk::placeholder()).collect();
        let frame = Rc::new(EnvFrame {
            slots: slots.clone(),
            with: None,
            parent: Some(env.clone()),
        });
        for (binding, slot) in def.statics.iter().zip(&slots) {
            match &binding.value {
                BindingValue::Expr(e) => slot.set_suspended(e.clone(), frame.clone()),
                BindingValue::Inherit(e) => slot.set_suspended(e.clone(), env.clone()),
            }
        }
        frame
    }

    fn attr_set(&self, def: &AttrSetDef, env: &Env) -> Result<Value> {
        let mut attrs = Attrs::new();
        let value_env = if def.recursive {
            let frame = self.recursive_frame(def, env);
            for (binding, slot) in def.statics.iter().zip(&frame.slots) {
                attrs.insert(binding.name.clone(), slot.clone(), Some(binding.span));
            }
            frame
        } else {
            for binding in &def.statics {
                let thunk = match &binding.value {
                    BindingValue::Expr(e) | BindingValue::Inherit(e) => self.thunk(e, env),
                };
                attrs.insert(binding.name.clone(), thunk, Some(binding.span));
            }
            env.clone()
        };
        for dynamic in &def.dynamics {
            let Some(name) = self.attr_name(&AttrKey::Dynamic(dynamic.name.clone()), &value_env)?
            else {
                continue;
            };
            if attrs.contains(&name) {
                return Err(EvalError::new(
                    EvalErrorKind::DuplicateAttribute(name.to_string()),
                    Some(dynamic.span),
                ));
            }
            let thunk = match &dynamic.value {
                BindingValue::Expr(e) => self.thunk(e, &value_env),
                BindingValue::Inherit(e) => self.thunk(e, env),
            };
            attrs.insert(name, thunk, Some(dynamic.span));
        }
        Ok(Value::Attrs(Rc::new(attrs)))
    }

    /// Applies a function value to a lazy argument.
    pub fn apply(&self, func: &Value, arg: Thunk, span: Span) -> Result<Value> {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(EvalError::new(EvalErrorKind::StackOverflow, Some(span)));
        }
        self.depth.set(depth + 1);
        let result = self.apply_inner(func, arg, span);
        self.depth.set(depth);
        result
    }

    fn apply_inner(&self, func: &Value, arg: Thunk, span: Span) -> Result<Value> {
        match func {
            Value::Lambda(closure) => self.call_lambda(closure, arg, span),
            Value::PrimOp(op) => self.call_primop(op.clone(), vec![arg], span),
            Value::PrimOpApp(app) => {
                let mut args = app.args.clone();
                args.push(arg);
                self.call_primop(app.op.clone(), args, span)
            }
            Value::Attrs(attrs) if attrs.contains("__functor") => {
                let functor = attrs
                    .get("__functor")
                    .map(|a| a.value.clone())
                    .ok_or_else(|| EvalError::other("missing __functor", Some(span)))?
                    .force(self)?;
                let partial = self.apply(&functor, Thunk::value(func.clone()), span)?;
                self.apply(&partial, arg, span)
            }
            other => Err(EvalError::other(
                format!(
                    "attempt to call something which is not a function but {}",
                    other.describe()
                ),
                Some(span),
            )),
        }
    }

    fn call_primop(&self, op: Rc<PrimOp>, args: Vec<Thunk>, span: Span) -> Result<Value> {
        if args.len() < op.arity {
            return Ok(Value::PrimOpApp(Rc::new(PrimOpApp { op, args })));
        }
        (op.func)(self, &args).map_err(|e| e.at(span))
    }

    fn call_lambda(&self, closure: &Closure, arg: Thunk, span: Span) -> Result<Value> {
        let def = &closure.def;
        let frame = match &def.param {
            Param::Ident(_) => Rc::new(EnvFrame {
                slots: vec![arg],
                with: None,
                parent: Some(closure.env.clone()),
            }),
            Param::Pattern {
                formals,
                ellipsis,
                bind,
            } => {
                let attrs = match arg.force(self)? {
                    Value::Attrs(a) => a,
                    other => return Err(EvalError::type_error("a set", &other, Some(span))),
                };
                if !ellipsis {
                    if let Some(name) = attrs
                        .names()
                        .find(|n| !formals.iter().any(|f| &f.name == *n))
                    {
                        return Err(EvalError::new(
                            EvalErrorKind::UnexpectedArgument {
                                function: self.lambda_name(def.span),
                                name: name.to_string(),
                            },
                            Some(span),
                        )
                        .note(Some(def.span), "the function is defined here"));
                    }
                }
                let mut slots: Vec<Thunk> = Vec::with_capacity(formals.len() + 1);
                let mut defaults = Vec::new();
                for formal in formals {
                    match attrs.get(&formal.name) {
                        Some(a) => slots.push(a.value.clone()),
                        None => match &formal.default {
                            Some(d) => {
                                let slot = Thunk::placeholder();
                                defaults.push((slot.clone(), d.clone()));
                                slots.push(slot);
                            }
                            None => {
                                return Err(EvalError::new(
                                    EvalErrorKind::MissingArgument {
                                        function: self.lambda_name(def.span),
                                        name: formal.name.to_string(),
                                    },
                                    Some(span),
                                )
                                .note(Some(def.span), "the function is defined here"))
                            }
                        },
                    }
                }
                if bind.is_some() {
                    slots.push(arg);
                }
                let frame = Rc::new(EnvFrame {
                    slots,
                    with: None,
                    parent: Some(closure.env.clone()),
                });
                // Defaults see the other formals, so they are suspended in the new frame.
                for (slot, d) in defaults {
                    slot.set_suspended(d, frame.clone());
                }
                frame
            }
        };
        self.eval(&def.body, &frame)
    }

    fn lambda_name(&self, span: Span) -> String {
        match self.sources.get(span.file) {
            Some(f) => {
                let (line, col) = f.line_col(span.start);
                format!("anonymous function at {}:{line}:{col}", f.name)
            }
            None => "anonymous function".to_owned(),
        }
    }

    /// Turns a value into a string as interpolation (`mode.more == false`) or `toString` does.
    pub fn coerce_to_string(
        &self,
        value: &Value,
        mode: CoercionMode,
        span: Span,
    ) -> Result<NixString> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Path(p) => {
                if mode.copy_to_store {
                    let store_path = self.copy_path_to_store(p, span)?;
                    let mut ctx = Context::default();
                    ctx.paths.insert(store_path.clone());
                    Ok(NixString::with_context(store_path, ctx))
                } else {
                    Ok(NixString::plain(p.clone()))
                }
            }
            Value::Attrs(attrs) => {
                if let Some(f) = attrs.get("__toString") {
                    let f = f.value.force(self)?;
                    let r = self.apply(&f, Thunk::value(value.clone()), span)?;
                    return self.coerce_to_string(&r, mode, span);
                }
                if let Some(out) = attrs.get("outPath") {
                    let out = out.value.force(self)?;
                    return self.coerce_to_string(&out, mode, span);
                }
                Err(EvalError::new(
                    EvalErrorKind::NotCoercible("a set"),
                    Some(span),
                ))
            }
            Value::Int(i) if mode.more => Ok(NixString::plain(i.to_string())),
            Value::Float(f) if mode.more => Ok(NixString::plain(format!("{f:.6}"))),
            Value::Bool(b) if mode.more => Ok(NixString::plain(if *b { "1" } else { "" })),
            Value::Null if mode.more => Ok(NixString::plain("")),
            Value::List(items) if mode.more => {
                let mut text = String::new();
                let mut context = Context::default();
                for (i, item) in items.iter().enumerate() {
                    let v = item.force(self)?;
                    let s = self.coerce_to_string(&v, mode, span)?;
                    // Nix separates with a space, except after an empty list element.
                    if i > 0 && !matches!(&v, Value::List(l) if l.is_empty()) {
                        text.push(' ');
                    }
                    text.push_str(s.as_str());
                    s.merge_context_into(&mut context);
                }
                Ok(NixString::with_context(text, context))
            }
            other => Err(EvalError::new(
                EvalErrorKind::NotCoercible(other.describe()),
                Some(span),
            )),
        }
    }

    /// Copies a path into the store once per evaluation.
    pub fn copy_path_to_store(&self, path: &str, span: Span) -> Result<Rc<str>> {
        let key = PathBuf::from(path);
        if let Some(p) = self.paths_in_store.borrow().get(&key) {
            return Ok(p.clone());
        }
        let name = key
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "source".to_owned());
        let store_path: Rc<str> = self
            .io
            .add_to_store(&key, &name)
            .map_err(|e| {
                EvalError::new(
                    EvalErrorKind::Io(format!("copying '{path}' to the store: {}", io_reason(&e))),
                    Some(span),
                )
            })?
            .into();
        self.paths_in_store
            .borrow_mut()
            .insert(key, store_path.clone());
        Ok(store_path)
    }

    fn binary(
        &self,
        op: BinaryOp,
        lhs: &ExprRef,
        rhs: &ExprRef,
        env: &Env,
        span: Span,
    ) -> Result<Value> {
        match op {
            BinaryOp::And => Ok(Value::Bool(
                self.eval_bool(lhs, env)? && self.eval_bool(rhs, env)?,
            )),
            BinaryOp::Or => Ok(Value::Bool(
                self.eval_bool(lhs, env)? || self.eval_bool(rhs, env)?,
            )),
            BinaryOp::Implication => Ok(Value::Bool(
                !self.eval_bool(lhs, env)? || self.eval_bool(rhs, env)?,
            )),
            BinaryOp::PipeRight | BinaryOp::PipeLeft => Err(EvalError::other(
                "experimental Nix feature 'pipe-operators' is disabled",
                Some(span),
            )),
            _ => {
                let a = self.eval(lhs, env)?;
                let b = self.eval(rhs, env)?;
                match op {
                    BinaryOp::Equal => Ok(Value::Bool(self.values_equal(&a, &b)?)),
                    BinaryOp::NotEqual => Ok(Value::Bool(!self.values_equal(&a, &b)?)),
                    BinaryOp::Less => Ok(Value::Bool(self.less_than(&a, &b, span)?)),
                    BinaryOp::MoreOrEq => Ok(Value::Bool(!self.less_than(&a, &b, span)?)),
                    BinaryOp::More => Ok(Value::Bool(self.less_than(&b, &a, span)?)),
                    BinaryOp::LessOrEq => Ok(Value::Bool(!self.less_than(&b, &a, span)?)),
                    BinaryOp::Update => match (&a, &b) {
                        (Value::Attrs(x), Value::Attrs(y)) => {
                            if y.is_empty() {
                                return Ok(a.clone());
                            }
                            if x.is_empty() {
                                return Ok(b.clone());
                            }
                            let mut merged = (**x).clone();
                            for (k, v) in y.iter() {
                                merged.insert(k.clone(), v.value.clone(), v.span);
                            }
                            Ok(Value::Attrs(Rc::new(merged)))
                        }
                        (Value::Attrs(_), other) => {
                            Err(EvalError::type_error("a set", other, Some(rhs.span)))
                        }
                        (other, _) => Err(EvalError::type_error("a set", other, Some(lhs.span))),
                    },
                    BinaryOp::Concat => match (&a, &b) {
                        (Value::List(x), Value::List(y)) => {
                            let mut items = Vec::with_capacity(x.len() + y.len());
                            items.extend(x.iter().cloned());
                            items.extend(y.iter().cloned());
                            Ok(Value::List(Rc::new(items)))
                        }
                        (Value::List(_), other) => {
                            Err(EvalError::type_error("a list", other, Some(rhs.span)))
                        }
                        (other, _) => Err(EvalError::type_error("a list", other, Some(lhs.span))),
                    },
                    BinaryOp::Add => self.add(&a, &b, span),
                    BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => arithmetic(op, &a, &b, span),
                    _ => unreachable!("boolean operators are handled above"),
                }
            }
        }
    }

    fn add(&self, a: &Value, b: &Value, span: Span) -> Result<Value> {
        match (a, b) {
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                arithmetic(BinaryOp::Add, a, b, span)
            }
            (Value::Path(p), _) => {
                let mode = CoercionMode {
                    more: false,
                    copy_to_store: false,
                };
                let s = self.coerce_to_string(b, mode, span)?;
                if s.has_context() {
                    return Err(EvalError::other(
                        format!("a string that refers to a store path cannot be appended to a path ('{}')", s.as_str()),
                        Some(span),
                    ));
                }
                Ok(Value::Path(
                    canonical_path(&format!("{p}{}", s.as_str())).into(),
                ))
            }
            (Value::String(x), _) => {
                let y = self.coerce_to_string(b, CoercionMode::INTERPOLATION, span)?;
                let mut context = Context::default();
                x.merge_context_into(&mut context);
                y.merge_context_into(&mut context);
                Ok(Value::String(NixString::with_context(
                    format!("{}{}", x.as_str(), y.as_str()),
                    context,
                )))
            }
            (Value::Attrs(_), _) => {
                let x = self.coerce_to_string(a, CoercionMode::INTERPOLATION, span)?;
                self.add(&Value::String(x), b, span)
            }
            (Value::Int(_) | Value::Float(_), other) => Err(EvalError::other(
                format!("cannot add {} to {}", other.describe(), a.describe()),
                Some(span),
            )),
            (other, _) => Err(EvalError::new(
                EvalErrorKind::NotCoercible(other.describe()),
                Some(span),
            )),
        }
    }

    /// Nix's `==`: numbers across int/float, lists and sets deeply, derivations by `outPath`,
    /// functions never equal.
    pub fn values_equal(&self, a: &Value, b: &Value) -> Result<bool> {
        Ok(match (a, b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => {
                (*x as f64) == *y
            }
            (Value::String(x), Value::String(y)) => x.as_str() == y.as_str(),
            (Value::Path(x), Value::Path(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                if Rc::ptr_eq(x, y) {
                    return Ok(true);
                }
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (i, j) in x.iter().zip(y.iter()) {
                    if !self.values_equal(&i.force(self)?, &j.force(self)?)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Value::Attrs(x), Value::Attrs(y)) => {
                if Rc::ptr_eq(x, y) {
                    return Ok(true);
                }
                if self.is_derivation(x)? && self.is_derivation(y)? {
                    if let (Some(p), Some(q)) = (x.get("outPath"), y.get("outPath")) {
                        return self.values_equal(&p.value.force(self)?, &q.value.force(self)?);
                    }
                }
                if x.len() != y.len() {
                    return Ok(false);
                }
                for ((k1, v1), (k2, v2)) in x.iter().zip(y.iter()) {
                    if k1 != k2
                        || !self.values_equal(&v1.value.force(self)?, &v2.value.force(self)?)?
                    {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        })
    }

    /// Whether a set is a derivation (`type = "derivation"`).
    pub fn is_derivation(&self, attrs: &Attrs) -> Result<bool> {
        match attrs.get("type") {
            Some(t) => {
                Ok(matches!(t.value.force(self)?, Value::String(s) if s.as_str() == "derivation"))
            }
            None => Ok(false),
        }
    }

    /// Nix's `<`: numbers, strings, paths, and lists lexicographically.
    pub fn less_than(&self, a: &Value, b: &Value, span: Span) -> Result<bool> {
        match (a, b) {
            (Value::Int(x), Value::Int(y)) => Ok(x < y),
            (Value::Float(x), Value::Float(y)) => Ok(x < y),
            (Value::Int(x), Value::Float(y)) => Ok((*x as f64) < *y),
            (Value::Float(x), Value::Int(y)) => Ok(*x < (*y as f64)),
            (Value::String(x), Value::String(y)) => Ok(x.as_str() < y.as_str()),
            (Value::Path(x), Value::Path(y)) => Ok(x < y),
            (Value::List(x), Value::List(y)) => {
                for (i, j) in x.iter().zip(y.iter()) {
                    let (vi, vj) = (i.force(self)?, j.force(self)?);
                    if !self.values_equal(&vi, &vj)? {
                        return self.less_than(&vi, &vj, span);
                    }
                }
                Ok(x.len() < y.len())
            }
            _ => Err(EvalError::other(
                format!("cannot compare {} with {}", a.describe(), b.describe()),
                Some(span),
            )),
        }
    }

    /// Forces a value and everything inside it (`--strict`, `deepSeq`).
    pub fn force_deep(&self, value: &Value) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        self.force_deep_inner(value, &mut seen)
    }

    fn force_deep_inner(
        &self,
        value: &Value,
        seen: &mut std::collections::HashSet<usize>,
    ) -> Result<()> {
        match value {
            Value::Attrs(attrs) => {
                if !seen.insert(Rc::as_ptr(attrs) as usize) {
                    return Ok(());
                }
                for (name, attr) in attrs.iter() {
                    let v = attr.value.force(self).map_err(|e| {
                        e.note(
                            attr.span,
                            format!("while evaluating the attribute '{name}'"),
                        )
                    })?;
                    self.force_deep_inner(&v, seen)?;
                }
            }
            Value::List(items) => {
                if !seen.insert(Rc::as_ptr(items) as usize) {
                    return Ok(());
                }
                for item in items.iter() {
                    self.force_deep_inner(&item.force(self)?, seen)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The names of the base environment (for `parse_file` callers outside the evaluator).
    pub fn globals(&self) -> &[Rc<str>] {
        &self.globals
    }

    /// Evaluates a lowered expression in the base environment.
    pub fn eval_in_base(&self, expr: &ExprRef) -> Result<Value> {
        self.eval(expr, &self.base_env)
    }

    /// `import`, as a function of a value (path or string).
    pub(crate) fn import_value(&self, v: &Value, span: Span) -> Result<Value> {
        let path = self.coerce_to_path(v, span)?;
        self.import(Path::new(&*path), Some(span))
    }

    /// A path or a string holding an absolute path, as builtins taking paths accept.
    pub fn coerce_to_path(&self, v: &Value, span: Span) -> Result<Rc<str>> {
        let mode = CoercionMode {
            more: false,
            copy_to_store: false,
        };
        let s = self.coerce_to_string(v, mode, span)?;
        if !s.as_str().starts_with('/') {
            return Err(EvalError::other(
                format!("string '{}' doesn't represent an absolute path", s.as_str()),
                Some(span),
            ));
        }
        Ok(s.text().clone())
    }
}

fn lookup_local(env: &Env, depth: u32, slot: u32) -> Thunk {
    let mut frame = env;
    for _ in 0..depth {
        // Lowering resolved `depth` against the same frame structure the evaluator builds.
        frame = frame
            .parent
            .as_ref()
            .expect("lowering resolved a frame that exists");
    }
    frame.slots[slot as usize].clone()
}

fn missing_attribute(name: &str, attrs: &Attrs, span: Span) -> EvalError {
    EvalError::new(
        EvalErrorKind::MissingAttribute {
            name: name.to_owned(),
            available: attrs.names().map(|n| n.to_string()).collect(),
        },
        Some(span),
    )
}

fn arithmetic(op: BinaryOp, a: &Value, b: &Value, span: Span) -> Result<Value> {
    let overflow = |what| EvalError::new(EvalErrorKind::IntegerOverflow(what), Some(span));
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => match op {
            BinaryOp::Add => x
                .checked_add(*y)
                .map(Value::Int)
                .ok_or_else(|| overflow("addition")),
            BinaryOp::Sub => x
                .checked_sub(*y)
                .map(Value::Int)
                .ok_or_else(|| overflow("subtraction")),
            BinaryOp::Mul => x
                .checked_mul(*y)
                .map(Value::Int)
                .ok_or_else(|| overflow("multiplication")),
            BinaryOp::Div => {
                if *y == 0 {
                    Err(EvalError::new(EvalErrorKind::DivisionByZero, Some(span)))
                } else {
                    x.checked_div(*y)
                        .map(Value::Int)
                        .ok_or_else(|| overflow("division"))
                }
            }
            _ => unreachable!("only arithmetic operators reach here"),
        },
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let x = as_float(a);
            let y = as_float(b);
            match op {
                BinaryOp::Add => Ok(Value::Float(x + y)),
                BinaryOp::Sub => Ok(Value::Float(x - y)),
                BinaryOp::Mul => Ok(Value::Float(x * y)),
                BinaryOp::Div => {
                    if y == 0.0 {
                        Err(EvalError::new(EvalErrorKind::DivisionByZero, Some(span)))
                    } else {
                        Ok(Value::Float(x / y))
                    }
                }
                _ => unreachable!("only arithmetic operators reach here"),
            }
        }
        (Value::Int(_) | Value::Float(_), other) | (other, _) => {
            Err(EvalError::type_error("an integer", other, Some(span)))
        }
    }
}

fn as_float(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".to_owned(),
        _ => e.to_string(),
    }
}
