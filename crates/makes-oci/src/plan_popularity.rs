//! The popularity contest of nixpkgs' layering program (`popularity_contest` of
//! `flatten_references_graph`), which ranks paths differently from makes' own plan. nixpkgs
//! unfolds the graph into a tree below a virtual top whose children are the roots; a path's
//! count below a vertex is, summed over that vertex's children, one if it is that child, plus
//! the child's count of it plus one if it lies below that child. A path's popularity is its
//! count below the top. Most popular first; ties by nixpkgs' package-name key (the name, then
//! the hash). Counts grow with the number of ways down the graph, so they are unbounded
//! integers, as Python's are.

use std::cmp::Ordering;
use std::collections::HashMap;

/// An unbounded count: little-endian 64-bit limbs, no zero limb on top (zero is empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Count(Vec<u64>);

impl Count {
    fn add(&mut self, other: &Count) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        let mut carry = false;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let o = other.0.get(i).copied().unwrap_or(0);
            if o == 0 && !carry && i >= other.0.len() {
                break;
            }
            let (sum, c1) = limb.overflowing_add(o);
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            *limb = sum;
            carry = c1 || c2;
        }
        if carry {
            self.0.push(1);
        }
    }

    fn add_small(&mut self, mut n: u64) {
        for limb in self.0.iter_mut() {
            let (sum, carry) = limb.overflowing_add(n);
            *limb = sum;
            if !carry {
                return;
            }
            n = 1;
        }
        if n != 0 {
            self.0.push(n);
        }
    }
}

impl Ord for Count {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

impl PartialOrd for Count {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The graph has a cycle, which nixpkgs' unfolding never finishes: refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cycle;

/// `vertices` most popular first, over the directed `edges` between them (`(from, to)`: `from`
/// refers to `to`; edges from or to other vertices and self-edges are ignored). `key` is
/// nixpkgs' tie-break, the name with the hash moved to the end.
pub(crate) fn popularity_order(
    vertices: &[usize],
    edges: &[(usize, usize)],
    key: impl Fn(usize) -> String,
) -> Result<Vec<usize>, Cycle> {
    let n = vertices.len();
    let (children, parents) = adjacency(vertices, edges);
    let position = topological_positions(&children, &parents)?;
    let roots: Vec<usize> = (0..n).filter(|&v| parents[v].is_empty()).collect();
    let graph = Adjacency {
        children,
        parents,
        position,
        roots,
    };
    let mut slots = vec![usize::MAX; n];
    let counts: Vec<Count> = (0..n).map(|x| count_of(x, &graph, &mut slots)).collect();
    let keys: Vec<String> = vertices.iter().map(|&v| key(v)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        counts[b]
            .cmp(&counts[a])
            .then_with(|| keys[a].cmp(&keys[b]))
    });
    Ok(order.into_iter().map(|i| vertices[i]).collect())
}

/// The graph as `count_of` walks it, by place in the vertex list.
struct Adjacency {
    children: Vec<Vec<usize>>,
    parents: Vec<Vec<usize>>,
    /// Place in an order where parents come before their children.
    position: Vec<usize>,
    roots: Vec<usize>,
}

/// Whether the directed `edges` between `vertices` leave them without a cycle (self-edges
/// aside), without ranking anything.
pub(crate) fn check_acyclic(vertices: &[usize], edges: &[(usize, usize)]) -> Result<(), Cycle> {
    let (children, parents) = adjacency(vertices, edges);
    topological_positions(&children, &parents).map(|_| ())
}

/// Children and parents of each vertex, by its place in `vertices`.
fn adjacency(vertices: &[usize], edges: &[(usize, usize)]) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let local: HashMap<usize, usize> = vertices.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    let n = vertices.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut seen: std::collections::HashSet<(usize, usize)> = std::collections::HashSet::new();
    for &(from, to) in edges {
        if let (Some(&f), Some(&t)) = (local.get(&from), local.get(&to)) {
            if f != t && seen.insert((f, t)) {
                children[f].push(t);
                parents[t].push(f);
            }
        }
    }
    (children, parents)
}

/// Each vertex's place in an order where parents come before their children (Kahn's).
fn topological_positions(
    children: &[Vec<usize>],
    parents: &[Vec<usize>],
) -> Result<Vec<usize>, Cycle> {
    let n = children.len();
    let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&v| waiting[v] == 0).collect();
    let mut position = vec![usize::MAX; n];
    let mut next = 0;
    while let Some(v) = ready.pop() {
        position[v] = next;
        next += 1;
        for &c in &children[v] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(c);
            }
        }
    }
    if next == n {
        Ok(position)
    } else {
        Err(Cycle)
    }
}

