//! Lowering: rnix syntax tree -> `ir::Expr`, with Nix's static checks.
//!
//! Variables are resolved to (frame depth, slot) here; names no static scope binds become
//! `Var::With` lookups when a `with` encloses them and "undefined variable" errors otherwise.
//! Nested attribute paths are merged as Nix merges them (`a.b = 1; a = { c = 2; };` is one set,
//! and a merge into a `rec` literal joins its scope), before any value is lowered.

use crate::error::SyntaxError;
use crate::ir::*;
use crate::source::{FileId, Span};
use rnix::ast::{self, AstToken, HasEntry, InterpolPart};
use rnix::SyntaxKind;
use rowan::ast::AstNode;
use rowan::Language;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

/// Lowers a parsed file. `globals` are the names of the outermost frame (the evaluator's base
/// environment, in slot order); `scope`, one more frame above them (`scopedImport`);
/// `base_dir` is where relative path literals resolve.
pub fn lower_root_in_scope(
    root: &ast::Root,
    file: FileId,
    base_dir: Option<&Path>,
    globals: &[Rc<str>],
    scope: Option<&[Rc<str>]>,
) -> Result<ExprRef, SyntaxError> {
    let mut frames = vec![Frame::Static(globals.to_vec())];
    if let Some(names) = scope {
        frames.push(Frame::Static(names.to_vec()));
    }
    let mut lowerer = Lowerer {
        file,
        base_dir: base_dir.map(|d| Rc::new(d.to_path_buf())),
        frames,
    };
    match root.expr() {
        Some(expr) => lowerer.expr(&expr),
        None => Err(SyntaxError::Parse {
            message: "unexpected end of file".into(),
            span: lowerer.span_of(root.syntax()),
        }),
    }
}

enum Frame {
    Static(Vec<Rc<str>>),
    With,
}

struct Lowerer {
    file: FileId,
    base_dir: Option<Rc<PathBuf>>,
    frames: Vec<Frame>,
}

/// An attribute set being assembled from its entries before its values are lowered.
struct PendingSet {
    recursive: bool,
    statics: BTreeMap<Rc<str>, PendingBinding>,
    dynamics: Vec<(ast::Expr, PendingValue, Span)>,
}

struct PendingBinding {
    value: PendingValue,
    span: Span,
}

enum PendingValue {
    Expr(ast::Expr),
    /// `inherit x;` — resolved in the scope outside the set when its values are lowered.
    Inherit(Rc<str>, Span),
    /// `inherit (from) x;` — `from` is lowered with the set's values.
    InheritFrom(ast::Expr, Rc<str>, Span),
    /// A set built from attribute paths and mergeable literals.
    Set(PendingSet),
}

impl PendingSet {
    fn new(recursive: bool) -> Self {
        PendingSet {
            recursive,
            statics: BTreeMap::new(),
            dynamics: Vec::new(),
        }
    }
}

/// An attribute name as written: a static string or an expression to evaluate.
enum KeyName {
    Static(Rc<str>),
    Dynamic(ast::Expr),
}

impl Lowerer {
    fn span_of(&self, node: &rnix::SyntaxNode) -> Span {
        let r = node.text_range();
        Span {
            file: self.file,
            start: r.start().into(),
            end: r.end().into(),
        }
    }

    fn mk(&self, kind: ExprKind, span: Span) -> ExprRef {
        Rc::new(Expr { kind, span })
    }

    fn missing(&self, node: &rnix::SyntaxNode, what: &str) -> SyntaxError {
        SyntaxError::Parse {
            message: format!("missing {what}"),
            span: self.span_of(node),
        }
    }

    fn resolve(&self, name: &str, span: Span) -> Result<Var, SyntaxError> {
        self.resolve_in(&self.frames, name, span)
    }

    fn resolve_in(&self, frames: &[Frame], name: &str, span: Span) -> Result<Var, SyntaxError> {
        let mut saw_with = false;
        for (depth, frame) in frames.iter().rev().enumerate() {
            match frame {
                Frame::Static(names) => {
                    if let Some(slot) = names.iter().position(|n| &**n == name) {
                        return Ok(Var::Local {
                            depth: depth as u32,
                            slot: slot as u32,
                        });
                    }
                }
                Frame::With => saw_with = true,
            }
        }
        if saw_with {
            Ok(Var::With { name: name.into() })
        } else {
            Err(SyntaxError::UndefinedVariable {
                name: name.to_owned(),
                span,
            })
        }
    }

