//! `DeploySpec`: makes' `deployContainer.<name> = { credentials = { token; user; }; image;
//! src; attempts ? 1; setup ? [ ]; sign ? false; }`, reduced. Credentials are the NAMES of
//! environment variables, never their values.

use crate::error::{DeployImageError, SpecError};
use crate::reduce::Fields;
use crate::run_time_variables::RunTimeText;
use makes_eval::{Evaluator, Value};
use makes_store_path::StorePath;
use makes_syntax::Span;

/// Where and how a deploy job pushes its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploySpec {
    /// The reference to push to, e.g. `ghcr.io/org/app:1.0`, as written: it may refer to
    /// environment variables (`org/app:$CI_COMMIT_REF_NAME`), expanded when the job runs
    /// ([`DeploySpec::image_at_run_time`]).
    pub image: String,
    /// The image to push: a store path (a `makeContainerImage` output).
    pub src: StorePath,
    /// Names of the variables holding the user and the token.
    pub credential_vars: Option<(String, String)>,
    pub attempts: u32,
    /// Store paths of scripts sourced, in order, before the push (makes' `setup`: they
    /// export the credentials and other variables the push reads).
    pub setup: Vec<StorePath>,
    /// With `sign = true`: the store path of the cosign that signs the pushed image.
    pub sign_with: Option<StorePath>,
}

const ARGS: &[&str] = &[
    "attempts",
    "credentials",
    "image",
    "setup",
    "sign",
    "src",
    "tag",
    SIGN_WITH,
];

pub fn reduce_deploy_spec(
    ev: &Evaluator,
    value: &Value,
    span: Option<Span>,
) -> Result<DeploySpec, SpecError> {
    let f = Fields::new(ev, value, "deployContainer's value", span)?;
    f.reject_unknown("deployContainer", ARGS)?;
    let image = f
        .string("image")?
        .ok_or_else(|| SpecError::MissingAttribute {
            function: "deployContainer",
            attr: "image".into(),
            span,
        })?;
    let src_value = f.get("src")?.ok_or_else(|| SpecError::MissingAttribute {
        function: "deployContainer",
        attr: "src".into(),
        span,
    })?;
    let src = f.store_path_of("src", &src_value)?;
    let credential_vars = credential_vars(ev, &f)?;
    // Checked after the credentials: a located report quotes the lines around the
    // attribute, and a pasted secret must be refused before any such report. Variable
    // references are expanded only when the job runs; here the literal parts are checked,
    // each variable standing for a plain word.
    let invalid = |message| SpecError::Invalid {
        attr: "image".into(),
        message,
        span: f.span_of("image"),
    };
    let template = RunTimeText::parse(&image).map_err(invalid)?;
    crate::oci_names::validate_reference(&template.with_variables_as("x")).map_err(|e| {
        if template.variables().is_empty() {
            invalid(e.to_string())
        } else {
            invalid(format!(
                "{image:?} is not a valid image reference whatever its variables hold: {e}"
            ))
        }
    })?;
    let sign_with = signer(&f)?;
    let setup = f.store_paths("setup")?.unwrap_or_default();
    if f.get("tag")?.is_some() {
        return Err(SpecError::NotSupported {
            what: "deployContainer's 'tag' (give the tag in 'image')".into(),
            span: f.span_of("tag"),
        });
    }
    let attempts = match f.int("attempts")? {
        None => 1,
        Some(n) if (1..=100).contains(&n) => n as u32,
        Some(n) => {
            return Err(SpecError::Invalid {
                attr: "attempts".into(),
                message: format!("must be between 1 and 100, got {n}"),
                span: f.span_of("attempts"),
            })
        }
    };
    Ok(DeploySpec {
        image,
        src,
        credential_vars,
        attempts,
        setup,
        sign_with,
    })
}

