//! Layer planning: which store paths go into which layer, computed as pure data before any
//! byte is written (nix2container's `nix/layers.go` plans before producing), so the layout is
//! testable as data and the writer only follows the plan.
//!
//! Layered mode follows nixpkgs' "popularity contest" (`buildLayeredImage` before the
//! `layeringPipeline` rewrite, nixpkgs' `pkgs/build-support/references-by-popularity`): every
//! store path of the closure is
//! ranked by how many other paths of the closure depend on it transitively (most first), then by
//! NAR size (largest first), then by name and hash. With a budget of `maxLayers - 1` store layers
//! (one is kept for the customisation layer), the first `budget - 1` ranked paths get a layer
//! each and everything left is merged into one last store layer. No path is ever dropped, and the
//! result depends neither on the order of the closure nor on the order of references.
//!
//! Roots first: when the closure does not fit (one path a layer), the roots — the store paths
//! named by `contents` and by the config's string references, the application a user changes —
//! get their own layers before anything is merged, so changing one root rewrites only its layer
//! and the customisation layer, never the shared tail. Roots rank among themselves as above; at
//! most `budget - 1` of them get a layer (the rest join the tail). Their layers go above the
//! shared tail (the least shared, most often changed layers on top, so a runtime that keys
//! unpacked layers by the layers below them re-unpacks only those). When everything fits, the
//! plan is nixpkgs' unchanged.
//!
//! Single-layer mode (`buildImage`) puts the whole closure (when `includeStorePaths`) and the
//! copied contents into one layer.

use std::collections::{BTreeMap, BTreeSet};

use makes_spec::ImageSpec;
use makes_store::{PathInfo, StorePath};

/// How the customisation content (the spec's `contents`) is laid into `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootMode {
    /// `buildLayeredImage`: `symlinkJoin` — real directories, files as symlinks into the store.
    SymlinkJoin,
    /// `buildImage`'s `copyToRoot`: the contents' files are copied.
    Copy,
}

/// One layer of the plan, bottom first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLayer {
    /// Store paths stored under `nix/store/` in this layer, sorted.
    pub store_paths: Vec<StorePath>,
    /// `Some` when this layer also holds the customisation root (contents and extraCommands).
    pub root: Option<RootMode>,
}

/// The computed layout of an image: its layers, bottom first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPlan {
    pub layers: Vec<PlannedLayer>,
}

impl LayerPlan {
    /// Every store path the plan puts into some layer, in layer order.
    pub fn store_paths(&self) -> impl Iterator<Item = &StorePath> {
        self.layers.iter().flat_map(|l| l.store_paths.iter())
    }
}

/// Plans the layers of `spec` over `closure`. Pure: no I/O, and the same answer for any order of
/// `closure` and of its references.
///
/// `spec.max_layers` below 2 is treated as 2 here; `build_image` rejects it before planning.
pub fn plan_layers(spec: &ImageSpec, closure: &[PathInfo]) -> LayerPlan {
    plan_layers_over_base(spec, closure, 0)
}

/// [`plan_layers`] on top of a base image (`fromImage`) of `base_layers` layers: they count
/// against `maxLayers` (runtimes and registries limit the total, not the new ones), so
/// `maxLayers - 1 - base_layers` store layers are left (at least one, so no path is ever
/// dropped; the image then has more than `maxLayers` layers only when the base alone uses them
/// all).
pub fn plan_layers_over_base(
    spec: &ImageSpec,
    closure: &[PathInfo],
    base_layers: usize,
) -> LayerPlan {
    let mut all: Vec<StorePath> = closure.iter().map(|p| p.path.clone()).collect();
    all.sort();
    all.dedup();

    if !spec.layered {
        let store_paths = if spec.include_store_paths {
            all
        } else {
            Vec::new()
        };
        return LayerPlan {
            layers: vec![PlannedLayer {
                store_paths,
                root: Some(RootMode::Copy),
            }],
        };
    }

    let mut layers = Vec::new();
    if spec.include_store_paths && !all.is_empty() {
        let budget = (spec.max_layers.max(2) as usize)
            .saturating_sub(1 + base_layers)
            .max(1);
        let ranked = rank_by_popularity(closure);
        if ranked.len() <= budget {
            layers.extend(ranked.into_iter().map(single_layer));
        } else {
            layers.extend(plan_short_budget(ranked, &root_paths(spec), budget));
        }
    }
    layers.push(PlannedLayer {
        store_paths: Vec::new(),
        root: Some(RootMode::SymlinkJoin),
    });
    LayerPlan { layers }
}