    fn expr(&mut self, expr: &ast::Expr) -> Result<ExprRef, SyntaxError> {
        let span = self.span_of(expr.syntax());
        let kind = match expr {
            ast::Expr::Apply(e) => {
                let [func, arg, _] = Children::of(e.syntax()).exprs;
                ExprKind::Apply {
                    func: self.child(func, e.syntax(), "function")?,
                    arg: self.child(arg, e.syntax(), "argument")?,
                }
            }
            ast::Expr::Assert(e) => {
                let [cond, body, _] = Children::of(e.syntax()).exprs;
                ExprKind::Assert {
                    cond: self.child(cond, e.syntax(), "condition")?,
                    body: self.child(body, e.syntax(), "body")?,
                }
            }
            ast::Expr::IfElse(e) => {
                let [cond, then, otherwise] = Children::of(e.syntax()).exprs;
                ExprKind::If {
                    cond: self.child(cond, e.syntax(), "condition")?,
                    then: self.child(then, e.syntax(), "then branch")?,
                    otherwise: self.child(otherwise, e.syntax(), "else branch")?,
                }
            }
            ast::Expr::Select(e) => {
                let children = Children::of(e.syntax());
                let [target, default, _] = children.exprs;
                let target = self.child(target, e.syntax(), "expression")?;
                let attrpath = children
                    .other
                    .and_then(ast::Attrpath::cast)
                    .ok_or_else(|| self.missing(e.syntax(), "attribute path"))?;
                let path = self.attr_keys(&attrpath)?;
                let default = match default {
                    Some(d) => Some(self.expr(&d)?),
                    None => None,
                };
                ExprKind::Select {
                    target,
                    path,
                    default,
                }
            }
            ast::Expr::HasAttr(e) => {
                let children = Children::of(e.syntax());
                let [target, _, _] = children.exprs;
                let target = self.child(target, e.syntax(), "expression")?;
                let attrpath = children
                    .other
                    .and_then(ast::Attrpath::cast)
                    .ok_or_else(|| self.missing(e.syntax(), "attribute path"))?;
                ExprKind::HasAttr {
                    target,
                    path: self.attr_keys(&attrpath)?,
                }
            }
            ast::Expr::Str(s) => self.string(s)?,
            ast::Expr::PathAbs(p) => self.path(PathKind::Plain, p.parts())?,
            ast::Expr::PathRel(p) => self.path(PathKind::Plain, p.parts())?,
            ast::Expr::PathHome(p) => self.path(PathKind::Home, p.parts())?,
            ast::Expr::PathSearch(p) => {
                let text = p.content().map(|c| c.text().to_owned()).unwrap_or_default();
                let inner = text.trim_start_matches('<').trim_end_matches('>');
                // As Nix's parser: `<p>` is `__findFile __nixPath "p"`, both names looked up
                // where the expression stands, so a `let __nixPath = ...` around it counts.
                let find_file = self.mk(ExprKind::Var(self.resolve("__findFile", span)?), span);
                let nix_path = self.mk(ExprKind::Var(self.resolve("__nixPath", span)?), span);
                ExprKind::Apply {
                    func: self.mk(
                        ExprKind::Apply {
                            func: find_file,
                            arg: nix_path,
                        },
                        span,
                    ),
                    arg: self.mk(ExprKind::Str(inner.into()), span),
                }
            }
            ast::Expr::Literal(lit) => match lit.kind() {
                ast::LiteralKind::Integer(i) => match i.value() {
                    Ok(v) => ExprKind::Int(v),
                    Err(_) => {
                        return Err(SyntaxError::InvalidInteger {
                            text: i.syntax().text().to_owned(),
                            span,
                        })
                    }
                },
                ast::LiteralKind::Float(f) => {
                    ExprKind::Float(f.value().map_err(|_| SyntaxError::Parse {
                        message: format!("invalid float '{}'", f.syntax().text()),
                        span,
                    })?)
                }
                ast::LiteralKind::Uri(u) => ExprKind::Str(u.syntax().text().into()),
            },
            ast::Expr::Lambda(l) => ExprKind::Lambda(self.lambda(l)?),
            ast::Expr::LegacyLet(l) => {
                // `let { a = 1; body = a; }` is `rec { ... }.body`.
                let set = self.collect_set(l, true)?;
                let def = self.finish_set(set, span)?;
                let target = self.mk(ExprKind::AttrSet(def), span);
                ExprKind::Select {
                    target,
                    path: vec![AttrKey::Static(StaticName::new("body".into()))],
                    default: None,
                }
            }
            ast::Expr::LetIn(l) => {
                let set = self.collect_set(l, true)?;
                if let Some((_, _, span)) = set.dynamics.first() {
                    return Err(SyntaxError::DynamicInLet { span: *span });
                }
                let names: Vec<Rc<str>> = set.statics.keys().cloned().collect();
                let bindings = self.finish_set(set, span)?;
                self.frames.push(Frame::Static(names));
                let body = self.child(l.body(), l.syntax(), "body");
                self.frames.pop();
                ExprKind::Let {
                    bindings,
                    body: body?,
                }
            }
            ast::Expr::List(l) => {
                let items = l
                    .items()
                    .map(|i| self.expr(&i))
                    .collect::<Result<Vec<_>, _>>()?;
                ExprKind::List(items)
            }
            ast::Expr::BinOp(b) => {
                let op = green_tokens(b.syntax())
                    .find_map(ast::BinOpKind::from_kind)
                    .ok_or_else(|| self.missing(b.syntax(), "operator"))?;
                let [lhs, rhs, _] = Children::of(b.syntax()).exprs;
                ExprKind::Binary {
                    op: binary_op(op),
                    lhs: self.child(lhs, b.syntax(), "left operand")?,
                    rhs: self.child(rhs, b.syntax(), "right operand")?,
                }
            }
            ast::Expr::Paren(p) => return self.child(p.expr(), p.syntax(), "expression"),
            ast::Expr::Root(r) => return self.child(r.expr(), r.syntax(), "expression"),
            ast::Expr::AttrSet(a) => {
                let set = self.collect_set(a, has_token(a.syntax(), SyntaxKind::TOKEN_REC))?;
                ExprKind::AttrSet(self.finish_set(set, span)?)
            }
            ast::Expr::UnaryOp(u) => {
                let op = match green_tokens(u.syntax()).find_map(ast::UnaryOpKind::from_kind) {
                    Some(ast::UnaryOpKind::Invert) => UnaryOp::Not,
                    Some(ast::UnaryOpKind::Negate) => UnaryOp::Negate,
                    None => return Err(self.missing(u.syntax(), "operator")),
                };
                ExprKind::Unary {
                    op,
                    operand: self.child(u.expr(), u.syntax(), "operand")?,
                }
            }
            ast::Expr::Ident(i) => {
                // `or` reaches here only as the argument of `f or`, which Nix's grammar reads
                // as a call of `f` with the variable `or` (nixpkgs once had a function `or`);
                // elsewhere the parser already refuses the keyword.
                ExprKind::Var(ident_text(i, |name| self.resolve(name, span))?)
            }
            ast::Expr::With(w) => {
                let [namespace, body, _] = Children::of(w.syntax()).exprs;
                let namespace = self.child(namespace, w.syntax(), "namespace")?;
                self.frames.push(Frame::With);
                let body = self.child(body, w.syntax(), "body");
                self.frames.pop();
                ExprKind::With {
                    namespace,
                    body: body?,
                }
            }
            ast::Expr::CurPos(_) => ExprKind::CurPos,
            ast::Expr::Error(e) => {
                return Err(SyntaxError::Parse {
                    message: format!("unexpected '{}'", e.syntax().text()),
                    span,
                })
            }
        };
        Ok(self.mk(kind, span))
    }

