//! `FetchSpec`: what makes' `fetchUrl { url; sha256; }` asks for (nixpkgs' `fetchurl`: one
//! file, pinned by the SHA-256 of its bytes), and its reduction.

use crate::error::SpecError;
use crate::reduce::Fields;
use crate::reduce_derivation::sanitize_derivation_name;
use makes_eval::{Evaluator, Value};
use makes_syntax::Span;
use serde::{Deserialize, Serialize};

/// A file to download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchSpec {
    pub url: String,
    /// The SHA-256 of the file, as given (nix-base32, hex or SRI).
    pub sha256: String,
    /// The store name: `name`, else the URL's last segment (as nixpkgs' `baseNameOf url`).
    pub name: String,
}

const ARGS: &[&str] = &["name", "sha256", "url"];

pub fn reduce_fetch_spec(
    ev: &Evaluator,
    args: &Value,
    span: Option<Span>,
) -> Result<FetchSpec, SpecError> {
    let f = Fields::new(ev, args, "fetchUrl's argument", span)?;
    f.reject_unknown("fetchUrl", ARGS)?;
    let required = |name: &str| -> Result<String, SpecError> {
        f.string(name)?.ok_or_else(|| SpecError::MissingAttribute {
            function: "fetchUrl",
            attr: name.into(),
            span,
        })
    };
    let url = required("url")?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(SpecError::Invalid {
            attr: "url".into(),
            message: format!("'{url}' is not an http:// or https:// URL"),
            span: f.span_of("url"),
        });
    }
    let sha256 = required("sha256")?;
    let name = match f.string("name")? {
        Some(n) => n,
        None => url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    Ok(FetchSpec {
        url,
        sha256,
        name: sanitize_derivation_name(&name),
    })
}
