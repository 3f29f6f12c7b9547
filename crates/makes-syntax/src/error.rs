//! `SyntaxError`: what the parser and the static checks report, with the span it is about.

use crate::diagnostic::SourceDiagnostic;
use crate::source::{SourceMap, Span};

#[derive(Debug, Clone, thiserror::Error)]
pub enum SyntaxError {
    #[error("syntax error, {message}")]
    Parse { message: String, span: Span },
    #[error("undefined variable '{name}'")]
    UndefinedVariable { name: String, span: Span },
    #[error("attribute '{path}' already defined")]
    DuplicateAttribute {
        path: String,
        span: Span,
        first: Span,
    },
    #[error("duplicate formal function argument '{name}'")]
    DuplicateFormal { name: String, span: Span },
    #[error("invalid integer '{text}'")]
    InvalidInteger { text: String, span: Span },
    #[error("dynamic attributes not allowed in let")]
    DynamicInLet { span: Span },
}

impl SyntaxError {
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Parse { span, .. }
            | SyntaxError::UndefinedVariable { span, .. }
            | SyntaxError::DuplicateAttribute { span, .. }
            | SyntaxError::DuplicateFormal { span, .. }
            | SyntaxError::InvalidInteger { span, .. }
            | SyntaxError::DynamicInLet { span } => *span,
        }
    }

    /// A stable code for the kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            SyntaxError::Parse { .. } => "makes::syntax::parse",
            SyntaxError::UndefinedVariable { .. } => "makes::syntax::undefined_variable",
            SyntaxError::DuplicateAttribute { .. } => "makes::syntax::duplicate_attribute",
            SyntaxError::DuplicateFormal { .. } => "makes::syntax::duplicate_formal",
            SyntaxError::InvalidInteger { .. } => "makes::syntax::invalid_integer",
            SyntaxError::DynamicInLet { .. } => "makes::syntax::dynamic_in_let",
        }
    }

    /// The miette form of this error, with the source line it points at.
    pub fn to_diagnostic(&self, sources: &SourceMap) -> SourceDiagnostic {
        let mut message = self.to_string();
        if let SyntaxError::DuplicateAttribute { first, .. } = self {
            // As Nix says it: "... already defined at FILE:LINE:COL".
            if let Some(file) = sources.get(first.file) {
                let (line, col) = file.line_col(first.start);
                message = format!("{message} at {}:{line}:{col}", file.name);
            }
        }
        let mut diag = SourceDiagnostic::new(self.code(), message, Some(self.span()), sources);
        if let SyntaxError::DuplicateAttribute { first, .. } = self {
            diag.related.push(SourceDiagnostic::new(
                self.code(),
                "first defined here",
                Some(*first),
                sources,
            ));
        }
        diag
    }
}