    fn child(
        &mut self,
        expr: Option<ast::Expr>,
        parent: &rnix::SyntaxNode,
        what: &str,
    ) -> Result<ExprRef, SyntaxError> {
        match expr {
            Some(e) => self.expr(&e),
            None => Err(self.missing(parent, what)),
        }
    }

    fn string(&mut self, s: &ast::Str) -> Result<ExprKind, SyntaxError> {
        let mut parts = Vec::new();
        let normalized = if crate::indented::is_indented(s) {
            crate::indented::indented_parts(s)
        } else {
            s.normalized_parts()
        };
        for part in normalized {
            match part {
                InterpolPart::Literal(text) => {
                    // CR and CRLF were made LF when the source was loaded (`SourceMap::add`).
                    parts.push(StrPart::Literal(text.into()));
                }
                InterpolPart::Interpolation(i) => {
                    parts.push(StrPart::Interpolation(self.child(
                        i.expr(),
                        i.syntax(),
                        "expression",
                    )?));
                }
            }
        }
        Ok(match parts.as_slice() {
            [] => ExprKind::Str("".into()),
            [StrPart::Literal(text)] => ExprKind::Str(text.clone()),
            _ => ExprKind::Interpolated(parts),
        })
    }

    fn path(
        &mut self,
        kind: PathKind,
        raw: Vec<InterpolPart<ast::PathContent>>,
    ) -> Result<ExprKind, SyntaxError> {
        let mut parts = Vec::new();
        for part in raw {
            match part {
                InterpolPart::Literal(text) => parts.push(StrPart::Literal(text.text().into())),
                InterpolPart::Interpolation(i) => parts.push(StrPart::Interpolation(self.child(
                    i.expr(),
                    i.syntax(),
                    "expression",
                )?)),
            }
        }
        // A literal path without interpolation is made absolute now, as Nix's parser does.
        if kind == PathKind::Plain {
            if let [StrPart::Literal(text)] = parts.as_slice() {
                let absolute = absolute_path(text, self.base_dir.as_deref().map(PathBuf::as_path));
                return Ok(ExprKind::Path {
                    kind,
                    parts: vec![StrPart::Literal(absolute.into())],
                    base: None,
                });
            }
        }
        Ok(ExprKind::Path {
            kind,
            parts,
            base: self.base_dir.clone(),
        })
    }

