//! Issue 6, layering: fixtures/many-paths has two images of 150 store paths each with
//! maxLayers = 10. Each has exactly 10 layers holding every path once; the layers that hold only
//! shared libraries are the same blobs in both images, and the second image takes them from
//! the layer cache instead of writing them again.

use crate::common::{fixture, Sandbox};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

/// `(layer digest, store path base names in it)` bottom first, and the config's history.
fn layers(archive: &Path) -> Vec<(String, BTreeSet<String>)> {
    let check = makes_oci::fsck_archive(archive).expect("fsck accepts the archive");
    let mut files = BTreeMap::new();
    let mut tar = tar::Archive::new(std::fs::File::open(archive).expect("open"));
    for e in tar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = e.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read");
        files.insert(name, data);
    }
    check
        .layers
        .iter()
        .map(|(digest, _)| {
            let blob = &files[&format!("blobs/sha256/{}", digest.hex())];
            let mut paths = BTreeSet::new();
            let mut layer = tar::Archive::new(flate2::read::MultiGzDecoder::new(&blob[..]));
            for e in layer.entries().expect("entries") {
                let e = e.expect("entry");
                let p = e.path().expect("path").to_string_lossy().into_owned();
                let parts: Vec<&str> = p.trim_end_matches('/').split('/').collect();
                if parts.len() == 3 && parts[..2] == ["nix", "store"] {
                    paths.insert(parts[2].to_string());
                }
            }
            (digest.to_string(), paths)
        })
        .collect()
}

fn cached_layers(sandbox: &Sandbox) -> usize {
    std::fs::read_dir(sandbox.store().join("cache/layers/layers"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn max_layers_10_over_150_paths_and_shared_layers() {
    let sandbox = Sandbox::new();
    let a = sandbox.build(&fixture("many-paths"), "/many-a");
    let layers_a = layers(&a);
    assert_eq!(layers_a.len(), 10, "exactly maxLayers layers");
    let mut all = BTreeSet::new();
    let mut count = 0;
    for (_, paths) in &layers_a {
        count += paths.len();
        all.extend(paths.iter().cloned());
    }
    assert_eq!(all.len(), 150, "every path of the closure is in the image");
    assert_eq!(count, 150, "and each path only once");
    assert!(
        layers_a[9].1.is_empty(),
        "the last layer is the customisation layer"
    );
    assert_eq!(cached_layers(&sandbox), 10);

    let b = sandbox.build(&fixture("many-paths"), "/many-b");
    let layers_b = layers(&b);
    assert_eq!(layers_b.len(), 10);
    let only_libs =
        |l: &(String, BTreeSet<String>)| !l.1.is_empty() && l.1.iter().all(|p| p.contains("-lib-"));
    let shared_a: Vec<&String> = layers_a
        .iter()
        .filter(|l| only_libs(l))
        .map(|l| &l.0)
        .collect();
    let shared_b: Vec<&String> = layers_b
        .iter()
        .filter(|l| only_libs(l))
        .map(|l| &l.0)
        .collect();
    assert!(shared_a.len() >= 8, "{shared_a:?}");
    assert_eq!(
        shared_a, shared_b,
        "library layers are the same blobs in both images"
    );
    // Only b's own layers were written: the shared ones came from the layer cache.
    let own_b = layers_b.len() - shared_b.len();
    assert_eq!(cached_layers(&sandbox), 10 + own_b);
}
