//! Image names, tags and references as the OCI distribution spec and Docker's reference
//! grammar (distribution's `reference/regexp.go`) allow them, checked when a spec is reduced so
//! that a name like `../../etc/x` or one holding a newline is refused at its attribute instead
//! of reaching file names, archive manifests or a registry.
//!
//! - name: `[domain '/'] path-component ('/' path-component)*`, at most 255 characters;
//! - path-component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`;
//! - domain: `domain-component ('.' domain-component)* [':' port]`, where a domain-component
//!   is `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`; the first component is a domain only when
//!   it holds `.` or `:`, is `localhost`, or has an uppercase letter (as Docker decides);
//! - tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`;
//! - reference: `name [':' tag] ['@' 'sha256:' 64 hex digits]`.
//!
//! Messages quote the offending text with `{:?}`, so control characters show escaped.

use crate::error::InvalidOciValue;

const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// Checks an image name (`app`, `org/app`, `ghcr.io/org/app`, `localhost:5000/app`).
pub fn validate_image_name(name: &str) -> Result<(), InvalidOciValue> {
    let bad = |why: &str| {
        Err(InvalidOciValue::ImageName {
            name: name.to_owned(),
            reason: why.to_owned(),
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("it is longer than 255 characters");
    }
    let path = match name.split_once('/') {
        Some((first, rest)) if is_domain_like(first) => {
            if !valid_domain(first) {
                return bad(&format!("{first:?} is not a registry host[:port]"));
            }
            rest
        }
        _ => name,
    };
    match path.split('/').find(|c| !valid_path_component(c)) {
        None => Ok(()),
        Some(c) => bad(&format!(
            "the component {c:?} is not lowercase letters and digits separated by '.', '_', '__' or '-'"
        )),
    }
}

/// Checks a tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), InvalidOciValue> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_TAG_LEN
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(InvalidOciValue::Tag {
            tag: tag.to_owned(),
        })
    }
}

/// Checks a reference to push to or pull from: `name[:tag][@sha256:HEX]`.
pub fn validate_reference(reference: &str) -> Result<(), InvalidOciValue> {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, d)) => (rest, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(InvalidOciValue::ReferenceDigest {
                reference: reference.to_owned(),
                digest: d.to_owned(),
            });
        }
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let name = match rest[last_slash..].rfind(':') {
        Some(i) => {
            validate_tag(&rest[last_slash + i + 1..])?;
            &rest[..last_slash + i]
        }
        None => rest,
    };
    validate_image_name(name)
}

fn is_domain_like(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// `domain-component ('.' domain-component)* [':' port]`, or a bracketed IPv6 address.
fn valid_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((h, _)) if !h.ends_with(']') && h.contains(':') => (domain, None),
        Some((h, p)) => (h, Some(p)),
        None => (domain, None),
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    }
    host.split('.').all(|c| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
    })
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_distribution_grammar() {
        for ok in [
            "app",
            "container-image",
            "org/app",
            "a__b/c.d/e---f",
            "ghcr.io/org/app",
            "localhost:5000/app",
            "Registry.Example.com/app",
            "[::1]:5000/app",
        ] {
            assert_eq!(validate_image_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "../../etc/x",
            "/abs",
            "a//b",
            "App",
            "a\nb",
            "a b",
            "a___b",
            "a.-b",
            "-a",
            "a-",
            "host:port/app",
            "ghcr.io/",
            &"a".repeat(256),
        ] {
            assert!(validate_image_name(bad).is_err(), "{bad:?}");
        }
        let message = validate_image_name("a\nb")
            .map_err(|e| e.to_string())
            .unwrap_err();
        assert!(
            !message.contains('\n'),
            "control characters are escaped: {message}"
        );
    }

    #[test]
    fn tags() {
        for ok in ["1.0.0", "latest", "_x", "A-b.C_1"] {
            assert_eq!(validate_tag(ok), Ok(()), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", "a\n", &"a".repeat(129)] {
            assert!(validate_tag(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn references() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for ok in [
            "app".to_owned(),
            "ghcr.io/org/app:1.0".to_owned(),
            "localhost:5000/app".to_owned(),
            format!("localhost:5000/app:v1@{digest}"),
        ] {
            assert_eq!(validate_reference(&ok), Ok(()), "{ok}");
        }
        for bad in [
            "ghcr.io/org/app:",
            "ghcr.io/org/app:.x",
            "ghcr.io/org/App",
            "ghcr.io/org/app@sha256:abc",
            "../x",
            "x\u{1b}[31m",
        ] {
            assert!(validate_reference(bad).is_err(), "{bad:?}");
        }
    }
}
