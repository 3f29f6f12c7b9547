//! The lowered expression tree the evaluator walks.
//!
//! Lowering (see `lower.rs`) resolves every variable to a frame depth and slot, merges nested
//! attribute paths, and performs Nix's static checks, so evaluation never re-reads the syntax
//! tree. Nodes are shared through `Rc` because thunks keep pointers into them.

use crate::source::Span;
use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;

pub type ExprRef = Rc<Expr>;

#[derive(Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// A variable resolved at lowering time.
#[derive(Debug, Clone)]
pub enum Var {
    /// Statically bound: `depth` frames up from the current one, at `slot`.
    Local { depth: u32, slot: u32 },
    /// Not statically bound, but a `with` encloses it: looked up in the `with` namespaces at run
    /// time, innermost first.
    With { name: Rc<str> },
}

#[derive(Debug)]
pub enum StrPart {
    Literal(Rc<str>),
    Interpolation(ExprRef),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// `/abs` or `./rel` (already made absolute against `base` when literal).
    Plain,
    /// `~/x`
    Home,
}

/// An attribute name in a select, `?` or a binding.
#[derive(Debug)]
pub enum AttrKey {
    Static(StaticName),
    Dynamic(DynamicName),
}

/// A name of the source looked up in sets (`a.name`, `a ? name`, `inherit (a) name`): its
/// text and where it was last found. A place in a program mostly selects from one set or
/// from sets of one shape (a library, a module's options), where the name is at the same
/// position again: one look at that entry then finds it without a search.
#[derive(Debug)]
pub struct StaticName {
    pub text: Rc<str>,
    /// The position in its set of the entry last found by this name (first 0).
    pub last_position: Cell<u32>,
}

impl StaticName {
    pub fn new(text: Rc<str>) -> Self {
        StaticName {
            text,
            last_position: Cell::new(0),
        }
    }
}

/// A name computed where it is looked up (`a.${e}`, `a ? ${e}`): its expression and where
/// the name last computed there was found. Such places mostly walk a set's names in order
/// (`map (n: s.${n}) (attrNames s)`), each name then at the position after the last.
#[derive(Debug)]
pub struct DynamicName {
    pub expr: ExprRef,
    /// The position in its set of the entry last found here (first 0).
    pub last_position: Cell<u32>,
}

impl DynamicName {
    pub fn new(expr: ExprRef) -> Self {
        DynamicName {
            expr,
            last_position: Cell::new(0),
        }
    }
}

/// Read as its expression: what code walking the tree wants of the key.
impl std::ops::Deref for DynamicName {
    type Target = ExprRef;

    fn deref(&self) -> &ExprRef {
        &self.expr
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Negate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Concat,
    Update,
    Add,
    Sub,
    Mul,
    Div,
    And,
    Or,
    Implication,
    Equal,
    NotEqual,
    Less,
    LessOrEq,
    More,
    MoreOrEq,
    PipeRight,
    PipeLeft,
}

/// The value of one binding in an attribute set or `let`.
#[derive(Debug)]
pub enum BindingValue {
    /// Evaluated in the binding frame (`rec`/`let`) or the enclosing one (plain attrset).
    Expr(ExprRef),
    /// `inherit x;` — in a `rec` set or `let`, evaluated in the scope *outside* the binding
    /// frame; in a plain set, the same as `Expr`.
    Inherit(ExprRef),
}

#[derive(Debug)]
pub struct Binding {
    pub name: Rc<str>,
    pub value: BindingValue,
    /// The span of the definition (attribute path and value), used in reports about it.
    pub span: Span,
}

#[derive(Debug)]
pub struct DynamicBinding {
    pub name: ExprRef,
    pub value: BindingValue,
    pub span: Span,
}

/// An attribute set literal, a `rec` set or the bindings of a `let`.
#[derive(Debug)]
pub struct AttrSetDef {
    /// `rec { }` and `let`: statics are slots of a new frame that their values see.
    pub recursive: bool,
    /// Sorted by name; in recursive sets slot `i` holds `statics[i]`.
    pub statics: Vec<Binding>,
    pub dynamics: Vec<DynamicBinding>,
}

#[derive(Debug)]
pub struct Formal {
    pub name: Rc<str>,
    /// The position of the entry last found by this name in an argument set (first 0): the
    /// sets a function is called with are mostly of one shape, so one look finds it again.
    pub last_position: Cell<u32>,
    pub default: Option<ExprRef>,
    pub span: Span,
}

#[derive(Debug)]
pub enum Param {
    /// `x: body` — one slot.
    Ident(Rc<str>),
    /// `{ a, b ? d, ... } @ bind: body` — a slot per formal (in order), then `bind` if any.
    Pattern {
        formals: Vec<Formal>,
        ellipsis: bool,
        bind: Option<Rc<str>>,
    },
}

#[derive(Debug)]
pub struct LambdaDef {
    pub param: Param,
    pub body: ExprRef,
    pub span: Span,
}

#[derive(Debug)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    /// A string without interpolation (also URIs).
    Str(Rc<str>),
    Interpolated(Vec<StrPart>),
    /// A path literal; `base` is the directory relative paths resolve against.
    Path {
        kind: PathKind,
        parts: Vec<StrPart>,
        base: Option<Rc<PathBuf>>,
    },
    Var(Var),
    Select {
        target: ExprRef,
        path: Vec<AttrKey>,
        default: Option<ExprRef>,
    },
    HasAttr {
        target: ExprRef,
        path: Vec<AttrKey>,
    },
    Apply {
        func: ExprRef,
        arg: ExprRef,
    },
    Lambda(Rc<LambdaDef>),
    AttrSet(Rc<AttrSetDef>),
    Let {
        bindings: Rc<AttrSetDef>,
        body: ExprRef,
    },
    List(Vec<ExprRef>),
    Unary {
        op: UnaryOp,
        operand: ExprRef,
    },
    Binary {
        op: BinaryOp,
        lhs: ExprRef,
        rhs: ExprRef,
    },
    If {
        cond: ExprRef,
        then: ExprRef,
        otherwise: ExprRef,
    },
    Assert {
        cond: ExprRef,
        body: ExprRef,
    },
    /// `with ns; body` — pushes a frame with no slots whose namespace is `ns`.
    With {
        namespace: ExprRef,
        body: ExprRef,
    },
    /// `__curPos`
    CurPos,
}