/// The popularity of `x`: its count below the virtual top whose children are the roots.
/// `slots` is scratch space, one entry per vertex, all `usize::MAX` on entry and on return.
fn count_of(x: usize, graph: &Adjacency, slots: &mut [usize]) -> Count {
    // Only the strict ancestors of `x` have it below them.
    let mut ancestors: Vec<usize> = Vec::new();
    let mut stack = vec![x];
    while let Some(v) = stack.pop() {
        for &p in &graph.parents[v] {
            if slots[p] == usize::MAX {
                slots[p] = 0;
                ancestors.push(p);
                stack.push(p);
            }
        }
    }
    // Children before parents, so a child's count is known when its parent adds it up.
    ancestors.sort_by_key(|&v| std::cmp::Reverse(graph.position[v]));
    for (slot, &v) in ancestors.iter().enumerate() {
        slots[v] = slot;
    }
    let sum_over = |kids: &[usize], below: &[Count], slots: &[usize]| -> Count {
        let mut total = Count::default();
        for &c in kids {
            if c == x {
                total.add_small(1);
            } else if slots[c] != usize::MAX {
                total.add(&below[slots[c]]);
                total.add_small(1);
            }
        }
        total
    };
    let mut below: Vec<Count> = Vec::with_capacity(ancestors.len());
    for &v in &ancestors {
        let count = sum_over(&graph.children[v], &below, slots);
        below.push(count);
    }
    let count = sum_over(&graph.roots, &below, slots);
    for &v in &ancestors {
        slots[v] = usize::MAX;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(names: &[&str], edges: &[(&str, &str)]) -> Result<Vec<String>, Cycle> {
        let id = |n: &str| names.iter().position(|m| *m == n).expect("a vertex");
        let edges: Vec<(usize, usize)> = edges.iter().map(|(a, b)| (id(a), id(b))).collect();
        let vertices: Vec<usize> = (0..names.len()).collect();
        popularity_order(&vertices, &edges, |v| names[v].to_owned())
            .map(|o| o.into_iter().map(|v| names[v].to_owned()).collect())
    }

    /// The worked example at the top of nixpkgs' popularity_contest.py (commit
    /// e92b6585a892a4b5eb12f9eb1e343e9990fd56f1): counts A 1, B 2, C 3, D 4, E 5, F 9, G 2.
    #[test]
    fn nixpkgs_worked_example() {
        let got = order(
            &["A", "B", "C", "D", "E", "F", "G"],
            &[
                ("A", "B"),
                ("A", "G"),
                ("B", "C"),
                ("B", "E"),
                ("C", "D"),
                ("C", "E"),
                ("D", "F"),
                ("E", "F"),
            ],
        );
        assert_eq!(
            got,
            Ok(["F", "E", "D", "C", "B", "G", "A"]
                .map(String::from)
                .to_vec())
        );
    }

    /// nixpkgs' pipe_test.py test_2 (commit b6f03b42ab60f968e9c098219063414b4d8e060b): a
    /// chain and a lone root.
    #[test]
    fn chain_and_lone_root() {
        let got = order(&["Root1", "A", "B", "Root2"], &[("Root1", "A"), ("A", "B")]);
        assert_eq!(
            got,
            Ok(["B", "A", "Root1", "Root2"].map(String::from).to_vec())
        );
    }

    #[test]
    fn a_cycle_is_refused() {
        assert_eq!(order(&["A", "B"], &[("A", "B"), ("B", "A")]), Err(Cycle));
        // A self-reference is no cycle.
        assert_eq!(
            order(&["A", "B"], &[("A", "A"), ("A", "B")]),
            Ok(vec!["B".to_owned(), "A".to_owned()])
        );
    }

    #[test]
    fn counts_past_64_bits_stay_exact() {
        // A ladder of diamonds doubles the ways down at every rung: 100 rungs pass 2^64.
        let mut names: Vec<String> = Vec::new();
        let mut edges: Vec<(usize, usize)> = Vec::new();
        names.push("top".into());
        for i in 0..100 {
            let base = names.len();
            names.push(format!("l{i}"));
            names.push(format!("r{i}"));
            names.push(format!("m{i}"));
            let above = base - 1;
            edges.extend([
                (above, base),
                (above, base + 1),
                (base, base + 2),
                (base + 1, base + 2),
            ]);
        }
        let vertices: Vec<usize> = (0..names.len()).collect();
        let got = popularity_order(&vertices, &edges, |v| names[v].clone()).expect("acyclic");
        // Deeper is more popular; the bottom first, the top last.
        assert_eq!(names[got[0]], "m99");
        assert_eq!(names[got[got.len() - 1]], "top");
        // The bottom's count really is past u64 (an overflow would have wrapped it small).
        let mut c = Count::default();
        c.add(&Count(vec![u64::MAX]));
        c.add_small(1);
        assert_eq!(c, Count(vec![0, 1]));
        assert!(c > Count(vec![u64::MAX]));
    }
}
