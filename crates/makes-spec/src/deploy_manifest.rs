//! `ManifestSpec`: makes' `deployContainerManifest.<name> = { credentials = { token; user; };
//! image; manifests = [ { image; platform = { architecture; os; }; } ]; tags ? [ ];
//! setup ? [ ]; sign ? false; }` (24.02 nests `image`, `manifests` and `tags` under `config`;
//! the project loader flattens it), reduced. makes hands the three to manifest-tool's
//! `push from-spec` as they are: no environment variable is expanded in them.

use crate::deploy::{credential_vars, signer, SIGN_WITH};
use crate::error::SpecError;
use crate::reduce::Fields;
use makes_eval::{Evaluator, Value};
use makes_store_path::StorePath;
use makes_syntax::Span;

/// A manifest list to push: one image per platform, all already in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestSpec {
    /// Where the list goes (`ghcr.io/org/app:latest`).
    pub image: String,
    /// More tags of the same repository the list is put under.
    pub tags: Vec<String>,
    pub manifests: Vec<ManifestEntry>,
    /// Names of the variables holding the user and the token.
    pub credential_vars: Option<(String, String)>,
    /// Store paths of scripts sourced, in order, before the push.
    pub setup: Vec<StorePath>,
    /// With `sign = true`: the store path of the cosign that signs `image`.
    pub sign_with: Option<StorePath>,
}

/// One image of the list and its platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    pub image: String,
    pub os: String,
    pub architecture: String,
}

const ARGS: &[&str] = &[
    "credentials",
    "image",
    "manifests",
    "setup",
    "sign",
    "tags",
    SIGN_WITH,
];

const FUNCTION: &str = "deployContainerManifest";

pub fn reduce_manifest_spec(
    ev: &Evaluator,
    value: &Value,
    span: Option<Span>,
) -> Result<ManifestSpec, SpecError> {
    let f = Fields::new(ev, value, "deployContainerManifest's value", span)?;
    f.reject_unknown(FUNCTION, ARGS)?;
    let credential_vars = credential_vars(ev, &f)?;
    let image = required_string(&f, "image", span)?;
    check_reference(&f, "image", &image)?;
    let tags = strings(&f, "tags")?;
    for tag in &tags {
        crate::oci_names::validate_tag(tag).map_err(|message| SpecError::Invalid {
            attr: "tags".into(),
            message: message.to_string(),
            span: f.span_of("tags"),
        })?;
    }
    let manifests = match f.get("manifests")? {
        Some(Value::List(items)) => items,
        Some(other) => {
            return Err(SpecError::WrongType {
                attr: "manifests".into(),
                expected: "a list of { image; platform = { architecture; os; }; }",
                found: other.describe().to_owned(),
                span: f.span_of("manifests"),
            })
        }
        None => {
            return Err(SpecError::MissingAttribute {
                function: FUNCTION,
                attr: "manifests".into(),
                span,
            })
        }
    };
    let at = f.span_of("manifests");
    let mut entries = Vec::with_capacity(manifests.len());
    for item in manifests.iter() {
        let item = item.force(ev).map_err(|e| {
            SpecError::Eval(e.note(at, "while evaluating an element of 'manifests'"))
        })?;
        let m = Fields::new(ev, &item, "an element of 'manifests'", at)?;
        m.reject_unknown("manifests", &["image", "platform"])?;
        let image = required_string(&m, "image", at)?;
        check_reference(&m, "image", &image)?;
        let platform = m
            .get("platform")?
            .ok_or_else(|| SpecError::MissingAttribute {
                function: "manifests",
                attr: "platform".into(),
                span: at,
            })?;
        let p = Fields::new(ev, &platform, "platform", m.span_of("platform"))?;
        p.reject_unknown("platform", &["architecture", "os"])?;
        entries.push(ManifestEntry {
            image,
            os: required_string(&p, "os", m.span_of("platform"))?,
            architecture: required_string(&p, "architecture", m.span_of("platform"))?,
        });
    }
    Ok(ManifestSpec {
        image,
        tags,
        manifests: entries,
        credential_vars,
        setup: f.store_paths("setup")?.unwrap_or_default(),
        sign_with: signer(&f)?,
    })
}

