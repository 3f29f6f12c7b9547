//! The store paths a string context stands for, as inputs of the recipe that uses the
//! strings: plain store paths as they are, and a derivation (or one of its outputs) as the
//! output paths it gives, so that a `builtins.derivation` used inside makes' functions is
//! built before what uses it.

use crate::error::SpecError;
use makes_eval::{Context, Evaluator};
use makes_store_path::StorePath;
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
) -> Result<Vec<StorePath>, SpecError> {
    let mut context = context.clone();
    resolve_derivation_contexts(ev, &mut context, what, span)?;
    crate::reduce::context_store_paths(&context, what, span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use makes_eval::{DiskIo, EvalIo, EvalOptions, FileKind};
    use std::path::Path;
    use std::rc::Rc;

    const DRV: &str = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-two.drv";

    /// Knows one derivation, of two outputs.
    struct OneDerivation;

    impl EvalIo for OneDerivation {
        fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
            DiskIo.read_file(path)
        }
        fn file_kind(&self, path: &Path) -> std::io::Result<Option<FileKind>> {
            DiskIo.file_kind(path)
        }
        fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileKind)>> {
            DiskIo.read_dir(path)
        }
        fn add_to_store(&self, path: &Path, name: &str) -> std::io::Result<String> {
            DiskIo.add_to_store(path, name)
        }
        fn derivation_outputs(&self, drv_path: &str) -> Option<Vec<(String, String)>> {
            (drv_path == DRV).then(|| {
                vec![
                    (
                        "doc".into(),
                        "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-two-doc".into(),
                    ),
                    (
                        "out".into(),
                        "/nix/store/cccccccccccccccccccccccccccccccc-two".into(),
                    ),
                ]
            })
        }
    }

    fn evaluator() -> Evaluator {
        Evaluator::new(Rc::new(OneDerivation), EvalOptions::default())
    }

    #[test]
    fn outputs_and_derivations_become_their_output_paths() {
        let ev = evaluator();
        let mut context = Context::default();
        context
            .paths
            .insert("/nix/store/dddddddddddddddddddddddddddddddd-src".into());
        context.outputs.insert((DRV.into(), "doc".into()));
        let paths = input_paths(&ev, &context, "x", None).expect("known");
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            paths,
            [
                "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-two-doc",
                "/nix/store/dddddddddddddddddddddddddddddddd-src"
            ]
        );
        let mut context = Context::default();
        context.derivations.insert(DRV.into());
        resolve_derivation_contexts(&ev, &mut context, "x", None).expect("known");
        assert!(context.derivations.is_empty() && context.outputs.is_empty());
        let paths: Vec<&str> = context.paths.iter().map(|p| p.as_ref()).collect();
        assert_eq!(
            paths,
            [
                "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-two-doc",
                "/nix/store/cccccccccccccccccccccccccccccccc-two"
            ]
        );
    }

    #[test]
    fn an_unknown_derivation_or_output_is_an_error_naming_it() {
        let ev = evaluator();
        let mut context = Context::default();
        context.outputs.insert((DRV.into(), "dev".into()));
        let e = input_paths(&ev, &context, "builder", None).expect_err("no dev output");
        assert!(e.to_string().contains("'dev'"), "{e}");
        let mut context = Context::default();
        let other = "/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-other.drv";
        context.derivations.insert(other.into());
        let e = input_paths(&ev, &context, "builder", None).expect_err("unknown");
        assert!(e.to_string().contains(other), "{e}");
    }
}