/// The store layers when `ranked` (more paths than `budget`) does not fit one path a layer:
/// popular non-roots one a layer, then the shared tail, then up to `budget - 1` roots one a layer.
fn plan_short_budget(
    ranked: Vec<StorePath>,
    roots: &BTreeSet<StorePath>,
    budget: usize,
) -> Vec<PlannedLayer> {
    let (mut own_roots, mut others): (Vec<StorePath>, Vec<StorePath>) =
        ranked.into_iter().partition(|p| roots.contains(p));
    // At least one layer is left for the paths that are not roots (or for the roots beyond it).
    let root_layers = own_roots.len().min(budget - 1);
    let mut tail = own_roots.split_off(root_layers);
    let single_others = (budget - root_layers - 1).min(others.len());
    tail.extend(others.split_off(single_others));
    tail.sort();

    let mut layers: Vec<PlannedLayer> = others.into_iter().map(single_layer).collect();
    if !tail.is_empty() {
        layers.push(PlannedLayer {
            store_paths: tail,
            root: None,
        });
    }
    layers.extend(own_roots.into_iter().map(single_layer));
    layers
}

fn single_layer(path: StorePath) -> PlannedLayer {
    PlannedLayer {
        store_paths: vec![path],
        root: None,
    }
}

/// The store paths `contents` and the config's references name.
fn root_paths(spec: &ImageSpec) -> BTreeSet<StorePath> {
    spec.contents
        .iter()
        .chain(&spec.config_references)
        .cloned()
        .collect()
}

/// The closure's paths, each once: a path listed twice counts with its largest size, so the
/// result does not depend on which copy came first.
pub(crate) fn unique_by_path(closure: &[PathInfo]) -> BTreeMap<&StorePath, &PathInfo> {
    let mut infos: BTreeMap<&StorePath, &PathInfo> = BTreeMap::new();
    for info in closure {
        infos
            .entry(&info.path)
            .and_modify(|e| {
                if info.nar_size > e.nar_size {
                    *e = info;
                }
            })
            .or_insert(info);
    }
    infos
}

