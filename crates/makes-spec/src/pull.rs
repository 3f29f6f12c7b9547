//! `PullSpec`: what a `dockerTools.pullImage` call asks for, as plain data, and its reduction
//! (nixpkgs' arguments and defaults).

use crate::error::SpecError;
use crate::image::host_architecture;
use crate::reduce::Fields;
use makes_eval::{Evaluator, Value};
use makes_syntax::Span;
use serde::{Deserialize, Serialize};

/// An image to pull by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullSpec {
    /// `imageName`: a registry reference without tag, e.g. `docker.io/library/alpine`.
    pub image_name: String,
    /// `imageDigest`: `sha256:...`, the manifest (or index) digest that pins the content.
    pub image_digest: String,
    /// `finalImageName`, default `imageName`.
    pub final_image_name: String,
    /// `finalImageTag`, default `latest`.
    pub final_image_tag: String,
    pub os: String,
    /// GOARCH name, default the host's.
    pub arch: String,
    /// `tlsVerify = false`: plain HTTP or an unverified certificate for this pull.
    pub tls_verify: bool,
}

const ARGS: &[&str] = &[
    "arch",
    "finalImageName",
    "finalImageTag",
    "hash",
    "imageDigest",
    "imageName",
    "name",
    "os",
    "sha256",
    "tlsVerify",
];

pub fn reduce_pull_spec(
    ev: &Evaluator,
    args: &Value,
    span: Option<Span>,
) -> Result<PullSpec, SpecError> {
    let f = Fields::new(ev, args, "pullImage's argument", span)?;
    f.reject_unknown("pullImage", ARGS)?;
    let required = |name: &str| -> Result<String, SpecError> {
        f.string(name)?.ok_or_else(|| SpecError::MissingAttribute {
            function: "pullImage",
            attr: name.into(),
            span,
        })
    };
    let image_name = required("imageName")?;
    let image_digest = required("imageDigest")?;
    let hex = image_digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(SpecError::Invalid {
            attr: "imageDigest".into(),
            message: format!("'{image_digest}' is not a digest like \"sha256:<64 hex digits>\""),
            span: f.span_of("imageDigest"),
        });
    }
    // nixpkgs requires `hash` or `sha256` (of skopeo's archive, which a native client cannot
    // reproduce): accepted, not compared; `imageDigest` pins the content.
    if !f.attrs.contains("hash") && !f.attrs.contains("sha256") {
        return Err(SpecError::MissingAttribute {
            function: "pullImage",
            attr: "hash".into(),
            span,
        });
    }
    for name in ["hash", "sha256"] {
        f.string(name)?;
    }
    Ok(PullSpec {
        final_image_name: f
            .string("finalImageName")?
            .unwrap_or_else(|| image_name.clone()),
        final_image_tag: f
            .string("finalImageTag")?
            .unwrap_or_else(|| "latest".to_owned()),
        os: f.string("os")?.unwrap_or_else(|| "linux".to_owned()),
        arch: f
            .string("arch")?
            .unwrap_or_else(|| host_architecture().to_owned()),
        tls_verify: f.bool("tlsVerify")?.unwrap_or(true),
        image_name,
        image_digest,
    })
}