/// `credentials = { user; token; }`: the NAMES of the variables holding them.
pub(crate) fn credential_vars(
    ev: &Evaluator,
    f: &Fields,
) -> Result<Option<(String, String)>, SpecError> {
    match f.get("credentials")? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let c = Fields::new(ev, &v, "credentials", f.span_of("credentials"))?;
            c.reject_unknown("credentials", &["token", "user"])?;
            let var = |name: &str| -> Result<String, SpecError> {
                let var = c.string(name)?.ok_or_else(|| SpecError::MissingAttribute {
                    function: "credentials",
                    attr: name.into(),
                    span: f.span_of("credentials"),
                })?;
                if !is_variable_name(&var) {
                    // The value may be the secret itself, pasted by mistake: never quote it,
                    // not even through the source line a located report would show. The
                    // message names the place instead.
                    let at = c
                        .span_of(name)
                        .and_then(|s| ev.sources.get(s.file).map(|f| (f, s)))
                        .map(|(f, s)| {
                            let (line, col) = f.line_col(s.start);
                            format!(" (at {}:{line}:{col})", f.name)
                        })
                        .unwrap_or_default();
                    return Err(SpecError::Invalid {
                        attr: format!("credentials.{name}"),
                        message: format!(
                            "must be the NAME of an environment variable (letters, digits and \
                             '_', not starting with a digit); the value given is not one and is \
                             not shown, as it may be a secret{at}"
                        ),
                        span: None,
                    });
                }
                Ok(var)
            };
            Ok(Some((var("user")?, var("token")?)))
        }
    }
}

/// The attribute the project loader adds to a deploy job's set: makes' package set's cosign.
pub(crate) const SIGN_WITH: &str = "__signWith";

/// With `sign = true`, the store path of the cosign that signs what was pushed (makes' deploy
/// scripts run `cosign sign` of makes' package set).
pub(crate) fn signer(f: &Fields) -> Result<Option<StorePath>, SpecError> {
    if !f.bool("sign")?.unwrap_or(false) {
        return Ok(None);
    }
    let cosign = f.get(SIGN_WITH)?.ok_or_else(|| SpecError::NotSupported {
        what: "'sign' outside a deploy module (no cosign of makes' package set)".into(),
        span: f.span_of("sign"),
    })?;
    f.store_path_of("sign", &cosign).map(Some)
}

impl DeploySpec {
    /// The reference to push to, its environment variables expanded by `lookup` (as the
    /// deploy script's shell does when the job runs) and then checked.
    pub fn image_at_run_time(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<String, DeployImageError> {
        let template =
            RunTimeText::parse(&self.image).map_err(|reason| DeployImageError::Syntax {
                image: self.image.clone(),
                reason,
            })?;
        let expanded = template
            .expand(lookup)
            .map_err(|reason| DeployImageError::Unexpanded {
                image: self.image.clone(),
                reason,
            })?;
        let variables = template.variables();
        if variables.is_empty() {
            return Ok(expanded);
        }
        crate::oci_names::validate_reference(&expanded).map_err(|problem| {
            DeployImageError::Invalid {
                image: self.image.clone(),
                variables: variables.iter().map(|v| (*v).to_owned()).collect(),
                problem,
            }
        })?;
        Ok(expanded)
    }
}

/// A POSIX shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_variable_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names() {
        for ok in ["GITHUB_TOKEN", "_x", "a1"] {
            assert!(is_variable_name(ok), "{ok}");
        }
        for bad in ["", "1A", "ghp_abc-def", "A B", "$TOKEN", "tok=en"] {
            assert!(!is_variable_name(bad), "{bad}");
        }
    }

    fn spec(image: &str) -> DeploySpec {
        DeploySpec {
            image: image.into(),
            src: StorePath::parse("/nix/store/00000000000000000000000000000000-x")
                .expect("a store path"),
            credential_vars: None,
            attempts: 1,
            setup: Vec::new(),
            sign_with: None,
        }
    }

    #[test]
    fn the_image_is_expanded_and_checked_when_the_job_runs() {
        let env = |name: &str| (name == "REF").then(|| "main".to_owned());
        let bad_env = |name: &str| (name == "REF").then(|| "not a tag".to_owned());
        assert_eq!(
            spec("org/app:$REF").image_at_run_time(env).as_deref(),
            Ok("org/app:main")
        );
        let unset = spec("org/app:${NOPE}")
            .image_at_run_time(env)
            .expect_err("unset")
            .to_string();
        assert!(unset.contains("NOPE is not set"), "{unset}");
        let invalid = spec("org/app:$REF")
            .image_at_run_time(bad_env)
            .expect_err("bad")
            .to_string();
        assert!(invalid.contains("variable REF"), "{invalid}");
        assert!(invalid.contains("not a valid image tag"), "{invalid}");
    }
}