    fn attr_keys(&mut self, path: &ast::Attrpath) -> Result<Vec<AttrKey>, SyntaxError> {
        let mut keys = Vec::new();
        for attr in path.attrs() {
            keys.push(match self.key_name(&attr)? {
                KeyName::Static(name) => AttrKey::Static(StaticName::new(name)),
                KeyName::Dynamic(e) => AttrKey::Dynamic(DynamicName::new(self.expr(&e)?)),
            });
        }
        Ok(keys)
    }

    fn key_name(&self, attr: &ast::Attr) -> Result<KeyName, SyntaxError> {
        Ok(match attr {
            ast::Attr::Ident(i) => KeyName::Static(ident_text(i, name_of_text)),
            ast::Attr::Str(s) => match static_string(s) {
                Some(text) => KeyName::Static(name_of_text(&text)),
                None => KeyName::Dynamic(ast::Expr::Str(s.clone())),
            },
            ast::Attr::Dynamic(d) => {
                let inner = d
                    .expr()
                    .ok_or_else(|| self.missing(d.syntax(), "expression"))?;
                // `${"a"}` is static, as in Nix's parser.
                match &inner {
                    ast::Expr::Str(s) => match static_string(s) {
                        Some(text) => KeyName::Static(name_of_text(&text)),
                        None => KeyName::Dynamic(inner),
                    },
                    _ => KeyName::Dynamic(inner),
                }
            }
        })
    }

    fn lambda(&mut self, l: &ast::Lambda) -> Result<Rc<LambdaDef>, SyntaxError> {
        let span = self.span_of(l.syntax());
        let children = Children::of(l.syntax());
        let [body, _, _] = children.exprs;
        let param_node = children
            .other
            .and_then(ast::Param::cast)
            .ok_or_else(|| self.missing(l.syntax(), "parameter"))?;
        let (param, names, pending_defaults) = match &param_node {
            ast::Param::IdentParam(p) => {
                let ident = p
                    .ident()
                    .ok_or_else(|| self.missing(p.syntax(), "parameter name"))?;
                let name: Rc<str> = ident_text(&ident, name_of_text);
                (Param::Ident(name.clone()), vec![name], Vec::new())
            }
            ast::Param::Pattern(p) => {
                let mut names: Vec<Rc<str>> = Vec::new();
                let mut formals = Vec::new();
                for entry in p.pat_entries() {
                    let ident = entry
                        .ident()
                        .ok_or_else(|| self.missing(entry.syntax(), "formal name"))?;
                    let name: Rc<str> = ident_text(&ident, name_of_text);
                    let fspan = self.span_of(entry.syntax());
                    if names.contains(&name) {
                        return Err(SyntaxError::DuplicateFormal {
                            name: name.to_string(),
                            span: fspan,
                        });
                    }
                    names.push(name.clone());
                    formals.push((name, entry.default(), fspan));
                }
                let bind = match p.pat_bind().and_then(|b| b.ident()) {
                    Some(ident) => {
                        let name: Rc<str> = ident_text(&ident, name_of_text);
                        if names.contains(&name) {
                            return Err(SyntaxError::DuplicateFormal {
                                name: name.to_string(),
                                span: self.span_of(ident.syntax()),
                            });
                        }
                        names.push(name.clone());
                        Some(name)
                    }
                    None => None,
                };
                let ellipsis = has_token(p.syntax(), SyntaxKind::TOKEN_ELLIPSIS);
                (
                    Param::Pattern {
                        formals: Vec::new(),
                        ellipsis,
                        bind,
                    },
                    names,
                    formals,
                )
            }
        };
        self.frames.push(Frame::Static(names));
        let result = (|| {
            let mut formals = Vec::new();
            for (name, default, fspan) in pending_defaults {
                let default = match default {
                    Some(d) => Some(self.expr(&d)?),
                    None => None,
                };
                formals.push(Formal {
                    name,
                    last_position: std::cell::Cell::new(0),
                    default,
                    span: fspan,
                });
            }
            let body = self.child(body, l.syntax(), "body")?;
            Ok((formals, body))
        })();
        self.frames.pop();
        let (formals, body) = result?;
        let param = match param {
            Param::Pattern { ellipsis, bind, .. } => Param::Pattern {
                formals,
                ellipsis,
                bind,
            },
            ident => ident,
        };
        Ok(Rc::new(LambdaDef { param, body, span }))
    }

    /// Phase one of a set: gathers entries, merging attribute paths, without lowering values
    /// (a `rec` set's frame must know all its names first).
    fn collect_set(
        &mut self,
        node: &impl HasEntry,
        recursive: bool,
    ) -> Result<PendingSet, SyntaxError> {
        let mut set = PendingSet::new(recursive);
        self.collect_entries(node, &mut set, &mut Vec::new())?;
        Ok(set)
    }