/// The closure's paths, most depended-upon first (ties: larger NAR first, then name, then hash).
fn rank_by_popularity(closure: &[PathInfo]) -> Vec<StorePath> {
    let infos = unique_by_path(closure);
    let index: BTreeMap<&StorePath, usize> =
        infos.keys().enumerate().map(|(i, p)| (*p, i)).collect();
    let nodes: Vec<&PathInfo> = infos.values().copied().collect();

    // referrers[i]: the paths whose references name path i (self-references and references
    // outside the closure are ignored).
    let mut referrers: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); nodes.len()];
    for (i, info) in nodes.iter().enumerate() {
        for r in &info.references {
            if let Some(&j) = index.get(r) {
                if j != i {
                    referrers[j].insert(i);
                }
            }
        }
    }

    // Transitive dependents of each path, by a walk over the referrer graph.
    let mut popularity = vec![0usize; nodes.len()];
    let mut seen = vec![usize::MAX; nodes.len()];
    for (start, pop) in popularity.iter_mut().enumerate() {
        let mut stack = vec![start];
        seen[start] = start;
        let mut count = 0;
        while let Some(n) = stack.pop() {
            for &m in &referrers[n] {
                if seen[m] != start {
                    seen[m] = start;
                    count += 1;
                    stack.push(m);
                }
            }
        }
        *pop = count;
    }

    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by(|&a, &b| {
        popularity[b]
            .cmp(&popularity[a])
            .then(nodes[b].nar_size.cmp(&nodes[a].nar_size))
            .then(nodes[a].path.name.cmp(&nodes[b].path.name))
            .then(nodes[a].path.hash.cmp(&nodes[b].path.hash))
    });
    order.into_iter().map(|i| nodes[i].path.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(n: usize) -> StorePath {
        StorePath {
            hash: format!("{n:0>32}"),
            name: format!("p{n}"),
        }
    }

    fn info(n: usize, refs: &[usize], size: u64) -> PathInfo {
        PathInfo {
            path: sp(n),
            references: refs.iter().map(|&r| sp(r)).collect(),
            nar_size: size,
            nar_hash: String::new(),
        }
    }

    pub(crate) fn spec(layered: bool, max_layers: u32) -> ImageSpec {
        ImageSpec {
            name: "img".into(),
            layered,
            max_layers,
            architecture: "amd64".into(),
            ..ImageSpec::default()
        }
    }

    /// A chain 0 -> 1 -> ... -> n-1 plus a leaf hub every path depends on.
    fn closure(n: usize) -> Vec<PathInfo> {
        (0..n)
            .map(|i| {
                let mut refs = vec![i];
                if i + 1 < n {
                    refs.push(i + 1);
                }
                info(i, &refs, (i as u64 * 7919) % 1000)
            })
            .collect()
    }

    fn assert_complete(plan: &LayerPlan, closure: &[PathInfo]) {
        let mut planned: Vec<&StorePath> = plan.store_paths().collect();
        planned.sort();
        let mut want: Vec<&StorePath> = closure.iter().map(|p| &p.path).collect();
        want.sort();
        want.dedup();
        assert_eq!(planned, want, "every closure path exactly once");
    }

    #[test]
    fn budget_is_respected_and_nothing_dropped() {
        let c = closure(50);
        for max in [2, 3, 5, 10, 49, 50, 51, 52, 100] {
            let plan = plan_layers(&spec(true, max), &c);
            assert!(
                plan.layers.len() <= max as usize,
                "max {max}: {}",
                plan.layers.len()
            );
            assert_complete(&plan, &c);
            let last = plan.layers.last().expect("always a customisation layer");
            assert_eq!(last.root, Some(RootMode::SymlinkJoin));
            assert!(plan.layers[..plan.layers.len() - 1]
                .iter()
                .all(|l| l.root.is_none() && !l.store_paths.is_empty()));
        }
        // Enough room: one layer per path, plus the customisation layer.
        assert_eq!(plan_layers(&spec(true, 100), &c).layers.len(), 51);
        // Exactly the budget: max 51 leaves 50 store layers.
        assert_eq!(plan_layers(&spec(true, 51), &c).layers.len(), 51);
        // One short: 48 single layers, one merged layer of 2, the customisation layer.
        let plan = plan_layers(&spec(true, 50), &c);
        assert_eq!(plan.layers.len(), 50);
        assert_eq!(plan.layers[48].store_paths.len(), 2);
    }

    #[test]
    fn base_layers_count_against_the_budget() {
        let c = closure(150);
        let plan = plan_layers_over_base(&spec(true, 10), &c, 3);
        assert_eq!(plan.layers.len() + 3, 10);
        assert_complete(&plan, &c);
        // A base that uses the whole budget still leaves one store layer.
        let plan = plan_layers_over_base(&spec(true, 10), &c, 12);
        assert_eq!(plan.layers.len(), 2);
        assert_complete(&plan, &c);
    }

    #[test]
    fn most_depended_upon_paths_come_first() {
        // 3 is used by everyone, 2 by 0 and 1, 1 by 0.
        let c = vec![
            info(0, &[1, 2, 3], 10),
            info(1, &[2, 3], 10),
            info(2, &[3], 10),
            info(3, &[3], 10),
        ];
        let plan = plan_layers(&spec(true, 100), &c);
        let order: Vec<_> = plan.store_paths().cloned().collect();
        assert_eq!(order, vec![sp(3), sp(2), sp(1), sp(0)]);
        // Ties broken by size, largest first.
        let c = vec![info(0, &[], 1), info(1, &[], 5), info(2, &[], 3)];
        let order: Vec<_> = plan_layers(&spec(true, 100), &c)
            .store_paths()
            .cloned()
            .collect();
        assert_eq!(order, vec![sp(1), sp(2), sp(0)]);
    }

    #[test]
    fn deterministic_under_permutation() {
        let c = closure(30);
        let want = plan_layers(&spec(true, 8), &c);
        let mut shuffled = c.clone();
        // A fixed pseudo-random permutation of paths and of their references.
        for round in 0..5u64 {
            let mut state = 0x9e3779b97f4a7c15u64.wrapping_mul(round + 1);
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let j = (state % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
            }
            for p in &mut shuffled {
                p.references.reverse();
            }
            assert_eq!(plan_layers(&spec(true, 8), &shuffled), want);
        }
    }

    #[test]
    fn no_store_layers_without_include_store_paths() {
        let mut s = spec(true, 10);
        s.include_store_paths = false;
        let plan = plan_layers(&s, &closure(5));
        assert_eq!(plan.layers.len(), 1);
        assert!(plan.layers[0].store_paths.is_empty());
        assert_eq!(plan.layers[0].root, Some(RootMode::SymlinkJoin));
    }

    #[test]
    fn single_layer_mode_holds_everything() {
        let c = closure(12);
        let plan = plan_layers(&spec(false, 3), &c);
        assert_eq!(plan.layers.len(), 1);
        assert_eq!(plan.layers[0].root, Some(RootMode::Copy));
        assert_complete(&plan, &c);
        let mut s = spec(false, 3);
        s.include_store_paths = false;
        assert!(plan_layers(&s, &c).layers[0].store_paths.is_empty());
    }

    #[test]
    fn duplicate_closure_entries_are_planned_once() {
        let mut c = closure(4);
        c.push(c[2].clone());
        let plan = plan_layers(&spec(true, 100), &c);
        assert_eq!(plan.layers.len(), 5);
        assert_complete(&plan, &c);
    }

    /// An application (0) referring to `n` libraries (1..=n) that all refer to one base (n+1).
    fn app_closure(n: usize, app_size: u64) -> Vec<PathInfo> {
        let mut c = vec![info(0, &(1..=n).collect::<Vec<_>>(), app_size)];
        c.extend((1..=n).map(|i| info(i, &[n + 1], 100 + i as u64)));
        c.push(info(n + 1, &[], 50));
        c
    }

    fn spec_with_roots(max_layers: u32, contents: &[StorePath], refs: &[StorePath]) -> ImageSpec {
        let mut s = spec(true, max_layers);
        s.contents = contents.to_vec();
        s.config_references = refs.to_vec();
        s
    }

    #[test]
    fn roots_get_their_own_layers_above_the_shared_tail() {
        let c = app_closure(20, 1);
        let s = spec_with_roots(10, &[sp(0)], &[]);
        let plan = plan_layers(&s, &c);
        assert_complete(&plan, &c);
        assert_eq!(plan.layers.len(), 10);
        // The most popular path first, 6 more libraries, the tail, the root, the customisation.
        assert_eq!(plan.layers[0].store_paths, vec![sp(21)]);
        assert!(plan.layers[..7].iter().all(|l| l.store_paths.len() == 1));
        assert_eq!(plan.layers[7].store_paths.len(), 20 - 6);
        assert_eq!(plan.layers[8].store_paths, vec![sp(0)]);
        assert_eq!(plan.layers[9].root, Some(RootMode::SymlinkJoin));
        // Without the root, the application (popularity 0, smallest) falls into the tail.
        let plan = plan_layers(&spec(true, 10), &c);
        assert!(plan.layers[8].store_paths.contains(&sp(0)));
    }

    #[test]
    fn changing_a_root_changes_only_its_layer() {
        let c = app_closure(30, 1);
        let s = spec_with_roots(8, &[sp(0)], &[]);
        let before = plan_layers(&s, &c);
        // The same application under another hash (its contents changed).
        let mut changed = c.clone();
        changed[0].path.hash = format!("{:z>32}", "");
        let s = spec_with_roots(8, &[changed[0].path.clone()], &[]);
        let after = plan_layers(&s, &changed);
        let differing: Vec<usize> = (0..before.layers.len())
            .filter(|&i| before.layers[i] != after.layers[i])
            .collect();
        assert_eq!(differing, vec![6], "only the root's layer");
        assert_eq!(after.layers[6].store_paths, vec![changed[0].path.clone()]);
    }

    #[test]
    fn config_references_are_roots_too() {
        let c = app_closure(20, 1);
        let s = spec_with_roots(5, &[], &[sp(0)]);
        let plan = plan_layers(&s, &c);
        assert_eq!(plan.layers[3].store_paths, vec![sp(0)]);
        assert_complete(&plan, &c);
    }

    #[test]
    fn roots_beyond_the_budget_join_the_tail() {
        // Every library is a root; 5 store layers: 4 roots of their own, the rest in the tail.
        let c = app_closure(20, 1);
        let roots: Vec<StorePath> = (1..=20).map(sp).collect();
        let plan = plan_layers(&spec_with_roots(6, &roots, &[]), &c);
        assert_complete(&plan, &c);
        assert_eq!(plan.layers.len(), 6);
        let tail = &plan.layers[0].store_paths;
        assert!(tail.contains(&sp(0)) && tail.contains(&sp(21)));
        assert_eq!(tail.len(), 22 - 4);
        // The largest roots (equal popularity) have layers of their own.
        let own: Vec<_> = plan.layers[1..5]
            .iter()
            .map(|l| l.store_paths.clone())
            .collect();
        assert_eq!(
            own,
            vec![vec![sp(20)], vec![sp(19)], vec![sp(18)], vec![sp(17)]]
        );
        // One store layer: everything in it, roots or not.
        let plan = plan_layers(&spec_with_roots(2, &roots, &[]), &c);
        assert_eq!(plan.layers.len(), 2);
        assert_complete(&plan, &c);
    }

    #[test]
    fn roots_change_nothing_when_everything_fits() {
        let c = app_closure(20, 1);
        let s = spec_with_roots(100, &[sp(0)], &[]);
        assert_eq!(plan_layers(&s, &c), plan_layers(&spec(true, 100), &c));
    }

    #[test]
    fn roots_plan_is_deterministic_under_permutation() {
        let c = app_closure(25, 1);
        let s = spec_with_roots(7, &[sp(0), sp(3)], &[]);
        let want = plan_layers(&s, &c);
        let mut shuffled = c.clone();
        shuffled.reverse();
        for p in &mut shuffled {
            p.references.reverse();
        }
        assert_eq!(plan_layers(&s, &shuffled), want);
        assert_eq!(want.layers.len(), 7);
        assert_complete(&want, &c);
    }
}
