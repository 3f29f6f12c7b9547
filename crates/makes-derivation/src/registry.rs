//! The derivations one evaluation instantiated, kept in memory rather than written to
//! `/nix/store` as Nix writes them: their `.drv` texts (for the store to build them) and
//! their memoised `hashDerivationModulo` (Nix's `drvHashes`), which derivations depending on
//! them need for their own output paths.

use crate::drv::Derivation;
use crate::error::DerivationError;
use crate::hash::hex;
use makes_store::{LocalStore, StorePath};
use sha2::Digest as _;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// Each output's hash modulo: what its path (and, for input-addressed derivations depending
/// on it, their own hash) is computed from.
pub type OutputHashes = BTreeMap<String, [u8; 32]>;

/// Derivations by `.drv` path. Cloning shares the registry.
#[derive(Clone, Default)]
pub struct Derivations {
    inner: Rc<RefCell<Inner>>,
    /// Where sources live (their references, for closures) and where `.drv` files are
    /// written when a build or a `toFile` needs them as files; `None` in pure tests.
    store: Option<LocalStore>,
}

#[derive(Default)]
struct Inner {
    by_path: HashMap<String, Rc<Derivation>>,
    /// The `.drv` path of each output path.
    derivers: HashMap<String, String>,
    modulo: HashMap<String, OutputHashes>,
}

impl Derivations {
    pub fn new(store: LocalStore) -> Self {
        Derivations {
            inner: Rc::default(),
            store: Some(store),
        }
    }

    pub fn store(&self) -> Option<&LocalStore> {
        self.store.as_ref()
    }

    /// Writes the `.drv` file of a known derivation into makes' store (with those it refers
    /// to), as Nix writes it at instantiation: for a builder or a `toFile` that is handed the
    /// file itself. Its path is the one already computed.
    pub fn write_drv_file(&self, drv_path: &str) -> Result<StorePath, DerivationError> {
        let malformed = |reason: String| DerivationError::Malformed {
            path: drv_path.to_owned(),
            reason,
        };
        let path = StorePath::parse(drv_path).map_err(|e| malformed(e.to_string()))?;
        let Some(store) = &self.store else {
            return Err(malformed("no store to write it into".into()));
        };
        if store.is_valid(&path) {
            return Ok(path);
        }
        let drv = self.known(drv_path)?;
        let mut references = Vec::new();
        for r in drv.references() {
            let written = if self.get(&r).is_some() {
                self.write_drv_file(&r)?
            } else {
                StorePath::parse(&r).map_err(|e| malformed(e.to_string()))?
            };
            references.push(written);
        }
        let added = store
            .add_text(&path.name, &drv.unparse(false, None), &references)
            .map_err(|e| malformed(e.to_string()))?;
        if added != path {
            return Err(malformed(format!("its text is stored at {added}")));
        }
        Ok(path)
    }

    pub fn insert(&self, drv_path: String, drv: Rc<Derivation>) {
        let mut inner = self.inner.borrow_mut();
        for output in drv.outputs.values().filter(|o| !o.path.is_empty()) {
            inner.derivers.insert(output.path.clone(), drv_path.clone());
        }
        inner.by_path.insert(drv_path, drv);
    }

    /// The `.drv` path of the derivation that has `out_path` as an output.
    pub fn deriver(&self, out_path: &str) -> Option<String> {
        self.inner.borrow().derivers.get(out_path).cloned()
    }

    pub fn get(&self, drv_path: &str) -> Option<Rc<Derivation>> {
        self.inner.borrow().by_path.get(drv_path).cloned()
    }

    fn known(&self, drv_path: &str) -> Result<Rc<Derivation>, DerivationError> {
        self.get(drv_path)
            .ok_or_else(|| DerivationError::UnknownDerivation {
                path: drv_path.to_owned(),
            })
    }

    /// The `.drv` text of a known derivation.
    pub fn text(&self, drv_path: &str) -> Option<Vec<u8>> {
        self.get(drv_path).map(|d| d.unparse(false, None))
    }

    /// Nix's `hashDerivationModulo(drv, mask_outputs)`. Fixed outputs hash to their content
    /// hash and path (so how they are fetched does not matter downstream); any other
    /// derivation to the SHA-256 of its text with each input derivation replaced by that
    /// input's own hash modulo.
    pub fn hash_modulo(
        &self,
        drv: &Derivation,
        mask_outputs: bool,
    ) -> Result<OutputHashes, DerivationError> {
        if drv.is_fixed_output() {
            return Ok(drv
                .outputs
                .iter()
                .map(|(name, o)| {
                    let text = format!("fixed:out:{}:{}:{}", o.hash_algo, o.hash, o.path);
                    (name.clone(), sha2::Sha256::digest(text.as_bytes()).into())
                })
                .collect());
        }
        let mut inputs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (input, outputs) in &drv.input_drvs {
            let hashes = self.path_modulo(input)?;
            for output in outputs {
                let h = hashes
                    .get(output)
                    .ok_or_else(|| DerivationError::Malformed {
                        path: input.clone(),
                        reason: format!("it has no output '{output}'"),
                    })?;
                inputs.entry(hex(h)).or_default().insert(output.clone());
            }
        }
        let digest: [u8; 32] =
            sha2::Sha256::digest(drv.unparse(mask_outputs, Some(&inputs))).into();
        Ok(drv.outputs.keys().map(|o| (o.clone(), digest)).collect())
    }

    /// `pathDerivationModulo`: the memoised unmasked hash of a known derivation.
    fn path_modulo(&self, drv_path: &str) -> Result<OutputHashes, DerivationError> {
        if let Some(h) = self.inner.borrow().modulo.get(drv_path) {
            return Ok(h.clone());
        }
        let drv = self.known(drv_path)?;
        let h = self.hash_modulo(&drv, false)?;
        self.inner
            .borrow_mut()
            .modulo
            .insert(drv_path.to_owned(), h.clone());
        Ok(h)
    }

    /// Every store path reachable from `root` through references: a derivation refers to its
    /// sources and input derivations, a plain path to what the store says it refers to.
    pub fn closure(&self, root: &str) -> Result<BTreeSet<String>, DerivationError> {
        let mut seen = BTreeSet::new();
        let mut pending = vec![root.to_owned()];
        while let Some(path) = pending.pop() {
            if !seen.insert(path.clone()) {
                continue;
            }
            if path.ends_with(".drv") {
                pending.extend(self.known(&path)?.references());
            } else {
                pending.extend(self.source_references(&path));
            }
        }
        Ok(seen)
    }

    /// What a plain path in the store refers to (a `toFile` text may refer to paths).
    fn source_references(&self, path: &str) -> Vec<String> {
        let Some(store) = &self.store else {
            return Vec::new();
        };
        StorePath::parse(path)
            .ok()
            .and_then(|sp| store.path_info(&sp).ok())
            .map(|info| info.references.iter().map(|r| r.to_absolute()).collect())
            .unwrap_or_default()
    }
}
