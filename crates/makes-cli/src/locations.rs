//! Where `makes` keeps things: the cache directory and the store (out-links: `out_links`).

use crate::env_vars::{HOME, MAKES_STORE_DIR, XDG_CACHE_HOME};
use std::path::{Path, PathBuf};

/// `$XDG_CACHE_HOME/makes`, else `~/.cache/makes`.
pub fn cache_dir() -> Result<PathBuf, String> {
    if let Some(x) = std::env::var_os(XDG_CACHE_HOME).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("makes"));
    }
    match std::env::var_os(HOME).filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("makes")),
        None => Err(format!(
            "neither {XDG_CACHE_HOME} nor {HOME} is set: cannot find the cache directory"
        )),
    }
}

/// `$MAKES_STORE_DIR`, else `<cache>/store`. A store whose contents would land in a
/// `/nix/store` that Nix manages is refused: makes reads such a store, never writes it.
pub fn store_dir() -> Result<PathBuf, String> {
    let dir = match std::env::var_os(MAKES_STORE_DIR).filter(|v| !v.is_empty()) {
        Some(dir) => absolute(Path::new(&dir)),
        None => cache_dir()?.join("store"),
    };
    let contents = dir.join("store");
    let resolved = contents.canonicalize().unwrap_or(contents);
    if resolved == Path::new("/nix/store") {
        return Err(format!(
            "{MAKES_STORE_DIR}={} would write into /nix/store, which belongs to Nix; choose another directory",
            dir.display()
        ));
    }
    Ok(dir)
}

/// Points `link` at `target`, replacing an older link atomically.
pub fn update_out_link(link: &Path, target: &Path) -> std::io::Result<()> {
    if let Some(parent) = link.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = link.with_file_name(format!(
        ".{}.tmp-{}",
        link.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

/// `p` from the root, without `.` components: `makes .` names the project by its directory, as
/// makes does (`projectSrc`, `projectPathMutable`, error messages).
pub fn absolute(p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    // `components` leaves out every `.` after the first component.
    joined.components().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_have_no_dot_components() {
        assert_eq!(absolute(Path::new("/a/./b/.")), PathBuf::from("/a/b"));
        let here = absolute(Path::new("."));
        assert!(here.is_absolute());
        assert!(!here.ends_with("."), "{here:?}");
    }
}