    /// `prefix`: the names of the sets around this one (for error messages), one entry per
    /// level so that a path of n names takes memory linear in n.
    fn collect_entries(
        &mut self,
        node: &impl HasEntry,
        set: &mut PendingSet,
        prefix: &mut Vec<Rc<str>>,
    ) -> Result<(), SyntaxError> {
        for entry in node.entries() {
            match entry {
                ast::Entry::Inherit(inherit) => {
                    // One pass over the children (the source `(from)` comes before the names),
                    // where rnix's `from` and `attrs` would walk them twice.
                    let mut from = None;
                    for child in inherit.syntax().children() {
                        if child.kind() == SyntaxKind::NODE_INHERIT_FROM {
                            if from.is_none() {
                                from = ast::InheritFrom::cast(child).map(|f| f.expr());
                            }
                            continue;
                        }
                        let Some(attr) = ast::Attr::cast(child) else {
                            continue;
                        };
                        let aspan = self.span_of(attr.syntax());
                        let name: Rc<str> = match self.key_name(&attr)? {
                            KeyName::Static(n) => n,
                            KeyName::Dynamic(_) => {
                                return Err(SyntaxError::Parse {
                                    message: "dynamic attributes not allowed in inherit".into(),
                                    span: aspan,
                                })
                            }
                        };
                        let value = match &from {
                            Some(Some(from_expr)) => {
                                PendingValue::InheritFrom(from_expr.clone(), name.clone(), aspan)
                            }
                            Some(None) => {
                                return Err(self.missing(inherit.syntax(), "inherit source"))
                            }
                            None => PendingValue::Inherit(name.clone(), aspan),
                        };
                        self.insert_static(set, prefix, name, value, aspan)?;
                    }
                }
                ast::Entry::AttrpathValue(apv) => {
                    let span = self.span_of(apv.syntax());
                    let children = Children::of(apv.syntax());
                    let [value, _, _] = children.exprs;
                    let path = children
                        .other
                        .and_then(ast::Attrpath::cast)
                        .ok_or_else(|| self.missing(apv.syntax(), "attribute path"))?;
                    let value = value.ok_or_else(|| self.missing(apv.syntax(), "value"))?;
                    let keys: Vec<KeyName> = path
                        .attrs()
                        .map(|a| self.key_name(&a))
                        .collect::<Result<_, _>>()?;
                    self.insert_path(set, prefix, &keys, value, span)?;
                }
            }
        }
        Ok(())
    }

    fn insert_path(
        &mut self,
        set: &mut PendingSet,
        prefix: &mut Vec<Rc<str>>,
        keys: &[KeyName],
        value: ast::Expr,
        span: Span,
    ) -> Result<(), SyntaxError> {
        let Some((first, rest)) = keys.split_first() else {
            return Err(SyntaxError::Parse {
                message: "empty attribute path".into(),
                span,
            });
        };
        let leaf = if rest.is_empty() {
            match &value {
                // A literal set may be merged with other definitions of the same name.
                ast::Expr::AttrSet(a) => {
                    let mut inner = PendingSet::new(a.rec_token().is_some());
                    prefix.push(key_text(first));
                    self.collect_entries(a, &mut inner, prefix)?;
                    prefix.pop();
                    Some(PendingValue::Set(inner))
                }
                _ => Some(PendingValue::Expr(value.clone())),
            }
        } else {
            None
        };
        match first {
            KeyName::Dynamic(name_expr) => {
                let value = match leaf {
                    Some(v) => v,
                    None => {
                        let mut inner = PendingSet::new(false);
                        prefix.push(key_text(first));
                        self.insert_path(&mut inner, prefix, rest, value, span)?;
                        prefix.pop();
                        PendingValue::Set(inner)
                    }
                };
                set.dynamics.push((name_expr.clone(), value, span));
                Ok(())
            }
            KeyName::Static(name) => match leaf {
                Some(v) => self.insert_static(set, prefix, name.clone(), v, span),
                None => {
                    prefix.push(name.clone());
                    let result = match set.statics.get_mut(name) {
                        Some(PendingBinding {
                            value: PendingValue::Set(inner),
                            ..
                        }) => self.insert_path(inner, prefix, rest, value, span),
                        Some(existing) => Err(SyntaxError::DuplicateAttribute {
                            // Nix names the whole path being defined.
                            path: render_path(
                                prefix.iter().cloned().chain(rest.iter().map(key_text)),
                            ),
                            span,
                            first: nix_position(existing),
                        }),
                        None => {
                            let mut inner = PendingSet::new(false);
                            self.insert_path(&mut inner, prefix, rest, value, span)?;
                            set.statics.insert(
                                name.clone(),
                                PendingBinding {
                                    value: PendingValue::Set(inner),
                                    span,
                                },
                            );
                            Ok(())
                        }
                    };
                    prefix.pop();
                    result
                }
            },
        }
    }

