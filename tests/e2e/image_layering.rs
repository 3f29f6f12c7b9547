//! Layering: fixtures/many-paths has two images of 150 store paths each with
//! maxLayers = 10. Each has exactly 10 layers holding every path once; the layers that hold only
//! shared libraries are the same blobs in both images, and the second image takes them from
//! the layer cache instead of writing them again. The application (the image's `contents` root)
//! has a layer of its own just below the customisation layer, so a change to it leaves the
//! shared tail alone.

use crate::common::{fixture, layer_store_paths as layers, Sandbox};
use std::collections::BTreeSet;

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
    assert_eq!(layers_a[8].1.len(), 1, "the root has its own layer");
    assert!(
        layers_a[8].1.iter().all(|p| p.ends_with("-a")),
        "{:?}",
        layers_a[8].1
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
    assert!(shared_a.len() >= 7, "{shared_a:?}");
    assert_eq!(
        shared_a, shared_b,
        "library layers are the same blobs in both images"
    );
    // Only b's own layers were written: the shared ones came from the layer cache.
    let own_b = layers_b.len() - shared_b.len();
    assert_eq!(cached_layers(&sandbox), 10 + own_b);
}
