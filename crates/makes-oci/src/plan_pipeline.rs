//! Layers planned by dockerTools' `layeringPipeline`, as nixpkgs' `flatten_references_graph`
//! plans them: the image's store paths become a graph (vertices ordered by NAR size, then by
//! base name, as Nix exports the references graph; an edge from each path to each path it
//! refers to), the pipeline's steps transform it into graphs, lists of results and named
//! results (`main`, `common`, `rest`), and the flattened result, empty graphs left out, is the
//! list of store layers, bottom first. The customisation layer goes on top. `maxLayers` does
//! not apply, as in nixpkgs: the pipeline decides. A path the pipeline removes leaves the
//! image.
//!
//! Where nixpkgs' program would crash (a step given the wrong kind of data, `over` a result
//! that is not there) the plan is an error naming the step; a pipeline whose result is a
//! single graph is one layer.

use std::collections::{HashMap, HashSet};

use makes_spec::{ImageSpec, LayeringPipeline, LayeringStep, SplitPath};
use makes_store::{PathInfo, StorePath, STORE_DIR};

use crate::error::OciError;
use crate::plan::{LayerPlan, PlannedLayer, RootMode};
use crate::plan_popularity::{check_acyclic, popularity_order};

/// Plans the layers of `spec` (layered, with `pipeline`) over `closure`. Pure: no I/O, and the
/// same answer for any order of `closure` and of its references.
pub fn plan_pipeline_layers(
    spec: &ImageSpec,
    closure: &[PathInfo],
    pipeline: &LayeringPipeline,
) -> Result<LayerPlan, OciError> {
    let mut layers = Vec::new();
    // Without `includeStorePaths` nixpkgs gives its layering program no paths at all.
    if spec.include_store_paths && !closure.is_empty() {
        let paths = PathGraph::new(closure)?;
        let result = run_steps(&paths, &pipeline.steps, Data::Graph(paths.whole()), "")?;
        for graph in flatten(result) {
            let mut store_paths: Vec<StorePath> = graph
                .vertices
                .iter()
                .map(|&v| paths.paths[v].clone())
                .collect();
            if store_paths.is_empty() {
                continue;
            }
            store_paths.sort();
            layers.push(PlannedLayer {
                store_paths,
                root: None,
            });
        }
    }
    layers.push(PlannedLayer {
        store_paths: Vec::new(),
        root: Some(RootMode::SymlinkJoin),
    });
    Ok(LayerPlan { layers })
}

/// The image's store paths, numbered in the order nixpkgs' graph has them.
struct PathGraph {
    paths: Vec<StorePath>,
    /// Absolute path to number, to find the paths a step names.
    numbers: HashMap<String, usize>,
    edges: Vec<(usize, usize)>,
}

impl PathGraph {
    fn new(closure: &[PathInfo]) -> Result<PathGraph, OciError> {
        let infos = crate::plan::unique_by_path(closure);
        // Nix exports the graph sorted by base name; nixpkgs then sorts it by NAR size, stably.
        let mut nodes: Vec<&PathInfo> = infos.into_values().collect();
        nodes.sort_by(|a, b| {
            a.nar_size
                .cmp(&b.nar_size)
                .then_with(|| a.path.base_name().cmp(&b.path.base_name()))
        });
        let paths: Vec<StorePath> = nodes.iter().map(|n| n.path.clone()).collect();
        let numbers: HashMap<String, usize> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.to_absolute(), i))
            .collect();
        let by_path: HashMap<&StorePath, usize> =
            paths.iter().enumerate().map(|(i, p)| (p, i)).collect();
        let mut edges = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            let mut targets: Vec<usize> = node
                .references
                .iter()
                .filter_map(|r| by_path.get(r).copied())
                .filter(|&t| t != i)
                .collect();
            targets.sort_unstable();
            targets.dedup();
            edges.extend(targets.into_iter().map(|t| (i, t)));
        }
        let graph = PathGraph {
            paths,
            numbers,
            edges,
        };
        // Store references never form a cycle; a closure that does is refused here rather
        // than looping in the steps that walk the graph.
        let whole = graph.whole();
        check_acyclic(&whole.vertices, &whole.edges)
            .map_err(|_| fail("the image's graph", "the closure's references form a cycle"))?;
        Ok(graph)
    }

    fn whole(&self) -> Graph {
        Graph {
            vertices: (0..self.paths.len()).collect(),
            edges: self.edges.clone(),
        }
    }

    /// nixpkgs' tie-break among equally popular paths: the name, then `-/nix/store/<hash>`.
    fn package_name_key(&self, v: usize) -> String {
        let p = &self.paths[v];
        format!("{}-{STORE_DIR}/{}", p.name, p.hash)
    }
}