    fn insert_static(
        &mut self,
        set: &mut PendingSet,
        prefix: &mut Vec<Rc<str>>,
        name: Rc<str>,
        value: PendingValue,
        span: Span,
    ) -> Result<(), SyntaxError> {
        match (set.statics.get_mut(&name), value) {
            (None, value) => {
                set.statics.insert(name, PendingBinding { value, span });
                Ok(())
            }
            // Two set literals (or paths) for one name: merged, the later one's entries join.
            (
                Some(PendingBinding {
                    value: PendingValue::Set(existing),
                    ..
                }),
                PendingValue::Set(new),
            ) => {
                prefix.push(name.clone());
                for (k, b) in new.statics {
                    self.insert_static(existing, prefix, k, b.value, b.span)?;
                }
                prefix.pop();
                existing.dynamics.extend(new.dynamics);
                existing.recursive |= new.recursive;
                Ok(())
            }
            (Some(existing), _) => Err(SyntaxError::DuplicateAttribute {
                path: render_path(prefix.iter().cloned().chain([name])),
                span,
                first: nix_position(existing),
            }),
        }
    }

    /// Phase two: lowers the values. Recursive sets push their frame for their own values.
    fn finish_set(&mut self, set: PendingSet, span: Span) -> Result<Rc<AttrSetDef>, SyntaxError> {
        let recursive = set.recursive;
        if recursive {
            self.frames
                .push(Frame::Static(set.statics.keys().cloned().collect()));
        }
        let result = self.finish_values(set, span);

        if recursive {
            self.frames.pop();
        }
        result
    }

    fn finish_values(
        &mut self,
        set: PendingSet,
        _span: Span,
    ) -> Result<Rc<AttrSetDef>, SyntaxError> {
        let recursive = set.recursive;
        let mut statics = Vec::with_capacity(set.statics.len());
        for (name, binding) in set.statics {
            statics.push(Binding {
                name,
                value: self.finish_value(binding.value, binding.span, recursive)?,
                span: binding.span,
            });
        }
        let mut dynamics = Vec::with_capacity(set.dynamics.len());
        for (name_expr, value, span) in set.dynamics {
            dynamics.push(DynamicBinding {
                name: self.expr(&name_expr)?,
                value: self.finish_value(value, span, recursive)?,
                span,
            });
        }
        Ok(Rc::new(AttrSetDef {
            recursive,
            statics,
            dynamics,
        }))
    }

    /// `in_own_frame`: the set being finished pushed a frame (`rec`/`let`), which an `inherit`
    /// must look past.
    fn finish_value(
        &mut self,
        value: PendingValue,
        span: Span,
        in_own_frame: bool,
    ) -> Result<BindingValue, SyntaxError> {
        Ok(match value {
            PendingValue::Expr(e) => BindingValue::Expr(self.expr(&e)?),
            PendingValue::Inherit(name, aspan) => {
                let outer = if in_own_frame {
                    &self.frames[..self.frames.len() - 1]
                } else {
                    &self.frames[..]
                };
                let var = self.resolve_in(outer, &name, aspan)?;
                BindingValue::Inherit(self.mk(ExprKind::Var(var), aspan))
            }
            PendingValue::InheritFrom(from, name, aspan) => {
                let target = self.expr(&from)?;
                BindingValue::Expr(self.mk(
                    ExprKind::Select {
                        target,
                        path: vec![AttrKey::Static(StaticName::new(name))],
                        default: None,
                    },
                    aspan,
                ))
            }
            PendingValue::Set(inner) => {
                let def = self.finish_set(inner, span)?;
                BindingValue::Expr(self.mk(ExprKind::AttrSet(def), span))
            }
        })
    }
}

/// A name of an attribute path as Nix shows it in messages.
fn key_text(key: &KeyName) -> Rc<str> {
    match key {
        KeyName::Static(n) => n.clone(),
        KeyName::Dynamic(_) => "\"${...}\"".into(),
    }
}

/// `a.b.c`.
fn render_path(names: impl Iterator<Item = Rc<str>>) -> String {
    names.collect::<Vec<_>>().join(".")
}

/// `f` of an identifier's name. The node holds one token (trivia stays outside it), whose text
/// is borrowed from the green tree, where gathering the node's text would build a string
/// through a formatter.
fn ident_text<R>(ident: &ast::Ident, f: impl FnOnce(&str) -> R) -> R {
    let node = ident.syntax();
    let mut children = node.green().children();
    match (children.next(), children.next()) {
        (Some(rowan::NodeOrToken::Token(token)), None) => f(token.text()),
        _ => f(&node.text().to_string()),
    }
}

/// A node's first three expression children, and its first child of another kind (an
/// attribute path, a lambda's parameter), found in one pass: each of rnix's accessors walks
/// the children from the first, making (and dropping) a red node for every child it passes.
struct Children {
    exprs: [Option<ast::Expr>; 3],
    other: Option<rnix::SyntaxNode>,
}

