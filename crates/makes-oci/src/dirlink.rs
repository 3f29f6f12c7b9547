//! `keepContentsDirlinks`: where a symbolic link of the image root leads, resolved inside the
//! root as a chroot would resolve it, so that `buildImage` can join a content directory through
//! a link to a directory already in the root (`rsync --keep-dirlinks`) without ever following
//! a link out of the root.

use std::collections::VecDeque;

/// Links followed before a path counts as a loop (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// What the root holds at a root-relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    Directory,
    Symlink(Vec<u8>),
    Other,
}

/// The root-relative path (empty for the root itself) of the directory that the link `target`,
/// found in the root-relative directory `cwd`, leads to; `None` when it leads to no directory
/// of the root (missing, a file, a loop). Absolute targets and `..` stay inside the root.
pub(crate) fn resolve_dirlink(
    lookup: impl Fn(&[u8]) -> Option<Found>,
    cwd: &[u8],
    target: &[u8],
) -> Option<Vec<u8>> {
    let mut current: Vec<Vec<u8>> = if target.starts_with(b"/") {
        Vec::new()
    } else {
        components(cwd).collect()
    };
    let mut pending: VecDeque<Vec<u8>> = components(target).collect();
    let mut links = 0;
    while let Some(component) = pending.pop_front() {
        match component.as_slice() {
            b"." => continue,
            b".." => {
                current.pop();
                continue;
            }
            _ => {}
        }
        current.push(component);
        match lookup(&current.join(&b'/'))? {
            Found::Directory => {}
            Found::Other => return None,
            Found::Symlink(next) => {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                current.pop();
                if next.starts_with(b"/") {
                    current.clear();
                }
                for c in components(&next).collect::<Vec<_>>().into_iter().rev() {
                    pending.push_front(c);
                }
            }
        }
    }
    Some(current.join(&b'/'))
}

/// The non-empty components of a slash-separated path.
fn components(path: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn root(entries: &[(&str, Found)]) -> impl Fn(&[u8]) -> Option<Found> {
        let map: BTreeMap<Vec<u8>, Found> = entries
            .iter()
            .map(|(p, f)| (p.as_bytes().to_vec(), f.clone()))
            .collect();
        move |p: &[u8]| map.get(p).cloned()
    }

    fn link(t: &str) -> Found {
        Found::Symlink(t.as_bytes().to_vec())
    }

    #[test]
    fn relative_and_absolute_links_resolve_inside_the_root() {
        let lookup = root(&[
            ("usr", Found::Directory),
            ("usr/lib", Found::Directory),
            ("usr/lib/f", Found::Other),
            ("lib", link("usr/lib")),
            ("abs", link("/usr/lib")),
            ("up", link("../../../usr")),
        ]);
        assert_eq!(
            resolve_dirlink(&lookup, b"", b"usr/lib"),
            Some(b"usr/lib".to_vec())
        );
        assert_eq!(
            resolve_dirlink(&lookup, b"x/y", b"/usr/lib"),
            Some(b"usr/lib".to_vec())
        );
        assert_eq!(
            resolve_dirlink(&lookup, b"", b"../../usr"),
            Some(b"usr".to_vec())
        );
        assert_eq!(
            resolve_dirlink(&lookup, b"", b"abs"),
            Some(b"usr/lib".to_vec())
        );
        assert_eq!(
            resolve_dirlink(&lookup, b"", b"up/lib"),
            Some(b"usr/lib".to_vec())
        );
        assert_eq!(
            resolve_dirlink(&lookup, b"usr", b"."),
            Some(b"usr".to_vec())
        );
        assert_eq!(resolve_dirlink(&lookup, b"", b"/"), Some(Vec::new()));
    }

    #[test]
    fn links_to_files_missing_paths_and_loops_lead_nowhere() {
        let lookup = root(&[
            ("usr", Found::Directory),
            ("usr/f", Found::Other),
            ("a", link("b")),
            ("b", link("/a")),
        ]);
        assert_eq!(resolve_dirlink(&lookup, b"", b"usr/f"), None);
        assert_eq!(resolve_dirlink(&lookup, b"", b"usr/missing"), None);
        assert_eq!(resolve_dirlink(&lookup, b"", b"usr/f/x"), None);
        assert_eq!(resolve_dirlink(&lookup, b"", b"a"), None);
    }
}
