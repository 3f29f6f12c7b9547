//! Whether the file system holding the store is full, to say so when a builder fails: a
//! builder that meets ENOSPC cannot even write its error into its log (which lives on the same
//! file system), so without this check a full disk shows as a failure with an empty log.

use std::path::Path;

/// Free space (or inodes) below which a file system counts as full: less than what one more
/// line of log or one more file needs.
const FULL_BELOW_BYTES: u64 = 64 * 1024;

/// `Some(description)` when the file system holding `path` has (almost) no space or no inodes
/// left for the calling user.
pub(crate) fn full_file_system(path: &Path) -> Option<String> {
    let s = rustix::fs::statvfs(path).ok()?;
    let root = rustix::process::geteuid().is_root();
    // Root may write into the blocks ext4 reserves; other users may not.
    let free_blocks = if root { s.f_bfree } else { s.f_bavail };
    let free_bytes = free_blocks.saturating_mul(s.f_frsize);
    let free_inodes = if root { s.f_ffree } else { s.f_favail };
    if free_bytes < FULL_BELOW_BYTES {
        Some(format!(
            "the file system holding {} is full ({free_bytes} bytes free): No space left on device",
            path.display()
        ))
    } else if s.f_files > 0 && free_inodes == 0 {
        Some(format!(
            "the file system holding {} has no free inodes: No space left on device",
            path.display()
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_system_with_room_is_not_full() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The test machine's temporary directory has more than 64 KiB free.
        assert_eq!(full_file_system(dir.path()), None);
        assert_eq!(full_file_system(&dir.path().join("missing")), None);
    }
}