impl Children {
    fn of(node: &rnix::SyntaxNode) -> Children {
        let mut exprs = [None, None, None];
        let mut found = 0;
        let mut other = None;
        for child in node.children() {
            if ast::Expr::can_cast(child.kind()) {
                if let Some(slot) = exprs.get_mut(found) {
                    *slot = ast::Expr::cast(child);
                    found += 1;
                }
            } else if other.is_none() {
                other = Some(child);
            }
        }
        Children { exprs, other }
    }
}

/// The kinds of a node's own tokens, read from the green tree (no red token is made for them).
fn green_tokens(node: &rnix::SyntaxNode) -> impl Iterator<Item = SyntaxKind> + '_ {
    node.green()
        .children()
        .filter_map(|c| c.into_token())
        .map(|t| rnix::NixLanguage::kind_from_raw(t.kind()))
}

/// Whether one of a node's own tokens is a `kind`.
fn has_token(node: &rnix::SyntaxNode, kind: SyntaxKind) -> bool {
    green_tokens(node).any(|k| k == kind)
}

/// The text of a string without interpolation, if it is one.
fn static_string(s: &ast::Str) -> Option<String> {
    let mut out = String::new();
    for part in s.normalized_parts() {
        match part {
            InterpolPart::Literal(text) => out.push_str(&text),
            InterpolPart::Interpolation(_) => return None,
        }
    }
    Some(out)
}

/// Where Nix 2.8 says a binding was defined: an inherited name one column before the name
/// itself (its parser takes the position of the whitespace before it).
fn nix_position(binding: &PendingBinding) -> Span {
    let mut span = binding.span;
    if matches!(
        binding.value,
        PendingValue::Inherit(..) | PendingValue::InheritFrom(..)
    ) {
        span.start = span.start.saturating_sub(1);
    }
    span
}

fn binary_op(op: ast::BinOpKind) -> BinaryOp {
    use ast::BinOpKind as K;
    match op {
        K::Concat => BinaryOp::Concat,
        K::Update => BinaryOp::Update,
        K::Add => BinaryOp::Add,
        K::Sub => BinaryOp::Sub,
        K::Mul => BinaryOp::Mul,
        K::Div => BinaryOp::Div,
        K::And => BinaryOp::And,
        K::Or => BinaryOp::Or,
        K::Implication => BinaryOp::Implication,
        K::Equal => BinaryOp::Equal,
        K::NotEqual => BinaryOp::NotEqual,
        K::Less => BinaryOp::Less,
        K::LessOrEq => BinaryOp::LessOrEq,
        K::More => BinaryOp::More,
        K::MoreOrEq => BinaryOp::MoreOrEq,
        K::PipeRight => BinaryOp::PipeRight,
        K::PipeLeft => BinaryOp::PipeLeft,
    }
}

/// Makes a path literal absolute against `base` and removes `.`, `..` and repeated slashes
/// without touching the file system, as Nix's `canonPath` does.
pub fn absolute_path(text: &str, base: Option<&Path>) -> String {
    let joined = if text.starts_with('/') {
        PathBuf::from(text)
    } else {
        match base {
            Some(b) => b.join(text),
            None => PathBuf::from("/").join(text),
        }
    };
    canonical_path(&joined.to_string_lossy())
}

/// Lexical canonicalisation of an absolute path string.
pub fn canonical_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(c) => parts.push(c.to_str().unwrap_or_default()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    let mut out = String::from("/");
    out.push_str(&parts.join("/"));
    out
}

