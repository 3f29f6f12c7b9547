//! Path literals checked from remembered directory listings (`cache/dirs.log`): whatever
//! changes in a directory whose listing was remembered (a file's contents, a new file, a
//! rename, a mode, a file replaced by a directory, a removal) gives the store path a store
//! that never saw the tree gives.

use crate::common::Sandbox;
use crate::source_import::import;
use std::fs;
use std::os::unix::fs::PermissionsExt;

#[test]
fn every_change_in_a_remembered_directory_gives_a_cold_imports_path() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("project");
    let src = dir.join("src");
    let kinds = [
        "contents",
        "added",
        "renamed",
        "mode",
        "file-to-dir",
        "removed",
    ];
    for d in kinds {
        fs::create_dir_all(src.join(d).join("bin")).expect("mkdir");
        fs::write(src.join(d).join("README"), d).expect("write");
        fs::write(src.join(d).join("bin/tool"), "#!/bin/sh\n").expect("write");
    }
    // Listings are remembered only of directories changed over a second before they are read.
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let mut last = import(&sandbox, &dir);
    let log = fs::read_to_string(sandbox.store().join("cache/dirs.log")).expect("dirs.log");
    assert_eq!(log.lines().count(), 1 + 2 * kinds.len(), "every directory");
    assert_eq!(import(&sandbox, &dir), last, "unchanged");
    let at = |p: &str| src.join(p);
    let changes: [(&str, &dyn Fn()); 6] = [
        ("contents", &|| {
            fs::write(at("contents/bin/tool"), "#!/bin/bash\n").expect("write")
        }),
        ("added", &|| {
            fs::write(at("added/bin/new"), "n").expect("write")
        }),
        ("renamed", &|| {
            fs::rename(at("renamed/README"), at("renamed/README.md")).expect("rename")
        }),
        ("mode", &|| {
            fs::set_permissions(at("mode/bin/tool"), fs::Permissions::from_mode(0o755))
                .expect("chmod")
        }),
        ("file-to-dir", &|| {
            fs::remove_file(at("file-to-dir/README")).expect("rm");
            fs::create_dir(at("file-to-dir/README")).expect("mkdir");
        }),
        ("removed", &|| {
            fs::remove_file(at("removed/bin/tool")).expect("rm")
        }),
    ];
    for (what, change) in changes {
        change();
        let now = import(&sandbox, &dir);
        assert_ne!(now, last, "{what}: the change is seen");
        assert_eq!(
            now,
            import(&Sandbox::new(), &dir),
            "{what}: as a cold import"
        );
        last = now;
    }
}
