//! `SpecError`: a makes.nix that evaluates but does not say what makes needs, reported at the
//! attribute it is about.

use makes_eval::EvalError;
use makes_syntax::{SourceDiagnostic, SourceMap, Span};

/// Why a deploy job's image reference, its environment variables expanded when the job runs,
/// cannot be pushed to: the reference as written, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum DeployImageError {
    /// The reference's variable syntax is wrong.
    #[error("{reason}")]
    #[diagnostic(code(makes::spec::deploy_image_syntax))]
    Syntax { image: String, reason: String },

    /// A variable it names is not set.
    #[error("the deploy job's image {image:?}: {reason}")]
    #[diagnostic(code(makes::spec::deploy_image_unset))]
    Unexpanded { image: String, reason: String },

    /// Expanded, it is not a valid reference.
    #[error(
        "the deploy job's image {image:?} expands to {problem} (from the environment variable{} {})",
        if variables.len() == 1 { "" } else { "s" },
        variables.join(", ")
    )]
    #[diagnostic(code(makes::spec::deploy_image_invalid))]
    Invalid {
        image: String,
        variables: Vec<String>,
        /// Said in the message, so not a separate cause.
        problem: InvalidOciValue,
    },
}

/// An image name, tag, reference or date that the OCI formats do not allow: which text, and
/// why. The text is quoted with `{:?}`, so control characters show escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum InvalidOciValue {
    #[error("{name:?} is not a valid image name: {reason}")]
    #[diagnostic(code(makes::spec::invalid_image_name))]
    ImageName { name: String, reason: String },
    #[error("{tag:?} is not a valid image tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')")]
    #[diagnostic(code(makes::spec::invalid_tag))]
    Tag { tag: String },
    #[error("{reference:?} is not a valid image reference: the digest {digest:?} is not sha256: and 64 lowercase hex digits")]
    #[diagnostic(code(makes::spec::invalid_reference))]
    ReferenceDigest { reference: String, digest: String },
    #[error("'{date}' is not an ISO-8601 date like \"1970-01-01T00:00:01Z\" (or \"now\")")]
    #[diagnostic(code(makes::spec::invalid_date))]
    Date { date: String },
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SpecError {
    #[error("{0}")]
    Eval(#[from] EvalError),
    #[error("'{attr}' is only available when layered = {needs}")]
    WrongMode {
        attr: String,
        needs: bool,
        span: Option<Span>,
    },
    #[error("{function} got an unknown attribute '{attr}'; known attributes: {known}")]
    UnknownAttribute {
        function: &'static str,
        attr: String,
        known: String,
        span: Option<Span>,
    },
    #[error("{function} requires the attribute '{attr}'")]
    MissingAttribute {
        function: &'static str,
        attr: String,
        span: Option<Span>,
    },
    #[error("'{attr}' must be {expected}, but it is {found}")]
    WrongType {
        attr: String,
        expected: &'static str,
        found: String,
        span: Option<Span>,
    },
    #[error("'{attr}': {message}")]
    Invalid {
        attr: String,
        message: String,
        span: Option<Span>,
    },
    #[error("Invalid argument: {key}, must start with: env")]
    InvalidEnvKey { key: String, span: Option<Span> },
    #[error("{what} is not supported yet")]
    NotSupported { what: String, span: Option<Span> },
    #[error("The job \"{name}\" must begin with a slash. Rename it to \"/{name}\".")]
    JobNameWithoutSlash { name: String, span: Option<Span> },
    #[error("the option '{name}' does not exist; known top-level attributes: {known}")]
    UnknownTopLevel {
        name: String,
        known: String,
        span: Option<Span>,
    },
    #[error("no makes.nix in {dir} or any directory above it")]
    NoProject { dir: String },
    /// Several mistakes in one call, all reported at once.
    #[error("{function} has {} problems", errors.len())]
    Many {
        function: &'static str,
        errors: Vec<SpecError>,
    },
}

impl SpecError {
    pub fn span(&self) -> Option<Span> {
        match self {
            SpecError::Eval(e) => e.span,
            SpecError::WrongMode { span, .. }
            | SpecError::UnknownAttribute { span, .. }
            | SpecError::MissingAttribute { span, .. }
            | SpecError::WrongType { span, .. }
            | SpecError::Invalid { span, .. }
            | SpecError::InvalidEnvKey { span, .. }
            | SpecError::NotSupported { span, .. }
            | SpecError::JobNameWithoutSlash { span, .. }
            | SpecError::UnknownTopLevel { span, .. } => *span,
            SpecError::NoProject { .. } => None,
            SpecError::Many { errors, .. } => errors.first().and_then(SpecError::span),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            SpecError::Eval(e) => e.code(),
            SpecError::WrongMode { .. } => "makes::spec::wrong_mode",
            SpecError::UnknownAttribute { .. } => "makes::spec::unknown_attribute",
            SpecError::MissingAttribute { .. } => "makes::spec::missing_attribute",
            SpecError::WrongType { .. } => "makes::spec::wrong_type",
            SpecError::Invalid { .. } => "makes::spec::invalid",
            SpecError::InvalidEnvKey { .. } => "makes::spec::invalid_env_key",
            SpecError::NotSupported { .. } => "makes::spec::not_supported",
            SpecError::JobNameWithoutSlash { .. } => "makes::spec::job_name",
            SpecError::UnknownTopLevel { .. } => "makes::spec::unknown_option",
            SpecError::NoProject { .. } => "makes::spec::no_project",
            SpecError::Many { .. } => "makes::spec::many",
        }
    }

    pub fn to_diagnostic(&self, sources: &SourceMap) -> SourceDiagnostic {
        match self {
            SpecError::Eval(e) => e.to_diagnostic(sources),
            SpecError::Many { errors, .. } => {
                let mut diag = SourceDiagnostic::new(self.code(), self.to_string(), None, sources);
                diag.related = errors.iter().map(|e| e.to_diagnostic(sources)).collect();
                diag
            }
            other => {
                let diag =
                    SourceDiagnostic::new(other.code(), other.to_string(), other.span(), sources);
                match other.suggestion() {
                    Some(s) => diag.with_help(format!("did you mean '{s}'?")),
                    None => diag,
                }
            }
        }
    }

    /// This error as a note that travels inside an evaluation error.
    fn as_note(&self) -> makes_eval::ExternalNote {
        if let SpecError::Eval(e) = self {
            return makes_eval::ExternalNote {
                code: e.code(),
                message: e.to_string(),
                span: e.span,
                help: e.help(),
            };
        }
        makes_eval::ExternalNote {
            code: self.code(),
            message: self.to_string(),
            span: self.span(),
            help: self.suggestion().map(|s| format!("did you mean '{s}'?")),
        }
    }

    /// The known name closest to a misspelt one, for "did you mean".
    pub fn suggestion(&self) -> Option<String> {
        let (given, known) = match self {
            SpecError::UnknownAttribute { attr, known, .. }
            | SpecError::UnknownTopLevel {
                name: attr, known, ..
            } => (attr, known),
            _ => return None,
        };
        closest(given, known.split(", "))
    }
}

impl From<SpecError> for EvalError {
    /// Spec errors raised inside evaluation (e.g. by `makeDerivation`) travel as eval errors.
    fn from(e: SpecError) -> Self {
        match e {
            SpecError::Eval(e) => e,
            SpecError::Many { function, errors } => {
                let related = errors.iter().map(SpecError::as_note).collect();
                let kind = makes_eval::EvalErrorKind::External {
                    code: "makes::spec::many",
                    message: format!("{function} has {} problems", errors.len()),
                    help: None,
                    related,
                };
                EvalError::new(kind, None)
            }
            other => {
                let note = other.as_note();
                let kind = makes_eval::EvalErrorKind::External {
                    code: note.code,
                    message: note.message,
                    help: note.help,
                    related: Vec::new(),
                };
                EvalError::new(kind, note.span)
            }
        }
    }
}

/// The candidate nearest to `given` when it is near enough to be a typo.
pub(crate) fn closest<'a>(
    given: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<String> {
    let limit = (given.chars().count() / 3).max(1);
    candidates
        .map(|c| {
            (
                strsim::damerau_levenshtein(&given.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let known = ["maxLayers", "tag", "name", "config"];
        assert_eq!(
            closest("maxLayer", known.iter().copied()),
            Some("maxLayers".into())
        );
        assert_eq!(closest("tagg", known.iter().copied()), Some("tag".into()));
        assert_eq!(
            closest("Config", known.iter().copied()),
            Some("config".into())
        );
        assert_eq!(closest("something", known.iter().copied()), None);
    }
}