/// A graph of some of the paths: its vertices in order, and the edges it kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Graph {
    vertices: Vec<usize>,
    edges: Vec<(usize, usize)>,
}

impl Graph {
    /// The subgraph of the vertices `keep` accepts, with the edges between them, in this
    /// graph's order (igraph's induced subgraphs keep it, whatever order they are asked in).
    fn induced(&self, keep: impl Fn(usize) -> bool) -> Graph {
        Graph {
            vertices: self.vertices.iter().copied().filter(|&v| keep(v)).collect(),
            edges: self
                .edges
                .iter()
                .copied()
                .filter(|&(a, b)| keep(a) && keep(b))
                .collect(),
        }
    }

    /// The vertices `names` name, in the order named (names of no vertex are skipped).
    fn named(&self, paths: &PathGraph, names: &[String]) -> Vec<usize> {
        let here: HashSet<usize> = self.vertices.iter().copied().collect();
        names
            .iter()
            .filter_map(|n| paths.numbers.get(n).copied())
            .filter(|v| here.contains(v))
            .collect()
    }

    /// `from` and every vertex reachable from it along the edges (`forward`) or against them.
    fn reachable(&self, from: &[usize], forward: bool) -> HashSet<usize> {
        let mut next: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(a, b) in &self.edges {
            let (s, t) = if forward { (a, b) } else { (b, a) };
            next.entry(s).or_default().push(t);
        }
        let mut seen: HashSet<usize> = from.iter().copied().collect();
        let mut stack: Vec<usize> = from.to_vec();
        while let Some(v) = stack.pop() {
            for &w in next.get(&v).map(Vec::as_slice).unwrap_or_default() {
                if seen.insert(w) {
                    stack.push(w);
                }
            }
        }
        seen
    }

    /// Vertices no edge points at.
    fn roots(&self) -> Vec<usize> {
        let pointed: HashSet<usize> = self.edges.iter().map(|&(_, b)| b).collect();
        self.vertices
            .iter()
            .copied()
            .filter(|v| !pointed.contains(v))
            .collect()
    }
}

/// What a step takes and gives: a graph, a list, or named results in nixpkgs' order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Data {
    Graph(Graph),
    List(Vec<Data>),
    Named(Vec<(String, Data)>),
}

impl Data {
    fn describe(&self) -> String {
        match self {
            Data::Graph(_) => "a graph".into(),
            Data::List(_) => "a list".into(),
            Data::Named(items) => {
                let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
                format!("named results ({})", keys.join(", "))
            }
        }
    }
}

fn fail(at: &str, problem: impl Into<String>) -> OciError {
    OciError::LayeringPipeline {
        at: at.to_owned(),
        problem: problem.into(),
    }
}

fn nested(at: &str, more: &str) -> String {
    if at.is_empty() {
        more.to_owned()
    } else {
        format!("{at} > {more}")
    }
}

fn run_steps(
    paths: &PathGraph,
    steps: &[LayeringStep],
    mut data: Data,
    at: &str,
) -> Result<Data, OciError> {
    for (i, step) in steps.iter().enumerate() {
        data = run_step(paths, step, data, &nested(at, &format!("step {}", i + 1)))?;
    }
    Ok(data)
}

fn expect_graph(data: Data, at: &str) -> Result<Graph, OciError> {
    match data {
        Data::Graph(g) => Ok(g),
        other => Err(fail(
            at,
            format!("takes a graph, given {}", other.describe()),
        )),
    }
}

