//! The derivations one evaluation instantiated, kept in memory rather than written to
//! `/nix/store` as Nix writes them: their `.drv` texts (for the store to build them) and
//! their memoised `hashDerivationModulo` (Nix's `drvHashes`), which derivations depending on
//! them need for their own output paths.

use crate::drv::Derivation;
use crate::error::DerivationError;
use crate::hash::hex;
use sha2::Digest as _;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// Each output's hash modulo: what its path (and, for input-addressed derivations depending
/// on it, their own hash) is computed from.
pub type OutputHashes = BTreeMap<String, [u8; 32]>;

/// The references of a plain store path (a `toFile` text refers to paths, a copied source
/// to none), for the closure of a derivation passed with all its outputs.
pub type SourceReferences = Rc<dyn Fn(&str) -> Vec<String>>;

/// Derivations by `.drv` path. Cloning shares the registry.
#[derive(Clone)]
pub struct Derivations {
    inner: Rc<RefCell<Inner>>,
    source_references: SourceReferences,
}

#[derive(Default)]
struct Inner {
    by_path: HashMap<String, Rc<Derivation>>,
    modulo: HashMap<String, OutputHashes>,
}

impl Default for Derivations {
    fn default() -> Self {
        Derivations::new(Rc::new(|_| Vec::new()))
    }
}

impl Derivations {
    pub fn new(source_references: SourceReferences) -> Self {
        Derivations {
            inner: Rc::default(),
            source_references,
        }
    }

    pub fn insert(&self, drv_path: String, drv: Rc<Derivation>) {
        self.inner.borrow_mut().by_path.insert(drv_path, drv);
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
                pending.extend((self.source_references)(&path));
            }
        }
        Ok(seen)
    }
}
