//! Registry credentials as Docker, podman and skopeo find them, so that private registries work
//! as they do with those tools. The files: `$REGISTRY_AUTH_FILE`,
//! `$XDG_RUNTIME_DIR/containers/auth.json`, `$DOCKER_CONFIG/config.json`,
//! `~/.docker/config.json`. In each, as Docker reads it: a credential helper named for the
//! registry in `credHelpers`, else the `credsStore` helper, else the `auths` entry
//! (`{"auth": base64("user:password")}`). A helper runs as Docker runs it:
//! `docker-credential-NAME get`, the server URL on stdin, `{"Username", "Secret"}` JSON on
//! stdout. Values are never printed.

use base64::Engine;
use makes_registry::Credentials;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The credentials stored for `registry` (`host[:port]`), from the first file that has them.
pub fn stored_credentials(registry: &str) -> Option<Credentials> {
    auth_files().into_iter().find_map(|file| {
        let text = std::fs::read_to_string(file).ok()?;
        let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
        credentials_in(&doc, registry)
    })
}

/// The keys a registry's entry may be stored under.
fn keys_of(registry: &str) -> Vec<String> {
    let mut keys = vec![registry.to_owned(), format!("https://{registry}")];
    if registry == "docker.io" {
        // Docker Hub's credentials are stored under its historical key.
        keys.push("https://index.docker.io/v1/".to_owned());
    }
    keys
}

fn credentials_in(doc: &serde_json::Value, registry: &str) -> Option<Credentials> {
    let keys = keys_of(registry);
    let helper_for = doc
        .get("credHelpers")
        .and_then(|h| keys.iter().find_map(|k| h.get(k)?.as_str()));
    if let Some(helper) = helper_for {
        return from_helper(helper, server_url(registry));
    }
    if let Some(store) = doc.get("credsStore").and_then(|s| s.as_str()) {
        if let Some(found) = from_helper(store, server_url(registry)) {
            return Some(found);
        }
    }
    let auths = doc.get("auths")?.as_object()?;
    let entry = keys.iter().find_map(|k| auths.get(k))?;
    let encoded = entry.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let (user, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some(Credentials::new(user, secret))
}

/// The server URL Docker hands a helper: Docker Hub's historical one, else the host.
fn server_url(registry: &str) -> &str {
    if registry == "docker.io" {
        "https://index.docker.io/v1/"
    } else {
        registry
    }
}

/// Asks `docker-credential-<helper>` for the credentials of `server`; `None` when it has
/// none (it exits non-zero, as for "credentials not found") or cannot run.
fn from_helper(helper: &str, server: &str) -> Option<Credentials> {
    // A helper is a program name: nothing that could name a path or an option.
    if helper.is_empty()
        || !helper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || helper.starts_with('.')
    {
        say!("makes: warning: '{helper}' is not a credential helper name; ignored");
        return None;
    }
    let program = format!("docker-credential-{helper}");
    let mut child = match Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            say!("makes: warning: cannot run the credential helper {program}: {e}");
            return None;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let user = answer.get("Username")?.as_str()?;
    let secret = answer.get("Secret")?.as_str()?;
    Some(Credentials::new(user, secret))
}

fn auth_files() -> Vec<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let mut files = Vec::new();
    files.extend(var("REGISTRY_AUTH_FILE"));
    files.extend(var("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")));
    files.extend(var("DOCKER_CONFIG").map(|d| d.join("config.json")));
    files.extend(var("HOME").map(|h| h.join(".docker/config.json")));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auths_entries_are_read_and_bad_helper_names_ignored() {
        let doc = serde_json::json!({
            "auths": { "r.example:5000": { "auth": "dTpw" } }
        });
        let found = credentials_in(&doc, "r.example:5000").expect("found");
        assert_eq!(found.user(), "u");
        let doc = serde_json::json!({ "credHelpers": { "r.example": "../evil" } });
        assert!(credentials_in(&doc, "r.example").is_none());
    }
}
