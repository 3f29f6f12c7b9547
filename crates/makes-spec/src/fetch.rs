//! `FetchSpec`: what makes' fetchers ask for, and their reduction: `fetchUrl { url; sha256; }`
//! (nixpkgs' `fetchurl`: one file, pinned by the SHA-256 of its bytes), `fetchArchive { url;
//! sha256; stripRoot ? true; }` and `fetchGithub { owner; repo; rev; sha256; }` (nixpkgs'
//! `fetchzip`/`fetchFromGitHub`: an unpacked tarball, pinned by the SHA-256 of its NAR).

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
    /// The store name: `name`, else the URL's last segment (as nixpkgs' `baseNameOf url`), or
    /// `source` for archives.
    pub name: String,
    /// An archive, unpacked into a directory (the hash is its NAR's).
    #[serde(default)]
    pub unpack: bool,
    /// With `unpack`: the archive's one top-level directory is the result.
    #[serde(default)]
    pub strip_root: bool,
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
        unpack: false,
        strip_root: false,
    })
}

/// `fetchArchive { url; sha256; stripRoot ? true; name ? "source"; }` and
/// `fetchGithub { owner; repo; rev; sha256; name ? "source"; }`.
pub fn reduce_fetch_archive_spec(
    ev: &Evaluator,
    args: &Value,
    function: &'static str,
    span: Option<Span>,
) -> Result<FetchSpec, SpecError> {
    let f = Fields::new(ev, args, "the fetcher's argument", span)?;
    let github = function == "fetchGithub";
    let known: &[&str] = if github {
        &["name", "owner", "repo", "rev", "sha256"]
    } else {
        &["name", "sha256", "stripRoot", "url"]
    };
    f.reject_unknown(function, known)?;
    let required = |name: &str| -> Result<String, SpecError> {
        f.string(name)?.ok_or_else(|| SpecError::MissingAttribute {
            function,
            attr: name.into(),
            span,
        })
    };
    let url = if github {
        let (owner, repo, rev) = (required("owner")?, required("repo")?, required("rev")?);
        format!("https://github.com/{owner}/{repo}/archive/{rev}.tar.gz")
    } else {
        let url = required("url")?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(SpecError::Invalid {
                attr: "url".into(),
                message: format!("'{url}' is not an http:// or https:// URL"),
                span: f.span_of("url"),
            });
        }
        url
    };
    Ok(FetchSpec {
        url,
        sha256: required("sha256")?,
        name: sanitize_derivation_name(&f.string("name")?.unwrap_or_else(|| "source".into())),
        unpack: true,
        strip_root: if github {
            true
        } else {
            f.bool("stripRoot")?.unwrap_or(true)
        },
    })
}
