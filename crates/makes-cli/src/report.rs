//! Turning errors into what the user sees: miette reports on stderr and an exit code.

use makes_eval::{EvalError, Evaluator};
use makes_spec::SpecError;

/// A command that failed: what to print, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub report: Option<miette::Report>,
    pub code: u8,
}

impl Failure {
    pub fn report(report: miette::Report) -> Self {
        Failure {
            report: Some(report),
            code: 1,
        }
    }

    pub fn message(message: impl Into<String>) -> Self {
        Self::report(miette::miette!("{}", message.into()))
    }

    /// Exit with `code` after the command printed its own message.
    pub fn silent(code: u8) -> Self {
        Failure { report: None, code }
    }
}

/// A library error becomes a failure whole: its code, help, labels and causes are printed.
impl<E: miette::Diagnostic + Send + Sync + 'static> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::report(miette::Report::new(error))
    }
}

pub fn report_eval(ev: &Evaluator, e: &EvalError) -> Failure {
    Failure::report(miette::Report::new(e.to_diagnostic(&ev.sources)))
}

pub fn report_spec(ev: &Evaluator, e: &SpecError) -> Failure {
    Failure::report(miette::Report::new(e.to_diagnostic(&ev.sources)))
}