/// A quoted attribute name: names may hold any bytes, kept as the text standing for them
/// (`byte_text`), which is what the source already is (`SourceMap::add_bytes`).
///
/// An attribute or argument name of the source, one shared copy per distinct name: the sets
/// built from a program's text and the selections in it then hold the same names, which the
/// evaluator recognises as equal by address without comparing their text. The copies live as
/// long as the thread (names of source text are as many as the source has).
fn name_of_text(text: &str) -> Rc<str> {
    // foldhash rather than std's SipHash: a name is hashed once per occurrence in the source,
    // and foldhash is several times cheaper on short keys while its seed stays random.
    type Names = std::collections::HashSet<Rc<str>, foldhash::fast::RandomState>;
    thread_local! {
        static NAMES: std::cell::RefCell<Names> = std::cell::RefCell::new(Names::default());
    }
    NAMES
        .try_with(|names| {
            let mut names = names.borrow_mut();
            if let Some(name) = names.get(text) {
                return name.clone();
            }
            let name: Rc<str> = Rc::from(text);
            names.insert(name.clone());
            name
        })
        // A thread being torn down has no table any more: a copy of its own.
        .unwrap_or_else(|_| Rc::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(src: &str) -> Result<ExprRef, SyntaxError> {
        let parse = rnix::Root::parse(src);
        assert!(parse.errors().is_empty(), "{:?}", parse.errors());
        let globals: Vec<Rc<str>> = vec!["builtins".into(), "true".into()];
        lower_root_in_scope(
            &parse.tree(),
            FileId(0),
            Some(Path::new("/project")),
            &globals,
            None,
        )
    }

    #[test]
    fn undefined_variable_is_reported() {
        let err = lower("let a = 1; in b").unwrap_err();
        assert!(matches!(err, SyntaxError::UndefinedVariable { ref name, .. } if name == "b"));
    }

    #[test]
    fn with_defers_unknown_names() {
        let e = lower("with builtins; foo").unwrap();
        match &e.kind {
            ExprKind::With { body, .. } => {
                assert!(matches!(body.kind, ExprKind::Var(Var::With { .. })))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn static_binding_wins_over_inner_with() {
        let e = lower("let x = 2; in with builtins; x").unwrap();
        let ExprKind::Let { body, .. } = &e.kind else {
            panic!()
        };
        let ExprKind::With { body, .. } = &body.kind else {
            panic!()
        };
        assert!(matches!(
            body.kind,
            ExprKind::Var(Var::Local { depth: 1, slot: 0 })
        ));
    }

    #[test]
    fn duplicate_attribute_is_reported() {
        let err = lower("{ a.b = 1; a.b.c = 2; }").unwrap_err();
        assert_eq!(err.to_string(), "attribute 'a.b.c' already defined");
        let err = lower("{ a = 1; a = 2; }").unwrap_err();
        assert_eq!(err.to_string(), "attribute 'a' already defined");
    }

    #[test]
    fn set_literals_merge() {
        let e = lower("{ a = { x = 1; }; a.y = 2; }").unwrap();
        let ExprKind::AttrSet(def) = &e.kind else {
            panic!()
        };
        assert_eq!(def.statics.len(), 1);
        let BindingValue::Expr(inner) = &def.statics[0].value else {
            panic!()
        };
        let ExprKind::AttrSet(inner) = &inner.kind else {
            panic!()
        };
        assert_eq!(inner.statics.len(), 2);
    }

    #[test]
    fn duplicate_formal_is_reported() {
        let err = lower("args@{ args, ... }: 1").unwrap_err();
        assert_eq!(err.to_string(), "duplicate formal function argument 'args'");
    }

    fn parse_expr(src: &str) -> ast::Expr {
        let parse = rnix::Root::parse(src);
        assert!(parse.errors().is_empty(), "{:?}", parse.errors());
        let Some(expr) = parse.tree().expr() else {
            panic!("no expression in {src}")
        };
        expr
    }

    #[test]
    fn children_are_found_in_one_pass() {
        let apply = parse_expr("f x");
        let children = Children::of(apply.syntax());
        let [func, arg, none] = &children.exprs;
        assert_eq!(
            func.as_ref().map(|e| e.syntax().to_string()).as_deref(),
            Some("f")
        );
        assert_eq!(
            arg.as_ref().map(|e| e.syntax().to_string()).as_deref(),
            Some("x")
        );
        assert!(none.is_none() && children.other.is_none());

        let select = parse_expr("a.b.c or d");
        let children = Children::of(select.syntax());
        let [target, default, _] = &children.exprs;
        assert_eq!(
            target.as_ref().map(|e| e.syntax().to_string()).as_deref(),
            Some("a")
        );
        assert_eq!(
            default.as_ref().map(|e| e.syntax().to_string()).as_deref(),
            Some("d")
        );
        let path = children.other.and_then(ast::Attrpath::cast);
        assert_eq!(path.map(|p| p.syntax().to_string()).as_deref(), Some("b.c"));

        let lambda = parse_expr("{ a ? 1 }: a");
        let children = Children::of(lambda.syntax());
        assert!(children.other.and_then(ast::Param::cast).is_some());
        let [body, none, _] = &children.exprs;
        assert_eq!(
            body.as_ref().map(|e| e.syntax().to_string()).as_deref(),
            Some("a")
        );
        assert!(none.is_none());
    }

    #[test]
    fn own_tokens_are_read_from_the_green_tree() {
        assert!(has_token(
            parse_expr("rec { }").syntax(),
            SyntaxKind::TOKEN_REC
        ));
        assert!(!has_token(
            parse_expr("{ a = rec { }; }").syntax(),
            SyntaxKind::TOKEN_REC
        ));
        let op =
            green_tokens(parse_expr("1 /* c */ // 2").syntax()).find_map(ast::BinOpKind::from_kind);
        assert_eq!(op, Some(ast::BinOpKind::Update));
        let ident = ast::Ident::cast(parse_expr("  foo ").syntax().clone());
        assert_eq!(
            ident.map(|i| ident_text(&i, str::to_owned)).as_deref(),
            Some("foo")
        );
    }

    #[test]
    fn relative_paths_are_made_absolute() {
        assert_eq!(
            absolute_path("./a/../b//c", Some(Path::new("/p/q"))),
            "/p/q/b/c"
        );
        assert_eq!(absolute_path("/x/./y", None), "/x/y");
    }
}
