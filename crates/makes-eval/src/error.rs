//! `EvalError`: evaluation failures with the span they happened at, a trail of notes, and
//! a `catchable` flag (`throw` and `assert` can be caught by `builtins.tryEval`).

use makes_syntax::{SourceDiagnostic, SourceMap, Span, SyntaxError};
use std::rc::Rc;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EvalErrorKind {
    #[error("value is {found} while {expected} was expected")]
    Type {
        expected: &'static str,
        found: &'static str,
    },
    #[error("{0}")]
    Throw(String),
    #[error("evaluation aborted with the following error message: '{0}'")]
    Abort(String),
    #[error("assertion '{0}' failed")]
    AssertionFailed(String),
    #[error("undefined variable '{0}'")]
    UndefinedVariable(String),
    #[error("attribute '{name}' missing")]
    MissingAttribute {
        name: String,
        available: Vec<String>,
    },
    #[error("infinite recursion encountered")]
    InfiniteRecursion,
    #[error("stack overflow (possible infinite recursion)")]
    StackOverflow,
    #[error("out of memory: the evaluation needs more than its ceiling of {}", crate::memory::human_bytes(*ceiling))]
    OutOfMemory { ceiling: usize },
    #[error("division by zero")]
    DivisionByZero,
    #[error("integer overflow in {0}")]
    IntegerOverflow(&'static str),
    #[error("{function} called without required argument '{name}'")]
    MissingArgument { function: String, name: String },
    #[error("{function} called with unexpected argument '{name}'")]
    UnexpectedArgument { function: String, name: String },
    #[error("attribute '{0}' already defined")]
    DuplicateAttribute(String),
    #[error("cannot coerce {0} to a string")]
    NotCoercible(&'static str),
    #[error("{0} is not supported yet")]
    NotSupported(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Syntax(SyntaxError),
    #[error("{0}")]
    Other(String),
    /// An error of a later stage raised during evaluation (e.g. a `makeDerivation` argument
    /// that makes' rules reject), keeping that stage's code.
    #[error("{message}")]
    External {
        code: &'static str,
        message: String,
        help: Option<String>,
        /// Further errors reported with it (all the mistakes of one spec).
        related: Vec<ExternalNote>,
    },
}

/// One located message of a later stage, carried by `EvalErrorKind::External`.
#[derive(Debug, Clone)]
pub struct ExternalNote {
    pub code: &'static str,
    pub message: String,
    pub span: Option<Span>,
    pub help: Option<String>,
}

/// An evaluation error. Cheap to clone: thunks that failed keep theirs. One pointer wide, so
/// that every `Result<Value>` of the evaluator stays small (deep Nix recursion moves many).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.0.kind)]
pub struct EvalError(Box<EvalErrorData>);

/// What an [`EvalError`] holds (reached through `Deref`: `error.kind`, `error.span`, ...).
#[derive(Debug, Clone)]
pub struct EvalErrorData {
    pub kind: Rc<EvalErrorKind>,
    pub span: Option<Span>,
    /// Outermost last: "while evaluating ..." notes added as the error travels up.
    pub notes: Vec<(Option<Span>, String)>,
    /// Whether `builtins.tryEval` catches it (`throw`, `assert`).
    pub catchable: bool,
}

impl std::ops::Deref for EvalError {
    type Target = EvalErrorData;

    fn deref(&self) -> &EvalErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for EvalError {
    fn deref_mut(&mut self) -> &mut EvalErrorData {
        &mut self.0
    }
}

impl EvalError {
    pub fn new(kind: EvalErrorKind, span: Option<Span>) -> Self {
        let catchable = matches!(
            kind,
            EvalErrorKind::Throw(_) | EvalErrorKind::AssertionFailed(_)
        );
        EvalError(Box::new(EvalErrorData {
            kind: Rc::new(kind),
            span,
            notes: Vec::new(),
            catchable,
        }))
    }

    pub fn other(message: impl Into<String>, span: Option<Span>) -> Self {
        Self::new(EvalErrorKind::Other(message.into()), span)
    }

    pub fn infinite_recursion(span: Option<Span>) -> Self {
        Self::new(EvalErrorKind::InfiniteRecursion, span)
    }

    pub fn type_error(expected: &'static str, found: &crate::Value, span: Option<Span>) -> Self {
        Self::new(
            EvalErrorKind::Type {
                expected,
                found: found.describe(),
            },
            span,
        )
    }

    /// Gives the error a location if it has none yet.
    pub fn at(mut self, span: Span) -> Self {
        // Calls made by built-ins carry a placeholder span (file u32::MAX): a real one wins.
        let placeholder = |s: &Span| s.file.0 == u32::MAX;
        if self.span.as_ref().is_none_or(placeholder) && !placeholder(&span) {
            self.span = Some(span);
        }
        self
    }

    /// Adds a "while ..." note.
    pub fn note(mut self, span: Option<Span>, message: impl Into<String>) -> Self {
        if self.notes.len() < 32 {
            self.notes.push((span, message.into()));
        }
        self
    }

    pub fn code(&self) -> &'static str {
        match &*self.kind {
            EvalErrorKind::Type { .. } => "makes::eval::type_error",
            EvalErrorKind::Throw(_) => "makes::eval::throw",
            EvalErrorKind::Abort(_) => "makes::eval::abort",
            EvalErrorKind::AssertionFailed(_) => "makes::eval::assertion_failed",
            EvalErrorKind::UndefinedVariable(_) => "makes::eval::undefined_variable",
            EvalErrorKind::MissingAttribute { .. } => "makes::eval::missing_attribute",
            EvalErrorKind::InfiniteRecursion => "makes::eval::infinite_recursion",
            EvalErrorKind::StackOverflow => "makes::eval::stack_overflow",
            EvalErrorKind::OutOfMemory { .. } => "makes::eval::out_of_memory",
            EvalErrorKind::DivisionByZero => "makes::eval::division_by_zero",
            EvalErrorKind::IntegerOverflow(_) => "makes::eval::integer_overflow",
            EvalErrorKind::MissingArgument { .. } => "makes::eval::missing_argument",
            EvalErrorKind::UnexpectedArgument { .. } => "makes::eval::unexpected_argument",
            EvalErrorKind::DuplicateAttribute(_) => "makes::eval::duplicate_attribute",
            EvalErrorKind::NotCoercible(_) => "makes::eval::not_coercible",
            EvalErrorKind::NotSupported(_) => "makes::eval::not_supported",
            EvalErrorKind::Io(_) => "makes::eval::io",
            EvalErrorKind::Syntax(e) => e.code(),
            EvalErrorKind::Other(_) => "makes::eval::error",
            EvalErrorKind::External { code, .. } => code,
        }
    }

    /// The miette form: the message at its span, and each note as a related diagnostic.
    /// For a missing attribute, the names close to it as Nix 2.8 suggests them, else the
    /// names that are there (when there are not too many).
    pub fn missing_attribute_help(&self) -> Option<String> {
        match &*self.kind {
            EvalErrorKind::MissingAttribute { name, available } => {
                did_you_mean(name, available.iter().map(String::as_str)).or_else(|| {
                    (!available.is_empty() && available.len() <= 40)
                        .then(|| format!("available attributes: {}", available.join(", ")))
                })
            }
            _ => None,
        }
    }

    /// The help line of the error: a later stage's own, or the attributes a missing one could
    /// have been.
    pub fn help(&self) -> Option<String> {
        match &*self.kind {
            EvalErrorKind::External { help, .. } => help.clone(),
            EvalErrorKind::OutOfMemory { .. } => crate::memory::how_to_raise().map(str::to_owned),
            _ => self.missing_attribute_help(),
        }
    }

    pub fn to_diagnostic(&self, sources: &SourceMap) -> SourceDiagnostic {
        if let EvalErrorKind::Syntax(e) = &*self.kind {
            return e.to_diagnostic(sources);
        }
        let mut diag = SourceDiagnostic::new(self.code(), self.to_string(), self.span, sources);
        if let EvalErrorKind::External { help, related, .. } = &*self.kind {
            if let Some(help) = help {
                diag = diag.with_help(help.clone());
            }
            for note in related {
                let mut d =
                    SourceDiagnostic::new(note.code, note.message.clone(), note.span, sources);
                if let Some(help) = &note.help {
                    d = d.with_help(help.clone());
                }
                diag.related.push(d);
            }
        }
        if let Some(help) = self.missing_attribute_help() {
            diag = diag.with_help(help);
        }
        if let (EvalErrorKind::OutOfMemory { .. }, Some(help)) =
            (&*self.kind, crate::memory::how_to_raise())
        {
            diag = diag.with_help(help.to_owned());
        }
        for (span, note) in &self.notes {
            diag.related.push(SourceDiagnostic::new(
                self.code(),
                note.clone(),
                *span,
                sources,
            ));
        }
        diag
    }
}

impl From<SyntaxError> for EvalError {
    fn from(e: SyntaxError) -> Self {
        let span = Some(e.span());
        EvalError::new(EvalErrorKind::Syntax(e), span)
    }
}

pub type Result<T, E = EvalError> = std::result::Result<T, E>;

/// Nix 2.8's suggestion for a name not found among `names`: the (at most five) names within
/// two edits of it, closest first, as "Did you mean x?" or "Did you mean one of x, y or z?".
pub fn did_you_mean<'a>(query: &str, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let ranked: std::collections::BTreeSet<(usize, &str)> = names
        .into_iter()
        .map(|name| (edit_distance(query.as_bytes(), name.as_bytes()), name))
        .collect();
    let close: Vec<&str> = ranked
        .into_iter()
        .take_while(|(distance, _)| *distance <= 2)
        .take(5)
        .map(|(_, name)| name)
        .collect();
    match close.as_slice() {
        [] => None,
        [one] => Some(format!("Did you mean {one}?")),
        [first, middle @ .., last] => {
            let mut text = format!("Did you mean one of {first}");
            for name in middle {
                text.push_str(", ");
                text.push_str(name);
            }
            Some(format!("{text} or {last}?"))
        }
    }
}

/// The Levenshtein distance of two byte strings (insertions, deletions, substitutions).
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(x != y);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod suggestion_tests {
    use super::did_you_mean;

    #[test]
    fn close_names_are_suggested_as_nix_suggests_them() {
        // Nix's own test: distance 1 and 2 in order, "bar" (3 edits) left out.
        assert_eq!(
            did_you_mean("foo", ["foooo", "bar", "fo", "gao"]).as_deref(),
            Some("Did you mean one of fo, foooo or gao?")
        );
        assert_eq!(
            did_you_mean("xz", ["xy", "abc"]).as_deref(),
            Some("Did you mean xy?")
        );
        assert_eq!(did_you_mean("zzzz", ["a", "b"]), None);
    }
}
