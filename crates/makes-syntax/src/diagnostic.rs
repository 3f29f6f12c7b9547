//! `SourceDiagnostic`: a located message in miette's form, shared by every stage that reports
//! an error about Nix source (syntax, evaluation, specs).

use crate::source::{SourceMap, Span};
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use std::sync::Arc;

/// A message about a place in a source file, ready for miette to render with the source line.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SourceDiagnostic {
    pub message: String,
    pub code: &'static str,
    pub src: Option<NamedSource<Arc<str>>>,
    pub span: Option<SourceSpan>,
    pub label: Option<String>,
    pub help: Option<String>,
    /// Further located notes (e.g. "while evaluating the attribute 'x'").
    pub related: Vec<SourceDiagnostic>,
}

impl SourceDiagnostic {
    /// A diagnostic at `span` (resolved through `sources`), or without location when `None`.
    pub fn new(
        code: &'static str,
        message: impl Into<String>,
        span: Option<Span>,
        sources: &SourceMap,
    ) -> Self {
        let (src, span) = match span.and_then(|s| sources.get(s.file).map(|f| (s, f))) {
            Some((s, file)) => {
                // miette prints `name:line:column` itself above the quoted source line.
                (
                    Some(NamedSource::new(file.name.clone(), file.text.clone())),
                    Some(SourceSpan::new((s.start as usize).into(), s.len())),
                )
            }
            None => (None, None),
        };
        SourceDiagnostic {
            message: message.into(),
            code,
            src,
            span,
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl Diagnostic for SourceDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        let label = self.label.clone().or_else(|| Some("here".to_owned()));
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            label, span,
        ))))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|d| d as &dyn Diagnostic)))
        }
    }
}
