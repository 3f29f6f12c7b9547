//! The store paths a string context stands for, as inputs of the recipe that uses the
//! strings: plain store paths as they are, and a derivation (or one of its outputs) as the
//! output paths it gives, so that a `builtins.derivation` used inside makes' functions is
//! built before what uses it.

use crate::error::SpecError;
use makes_eval::{Context, Evaluator};
use makes_syntax::Span;

/// Replaces the derivations and derivation outputs of `context` by the output paths they
/// stand for. `what` names the value the context was gathered from, for the error about a
/// derivation this evaluation did not instantiate.
pub fn resolve_derivation_contexts(
    ev: &Evaluator,
    context: &mut Context,
    what: &str,
    span: Option<Span>,
) -> Result<(), SpecError> {
    let invalid = |message: String| SpecError::Invalid {
        attr: what.to_owned(),
        message,
        span,
    };
    let outputs_of = |drv: &str| {
        ev.io.derivation_outputs(drv).ok_or_else(|| {
            invalid(format!(
                "it refers to the derivation {drv}, which this evaluation did not instantiate"
            ))
        })
    };
    for drv in std::mem::take(&mut context.derivations) {
        let outputs = outputs_of(&drv)?;
        context
            .paths
            .extend(outputs.into_iter().map(|(_, path)| path.into()));
    }
    for (drv, output) in std::mem::take(&mut context.outputs) {
        let path = outputs_of(&drv)?
            .into_iter()
            .find(|(name, _)| name.as_str() == output.as_ref())
            .map(|(_, path)| path)
            .ok_or_else(|| {
                invalid(format!(
                    "it refers to the output '{output}' of {drv}, which has none"
                ))
            })?;
        context.paths.insert(path.into());
    }
    Ok(())
}

/// Every store path `context` refers to (see [`resolve_derivation_contexts`]), in order.
pub fn input_paths(
    ev: &Evaluator,
    context: &Context,
    what: &str,
    span: Option<Span>,
) -> Result<Vec<String>, SpecError> {
    let mut context = context.clone();
    resolve_derivation_contexts(ev, &mut context, what, span)?;
    Ok(context.paths.iter().map(|p| p.to_string()).collect())
}
