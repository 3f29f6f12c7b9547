//! What a package backend says of one attribute of a package set.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Description {
    /// A package: its name, the output it stands for, and its outputs' store paths.
    #[serde(rename_all = "camelCase")]
    Derivation {
        name: String,
        output_name: String,
        outputs: BTreeMap<String, makes_store_path::StorePath>,
        /// Its attribute names (`override`, `overrideAttrs`, `passthru` ones), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attributes: Option<Vec<String>>,
    },
    /// A nested set of packages (`python3Packages`), by its attribute names.
    Set { names: Vec<String> },
    /// Plain data (a string without context, a number, a list of such, ...).
    Value { value: serde_json::Value },
    /// A function of the package set (`callPackage`, `fetchurl`, a set with `__functor`):
    /// calling it is one more step the backend resolves.
    Function {
        /// Whether Nix has it as a set with `__functor` (`makeOverridable` results such as
        /// `fetchurl`), which `builtins.isFunction` calls no function, rather than a lambda.
        #[serde(default)]
        functor: bool,
        /// A functor set's attribute names (`override`, ...), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attributes: Option<Vec<String>>,
    },
    /// No such attribute.
    Missing,
    /// Something makes cannot take from Nix (a path, a string that refers to store paths).
    Unsupported {
        #[serde(rename = "type")]
        what: String,
    },
}
