//! Registry credentials from the files Docker, podman and skopeo keep them in
//! (`$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`: `{"auths": {"host": {"auth":
//! base64("user:password")}}}`), so that private base images pull as they do with those
//! tools. Values are never printed.

use base64::Engine;
use makes_registry::Credentials;
use std::path::PathBuf;

/// The credentials stored for `registry` (`host[:port]`), from the first file that has them.
pub fn stored_credentials(registry: &str) -> Option<Credentials> {
    auth_files().into_iter().find_map(|file| {
        let text = std::fs::read_to_string(file).ok()?;
        let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
        let auths = doc.get("auths")?.as_object()?;
        let mut keys = vec![registry.to_owned(), format!("https://{registry}")];
        if registry == "docker.io" {
            // Docker Hub's credentials are stored under its historical key.
            keys.push("https://index.docker.io/v1/".to_owned());
        }
        let entry = keys.iter().find_map(|k| auths.get(k))?;
        let encoded = entry.get("auth")?.as_str()?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let (user, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
        Some(Credentials::new(user, secret))
    })
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