fn required_string(f: &Fields, name: &str, span: Option<Span>) -> Result<String, SpecError> {
    f.string(name)?.ok_or_else(|| SpecError::MissingAttribute {
        function: FUNCTION,
        attr: name.into(),
        span,
    })
}

fn check_reference(f: &Fields, name: &str, reference: &str) -> Result<(), SpecError> {
    crate::oci_names::validate_reference(reference).map_err(|e| SpecError::Invalid {
        attr: name.into(),
        message: e.to_string(),
        span: f.span_of(name),
    })
}

/// A list of strings (absent: empty).
fn strings(f: &Fields, name: &str) -> Result<Vec<String>, SpecError> {
    let items = match f.get(name)? {
        None => return Ok(Vec::new()),
        Some(Value::List(items)) => items,
        Some(other) => {
            return Err(SpecError::WrongType {
                attr: name.into(),
                expected: "a list of strings",
                found: other.describe().to_owned(),
                span: f.span_of(name),
            })
        }
    };
    let at = f.span_of(name);
    items
        .iter()
        .map(|item| match item.force(f.ev) {
            Ok(Value::String(s)) => Ok(s.utf8()?.to_owned()),
            Ok(other) => Err(SpecError::WrongType {
                attr: name.into(),
                expected: "a list of strings",
                found: other.describe().to_owned(),
                span: at,
            }),
            Err(e) => Err(SpecError::Eval(
                e.note(at, format!("while evaluating an element of '{name}'")),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reduce(src: &str) -> Result<ManifestSpec, String> {
        let ev = Evaluator::new(
            std::rc::Rc::new(makes_eval::DiskIo),
            makes_eval::EvalOptions::default(),
        );
        let v = ev
            .eval_source("test.nix", src, std::path::Path::new("/"))
            .map_err(|e| e.to_string())?;
        reduce_manifest_spec(&ev, &v, None).map_err(|e| e.to_string())
    }

    const ENTRY: &str =
        r#"{ image = "r.io/app:amd64"; platform = { architecture = "amd64"; os = "linux"; }; }"#;

    #[test]
    fn the_list_its_tags_and_entries_are_read_with_makes_defaults() {
        let spec = reduce(&format!(
            r#"{{ credentials = {{ token = "T"; user = "U"; }}; image = "r.io/app:latest";
                 manifests = [ {ENTRY} ]; }}"#
        ))
        .expect("reduces");
        assert_eq!(spec.image, "r.io/app:latest");
        assert!(spec.tags.is_empty() && spec.setup.is_empty() && spec.sign_with.is_none());
        assert_eq!(
            spec.manifests,
            vec![ManifestEntry {
                image: "r.io/app:amd64".into(),
                os: "linux".into(),
                architecture: "amd64".into(),
            }]
        );
        assert_eq!(spec.credential_vars, Some(("U".into(), "T".into())));
    }

    #[test]
    fn mistakes_are_named() {
        let err = reduce(&format!(
            r#"{{ image = "r.io/app:latest"; manifests = [ {ENTRY} ]; tags = [ "no tag!" ]; }}"#
        ))
        .expect_err("an invalid tag");
        assert!(err.contains("tags"), "{err}");
        let err =
            reduce(r#"{ image = "r.io/app:latest"; manifests = [ { image = "r.io/a:b"; } ]; }"#)
                .expect_err("no platform");
        assert!(err.contains("platform"), "{err}");
        let err = reduce(r#"{ image = "r.io/app:latest"; }"#).expect_err("no manifests");
        assert!(err.contains("manifests"), "{err}");
        let err = reduce(&format!(
            r#"{{ image = "r.io/app:latest"; manifests = [ {ENTRY} ]; sign = true; }}"#
        ))
        .expect_err("sign without the loader's cosign");
        assert!(err.contains("sign"), "{err}");
        let err = reduce(&format!(
            r#"{{ image = "r.io/app:latest"; manifests = [ {ENTRY} ]; config = {{ }}; }}"#
        ))
        .expect_err("24.02's config is flattened by the loader");
        assert!(err.contains("config"), "{err}");
    }
}