fn expect_list(data: Data, at: &str) -> Result<Vec<Data>, OciError> {
    match data {
        Data::List(items) => Ok(items),
        other => Err(fail(
            at,
            format!("takes a list, given {}", other.describe()),
        )),
    }
}

fn run_step(
    paths: &PathGraph,
    step: &LayeringStep,
    data: Data,
    at: &str,
) -> Result<Data, OciError> {
    Ok(match step {
        LayeringStep::PopularityContest => {
            let at = nested(at, "popularity_contest");
            let graph = expect_graph(data, &at)?;
            let order =
                popularity_order(&graph.vertices, &graph.edges, |v| paths.package_name_key(v))
                    .map_err(|_| fail(&at, "the graph has a cycle"))?;
            Data::List(
                order
                    .into_iter()
                    .map(|v| {
                        Data::Graph(Graph {
                            vertices: vec![v],
                            edges: Vec::new(),
                        })
                    })
                    .collect(),
            )
        }
        LayeringStep::LimitLayers(n) => {
            let at = nested(at, "limit_layers");
            let mut items = expect_list(data, &at)?;
            let keep = usize::try_from(n.saturating_sub(1))
                .unwrap_or(usize::MAX)
                .min(items.len());
            let rest = items.split_off(keep);
            // The rest merged, one after the other, into one graph (empty when nothing is
            // left, which the final flattening drops).
            let mut merged = Graph::default();
            for item in rest {
                let g = expect_graph(item, &nested(&at, "merging the rest"))?;
                merged.vertices.extend(g.vertices);
                merged.edges.extend(g.edges);
            }
            items.push(Data::Graph(merged));
            Data::List(items)
        }
        LayeringStep::SplitEvery(n) => {
            let at = nested(at, "split_every");
            let graph = expect_graph(data, &at)?;
            let size = usize::try_from(*n).unwrap_or(usize::MAX);
            Data::List(
                graph
                    .vertices
                    .chunks(size)
                    .map(|chunk| {
                        let keep: HashSet<usize> = chunk.iter().copied().collect();
                        Data::Graph(graph.induced(|v| keep.contains(&v)))
                    })
                    .collect(),
            )
        }
        LayeringStep::Flatten => Data::List(flatten(data).into_iter().map(Data::Graph).collect()),
        LayeringStep::Reverse => {
            let mut items = expect_list(data, &nested(at, "reverse"))?;
            items.reverse();
            Data::List(items)
        }
        LayeringStep::RemovePaths(names) => {
            let at = nested(at, "remove_paths");
            let graph = expect_graph(data, &at)?;
            let gone: HashSet<usize> = graph.named(paths, names).into_iter().collect();
            Data::Graph(graph.induced(|v| !gone.contains(&v)))
        }
        LayeringStep::SubcomponentIn(names) => {
            let graph = expect_graph(data, &nested(at, "subcomponent_in"))?;
            subcomponent(paths, graph, names, false)
        }
        LayeringStep::SubcomponentOut(names) => {
            let graph = expect_graph(data, &nested(at, "subcomponent_out"))?;
            subcomponent(paths, graph, names, true)
        }
        LayeringStep::SplitPaths(specs) => {
            let graph = expect_graph(data, &nested(at, "split_paths"))?;
            split_paths(paths, graph, specs)
        }
        LayeringStep::Over { key, step } => {
            let at = nested(at, &format!("over '{key}'"));
            let Data::Named(mut items) = data else {
                return Err(fail(
                    &at,
                    format!("takes named results, given {}", data.describe()),
                ));
            };
            let Some(slot) = items.iter().position(|(k, _)| k == key) else {
                let have: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
                return Err(fail(
                    &at,
                    format!(
                        "there is no '{key}' result here (there are: {})",
                        have.join(", ")
                    ),
                ));
            };
            let value = std::mem::replace(&mut items[slot].1, Data::List(Vec::new()));
            items[slot].1 = run_step(paths, step, value, &at)?;
            Data::Named(items)
        }
        LayeringStep::Pipe(steps) => run_steps(paths, steps, data, &nested(at, "pipe"))?,
        LayeringStep::Map(step) => {
            let at = nested(at, "map");
            let items = expect_list(data, &at)?;
            Data::List(
                items
                    .into_iter()
                    .map(|item| run_step(paths, step, item, &at))
                    .collect::<Result<_, _>>()?,
            )
        }
    })
}

