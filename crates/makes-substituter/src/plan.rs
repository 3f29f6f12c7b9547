//! The install plan: which wanted paths depend on which, checked before anything is
//! downloaded. Every reference must be the path itself, already valid, or wanted too; the
//! paths are ordered dependencies first (Kahn's algorithm, ties in the caller's order), which
//! is also the order downloads are started in.

use std::collections::HashMap;

use makes_store::LocalStore;

use crate::error::SubstituteError;
use crate::LockedPath;

pub(crate) struct Plan {
    /// Indices into the wanted paths, every path after its references.
    pub(crate) order: Vec<usize>,
    /// For each path, the wanted paths it refers to (itself excluded).
    pub(crate) deps: Vec<Vec<usize>>,
    /// For each path, the wanted paths referring to it.
    pub(crate) dependents: Vec<Vec<usize>>,
}

pub(crate) fn plan(store: &LocalStore, todo: &[&LockedPath]) -> Result<Plan, SubstituteError> {
    let index: HashMap<_, _> = todo.iter().enumerate().map(|(i, l)| (&l.path, i)).collect();
    let mut deps = vec![Vec::new(); todo.len()];
    let mut dependents = vec![Vec::new(); todo.len()];
    for (i, locked) in todo.iter().enumerate() {
        for reference in &locked.references {
            if *reference == locked.path {
                continue;
            }
            match index.get(reference) {
                Some(&j) => {
                    if !deps[i].contains(&j) {
                        deps[i].push(j);
                        dependents[j].push(i);
                    }
                }
                None if store.is_valid(reference) => {}
                None => {
                    return Err(SubstituteError::MissingReference {
                        path: locked.path.clone(),
                        reference: reference.clone(),
                    })
                }
            }
        }
    }
    let mut pending: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut ready: std::collections::VecDeque<usize> =
        (0..todo.len()).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(todo.len());
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &d in &dependents[i] {
            pending[d] -= 1;
            if pending[d] == 0 {
                ready.push_back(d);
            }
        }
    }
    if let Some(i) = (0..todo.len()).find(|&i| pending[i] > 0) {
        return Err(SubstituteError::ReferenceCycle {
            path: todo[i].path.clone(),
        });
    }
    Ok(Plan {
        order,
        deps,
        dependents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use makes_store::StorePath;

    fn p(name: &str) -> StorePath {
        makes_store::make_store_path("output:out", &[1u8; 32], name)
    }

    fn locked(name: &str, refs: &[&str]) -> LockedPath {
        LockedPath {
            path: p(name),
            nar_hash: [0u8; 32],
            nar_size: 0,
            references: refs.iter().map(|r| p(r)).collect(),
        }
    }

    #[test]
    fn dependencies_first_self_references_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(dir.path()).expect("open");
        let wanted = [
            locked("top", &["top", "mid", "leaf"]),
            locked("mid", &["leaf"]),
            locked("leaf", &[]),
        ];
        let todo: Vec<&LockedPath> = wanted.iter().collect();
        let plan = plan(&store, &todo).expect("plan");
        assert_eq!(plan.order, vec![2, 1, 0]);
        assert_eq!(plan.deps[0], vec![1, 2]);
        assert_eq!(plan.dependents[2], vec![0, 1]);
    }

    #[test]
    fn open_locks_and_cycles_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(dir.path()).expect("open");
        let open = [locked("a", &["b"])];
        let err = plan(&store, &open.iter().collect::<Vec<_>>()).err();
        assert!(
            matches!(err, Some(SubstituteError::MissingReference { .. })),
            "{err:?}"
        );
        let cycle = [locked("a", &["b"]), locked("b", &["a"])];
        let err = plan(&store, &cycle.iter().collect::<Vec<_>>()).err();
        assert!(
            matches!(err, Some(SubstituteError::ReferenceCycle { .. })),
            "{err:?}"
        );
    }
}
