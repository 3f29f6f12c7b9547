//! The errors of the store's plug-ins (the image builder, the image puller, the URL fetcher,
//! a fixed output's check): each plug-in's crate has its own error type, and the store keeps
//! it whole, so that its code, help and source reach the user through `RealiseError`.

use miette::{Diagnostic, LabeledSpan, Severity, SourceCode};
use std::fmt;

/// What a plug-in failed with: its own crate's diagnostic, boxed.
pub struct PluginError(Box<dyn Diagnostic + Send + Sync + 'static>);

impl PluginError {
    /// Keeps `error` with its code, help and source.
    pub fn new(error: impl Diagnostic + Send + Sync + 'static) -> Self {
        PluginError(Box::new(error))
    }

    /// A plain error (no code, no help), its source chain kept.
    pub fn from_error(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(error);
        PluginError(Box::<dyn Diagnostic + Send + Sync>::from(boxed))
    }

    /// A failure that has nothing to say but a message (test doubles, plain text from a tool).
    pub fn message(message: impl Into<String>) -> Self {
        PluginError(Box::<dyn Diagnostic + Send + Sync>::from(message.into()))
    }

    /// The plug-in's diagnostic.
    pub fn diagnostic(&self) -> &(dyn Diagnostic + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Debug for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for PluginError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Diagnostic for PluginError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.code()
    }

    fn severity(&self) -> Option<Severity> {
        self.0.severity()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.help()
    }

    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.url()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.0.labels()
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.0.related()
    }

    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.0.diagnostic_source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error, Diagnostic)]
    #[error("the registry said no")]
    #[diagnostic(code(makes::test::refused), help("log in first"))]
    struct Refused;

    #[test]
    fn code_and_help_survive_the_box() {
        let error = PluginError::new(Refused);
        assert_eq!(error.to_string(), "the registry said no");
        assert_eq!(
            error.code().map(|c| c.to_string()).as_deref(),
            Some("makes::test::refused")
        );
        assert_eq!(
            error.help().map(|h| h.to_string()).as_deref(),
            Some("log in first")
        );
        assert_eq!(PluginError::message("plain").to_string(), "plain");
    }
}