/// Every graph in `data`, depth first, named results in their order.
fn flatten(data: Data) -> Vec<Graph> {
    let mut out = Vec::new();
    // An explicit stack: results nest as deep as the pipeline does.
    let mut stack = vec![data];
    while let Some(d) = stack.pop() {
        match d {
            Data::Graph(g) => out.push(g),
            Data::List(items) => stack.extend(items.into_iter().rev()),
            Data::Named(items) => stack.extend(items.into_iter().rev().map(|(_, d)| d)),
        }
    }
    out
}

/// `subcomponent_in`/`_out`: `main`, the named paths with everything depending on them (`in`)
/// or everything they depend on (`out`); `rest`, the others. Both are given, even when empty.
fn subcomponent(paths: &PathGraph, graph: Graph, names: &[String], out: bool) -> Data {
    let start = graph.named(paths, names);
    let main = graph.reachable(&start, out);
    Data::Named(vec![
        (
            "main".into(),
            Data::Graph(graph.induced(|v| main.contains(&v))),
        ),
        (
            "rest".into(),
            Data::Graph(graph.induced(|v| !main.contains(&v))),
        ),
    ])
}

/// `split_paths`: `main`, the split paths with the dependencies only they reach; `common`,
/// their dependencies the rest of the graph reaches too; `rest`, the others. Empty results are
/// left out; a split naming nothing gives the graph as `rest`, one splitting at the graph's
/// only root gives it as `main`.
fn split_paths(paths: &PathGraph, graph: Graph, specs: &[SplitPath]) -> Data {
    let mut split: Vec<usize> = Vec::new();
    for spec in specs {
        match spec {
            SplitPath::Path(p) => split.extend(graph.named(paths, std::slice::from_ref(p))),
            SplitPath::ChildrenOf(of) => {
                let parents: HashSet<usize> = graph.named(paths, of).into_iter().collect();
                split.extend(
                    graph
                        .edges
                        .iter()
                        .filter(|(a, _)| parents.contains(a))
                        .map(|&(_, b)| b),
                );
            }
        }
    }
    if split.is_empty() {
        return Data::Named(vec![("rest".into(), Data::Graph(graph))]);
    }
    let roots = graph.roots();
    let split_set: HashSet<usize> = split.iter().copied().collect();
    if let [only] = roots.as_slice() {
        if split_set.contains(only) {
            return Data::Named(vec![("main".into(), Data::Graph(graph))]);
        }
    }
    let split_off = graph.reachable(&split, true);
    // The edges into the split paths go: what the roots still reach is the rest, and what
    // both reach is common.
    let cut = Graph {
        vertices: graph.vertices.clone(),
        edges: graph
            .edges
            .iter()
            .copied()
            .filter(|(_, b)| !split_set.contains(b))
            .collect(),
    };
    let starts: Vec<usize> = roots
        .into_iter()
        .filter(|r| !split_set.contains(r))
        .collect();
    let rest_with_common = cut.reachable(&starts, true);
    let results = [
        (
            "main",
            cut.induced(|v| split_off.contains(&v) && !rest_with_common.contains(&v)),
        ),
        (
            "common",
            cut.induced(|v| split_off.contains(&v) && rest_with_common.contains(&v)),
        ),
        (
            "rest",
            cut.induced(|v| rest_with_common.contains(&v) && !split_off.contains(&v)),
        ),
    ];
    Data::Named(
        results
            .into_iter()
            .filter(|(_, g)| !g.vertices.is_empty())
            .map(|(k, g)| (k.to_owned(), Data::Graph(g)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    //! The expected layers come from nixpkgs' own tests of `flatten_references_graph`
    //! (pkgs/by-name/fl/flattenReferencesGraph/src/flatten_references_graph/, commit
    //! b6f03b42ab60f968e9c098219063414b4d8e060b: flatten_references_graph_test.py and
    //! pipe_test.py), with single-letter paths written as store paths, and from tracing its
    //! code by hand where a case is new.

    use super::*;
    use serde_json::{json, Value};

    /// The store path standing for the letter path `name` of nixpkgs' tests.
    fn sp(name: &str) -> StorePath {
        let hash: String = name
            .bytes()
            .map(|b| char::from(b'0' + b % 10))
            .chain(std::iter::repeat('0'))
            .take(32)
            .collect();
        StorePath {
            hash,
            name: name.to_owned(),
        }
    }

    fn p(name: &str) -> String {
        sp(name).to_absolute()
    }

    /// A closure of `(path, narSize, references)`.
    fn closure(nodes: &[(&str, u64, &[&str])]) -> Vec<PathInfo> {
        nodes
            .iter()
            .map(|(name, size, refs)| PathInfo {
                path: sp(name),
                references: refs.iter().map(|r| sp(r)).collect(),
                nar_size: *size,
                nar_hash: String::new(),
            })
            .collect()
    }

    fn spec() -> ImageSpec {
        ImageSpec {
            name: "img".into(),
            architecture: "amd64".into(),
            ..ImageSpec::default()
        }
    }

    fn pipeline(v: Value) -> LayeringPipeline {
        LayeringPipeline::from_json(&v).expect("a pipeline")
    }

    /// The store layers' path names, each layer sorted; the customisation layer checked and
    /// left out.
    fn layers_of(c: &[PathInfo], v: Value) -> Result<Vec<Vec<String>>, String> {
        let plan = plan_pipeline_layers(&spec(), c, &pipeline(v)).map_err(|e| e.to_string())?;
        let (last, store) = plan.layers.split_last().expect("a customisation layer");
        assert_eq!(last.root, Some(RootMode::SymlinkJoin));
        assert!(last.store_paths.is_empty());
        Ok(store
            .iter()
            .map(|l| {
                assert_eq!(l.root, None);
                let mut names: Vec<String> = l.store_paths.iter().map(|s| s.name.clone()).collect();
                names.sort();
                names
            })
            .collect())
    }

    fn names(layers: &[&[&str]]) -> Vec<Vec<String>> {
        layers
            .iter()
            .map(|l| {
                let mut l: Vec<String> = l.iter().map(|s| s.to_string()).collect();
                l.sort();
                l
            })
            .collect()
    }

    /// flatten_references_graph_test.py's graph: A and B both use C, B uses D.
    fn abcd() -> Vec<PathInfo> {
        closure(&[
            ("A", 2, &["A", "C"]),
            ("B", 4, &["C", "D"]),
            ("C", 6, &["C"]),
            ("D", 8, &["D"]),
        ])
    }

    #[test]
    fn split_paths_gives_main_common_rest() {
        let got = layers_of(&abcd(), json!([["split_paths", [p("B")]]]));
        assert_eq!(got, Ok(names(&[&["B", "D"], &["C"], &["A"]])));
        let got = layers_of(
            &abcd(),
            json!([
                ["split_paths", [p("B")]],
                ["over", "main", ["subcomponent_in", [p("B")]]]
            ]),
        );
        assert_eq!(got, Ok(names(&[&["B"], &["D"], &["C"], &["A"]])));
    }

    #[test]
    fn split_paths_without_the_excluded_paths() {
        // nixpkgs' exclude_paths cases: the graph without A, then without D.
        let without_a = closure(&[("B", 4, &["C", "D"]), ("C", 6, &["C"]), ("D", 8, &["D"])]);
        let got = layers_of(&without_a, json!([["split_paths", [p("B")]]]));
        assert_eq!(got, Ok(names(&[&["B", "C", "D"]])), "B is the only root");
        let without_d = closure(&[("A", 2, &["A", "C"]), ("B", 4, &["C"]), ("C", 6, &["C"])]);
        let got = layers_of(&without_d, json!([["split_paths", [p("B")]]]));
        assert_eq!(got, Ok(names(&[&["B"], &["C"], &["A"]])));
    }

    /// pipe_test.py's graph: three roots over a small tree.
    fn roots_tree() -> Vec<PathInfo> {
        // Sizes give the vertex order of nixpkgs' test graph (first appearance in its edges).
        closure(&[
            ("Root1", 1, &["A"]),
            ("A", 2, &["B", "C"]),
            ("B", 3, &["D", "E", "G"]),
            ("C", 4, &[]),
            ("D", 5, &[]),
            ("E", 6, &["F"]),
            ("F", 7, &[]),
            ("G", 8, &[]),
            ("Root2", 9, &["B"]),
            ("Root3", 10, &["C"]),
        ])
    }

    #[test]
    fn nixpkgs_pipe_test_1() {
        let got = layers_of(
            &roots_tree(),
            json!([
                ["split_paths", [p("B")]],
                [
                    "over",
                    "main",
                    [
                        "pipe",
                        [
                            ["subcomponent_in", [p("B")]],
                            ["over", "rest", ["popularity_contest"]]
                        ]
                    ]
                ],
                ["flatten"],
                ["map", ["remove_paths", p("Root3")]],
                ["limit_layers", 5]
            ]),
        );
        // B alone; its dependencies by popularity (F first); the rest with G merged in.
        // Root3 was removed: it is in no layer.
        assert_eq!(
            got,
            Ok(names(&[
                &["B"],
                &["F"],
                &["D"],
                &["E"],
                &["G", "Root1", "A", "C", "Root2"]
            ]))
        );
    }

    #[test]
    fn nixpkgs_pipe_test_2() {
        let c = closure(&[
            ("Root1", 1, &["A"]),
            ("A", 2, &["B"]),
            ("B", 3, &[]),
            ("Root2", 4, &[]),
        ]);
        let got = layers_of(&c, json!([["popularity_contest"]]));
        assert_eq!(got, Ok(names(&[&["B"], &["A"], &["Root1"], &["Root2"]])));
        let got = layers_of(&c, json!([["popularity_contest"], ["limit_layers", 3]]));
        assert_eq!(got, Ok(names(&[&["B"], &["A"], &["Root1", "Root2"]])));
        let got = layers_of(
            &c,
            json!([["popularity_contest"], ["reverse"], ["limit_layers", 3]]),
        );
        assert_eq!(got, Ok(names(&[&["Root2"], &["Root1"], &["A", "B"]])));
    }

    #[test]
    fn subcomponent_out_and_split_every_follow_the_graph_order() {
        // Traced by hand through nixpkgs' code: main is python with its dependencies, rest is
        // the others, cut into pairs in the order of their NAR sizes.
        let c = closure(&[
            ("app", 50, &["python", "libx"]),
            ("python", 40, &["libc"]),
            ("libc", 30, &[]),
            ("libx", 5, &["liby"]),
            ("liby", 6, &[]),
            ("tool", 7, &[]),
        ]);
        let got = layers_of(
            &c,
            json!([
                ["subcomponent_out", [p("python")]],
                ["over", "rest", ["split_every", 2]]
            ]),
        );
        assert_eq!(
            got,
            Ok(names(&[
                &["python", "libc"],
                &["libx", "liby"],
                &["tool", "app"]
            ]))
        );
    }

    #[test]
    fn children_of_splits_at_the_direct_dependencies() {
        let c = closure(&[
            ("app", 50, &["libx", "liby"]),
            ("libx", 5, &["libc"]),
            ("liby", 6, &["libc"]),
            ("libc", 30, &[]),
            ("other", 7, &["libc"]),
        ]);
        let got = layers_of(&c, json!([["split_paths", [{"children_of": p("app")}]]]));
        // libx and liby are split off; libc is reached by `other` too, so it is common.
        assert_eq!(
            got,
            Ok(names(&[&["libx", "liby"], &["libc"], &["app", "other"]]))
        );
        // Splitting at the only root gives the whole graph as `main`.
        let single = closure(&[("app", 1, &["lib"]), ("lib", 2, &[])]);
        let got = layers_of(
            &single,
            json!([
                ["split_paths", [p("app")]],
                ["over", "main", ["popularity_contest"]]
            ]),
        );
        assert_eq!(got, Ok(names(&[&["lib"], &["app"]])));
        // A split naming nothing in the graph gives it as `rest`.
        let got = layers_of(&single, json!([["split_paths", ["/nix/store/x"]]]));
        assert_eq!(got, Ok(names(&[&["app", "lib"]])));
    }

    #[test]
    fn the_default_popularity_pipeline_with_a_limit() {
        // What nixpkgs runs without a layeringPipeline, [["popularity_contest"],
        // ["limit_layers", n]], over a diamond: libc is under both ways down.
        let c = closure(&[
            ("app", 1, &["libx", "liby"]),
            ("libx", 2, &["libc"]),
            ("liby", 3, &["libc"]),
            ("libc", 4, &[]),
        ]);
        let got = layers_of(&c, json!([["popularity_contest"], ["limit_layers", 3]]));
        assert_eq!(got, Ok(names(&[&["libc"], &["libx"], &["app", "liby"]])));
    }

    #[test]
    fn steps_given_the_wrong_data_are_errors_naming_the_step() {
        let cases = [
            (json!([["limit_layers", 2]]), "step 1 > limit_layers: takes a list, given a graph"),
            (
                json!([["split_paths", [p("B")]], ["over", "extra", ["flatten"]]]),
                "step 2 > over 'extra': there is no 'extra' result here (there are: main, common, rest)",
            ),
            (json!([["popularity_contest"], ["over", "main", ["flatten"]]]), "takes named results, given a list"),
            (json!([["flatten"], ["map", ["popularity_contest"]], ["popularity_contest"]]), "step 3 > popularity_contest: takes a graph, given a list"),
        ];
        let cases = cases.into_iter().chain([(
            // limit_layers passes its first items through as they are, but merges only graphs.
            json!([
                ["popularity_contest"],
                ["map", ["split_paths", [p("A")]]],
                ["limit_layers", 2]
            ]),
            "step 3 > limit_layers > merging the rest: takes a graph, given named results (rest)",
        )]);
        for (v, want) in cases {
            let got = layers_of(&abcd(), v.clone()).expect_err("refused");
            assert!(got.contains(want), "{v}: {got}");
        }
        let cyclic = closure(&[("A", 1, &["B"]), ("B", 2, &["A"])]);
        let got = layers_of(&cyclic, json!([["flatten"]])).expect_err("refused");
        assert!(got.contains("form a cycle"), "{got}");
    }

    #[test]
    fn limit_layers_passes_what_it_keeps_through() {
        // Popularity over A-C, B-C, B-D: C 4, D 2, A 1, B 1. Each single-path graph split at
        // A gives named results; five layers' room keeps all four, and the merged rest is
        // empty, so it is no layer.
        let got = layers_of(
            &abcd(),
            json!([
                ["popularity_contest"],
                ["map", ["split_paths", [p("A")]]],
                ["limit_layers", 5]
            ]),
        );
        assert_eq!(got, Ok(names(&[&["C"], &["D"], &["A"], &["B"]])));
    }

    #[test]
    fn a_single_graph_result_is_one_layer_and_no_store_paths_no_store_layers() {
        assert_eq!(
            layers_of(&abcd(), json!([])),
            Ok(names(&[&["A", "B", "C", "D"]]))
        );
        let mut s = spec();
        s.include_store_paths = false;
        let plan = plan_pipeline_layers(&s, &abcd(), &pipeline(json!([["popularity_contest"]])))
            .expect("plans");
        assert_eq!(plan.layers.len(), 1);
        assert_eq!(plan.layers[0].root, Some(RootMode::SymlinkJoin));
    }

    #[test]
    fn same_plan_for_any_order_of_the_closure() {
        let v = json!([
            ["split_paths", [p("B")]],
            ["over", "rest", ["split_every", 1]],
            ["flatten"],
            ["map", ["popularity_contest"]]
        ]);
        let want = plan_pipeline_layers(&spec(), &roots_tree(), &pipeline(v.clone()));
        let mut shuffled = roots_tree();
        shuffled.reverse();
        for info in &mut shuffled {
            info.references.reverse();
        }
        shuffled.push(shuffled[3].clone());
        let got = plan_pipeline_layers(&spec(), &shuffled, &pipeline(v));
        assert_eq!(
            got.map_err(|e| e.to_string()),
            want.map_err(|e| e.to_string())
        );
    }
}
