//! The way from a package set to one of its values: attributes selected and calls made
//! (`stdenv.mkDerivation { ... }`, `hello.overrideAttrs (old: ...)`), and the Nix code that
//! walks it.
//!
//! A call's argument is Nix code written by makes' evaluator. It refers to packages of any
//! set as `(__makesSets."<identity>")...` and to project files as `(./. + "/file")`, so that the
//! same call is the same text on every machine (the lock file keys packages by it); Nix runs
//! in the project directory with `__makesSets` bound.

use super::source::nix_string;
use serde::{Deserialize, Serialize};

/// One step from a package set towards a value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Step {
    /// `.name`
    Attr(String),
    /// A call, its argument as Nix code.
    Call { call: String },
}

impl Step {
    pub fn attr(name: impl Into<String>) -> Step {
        Step::Attr(name.into())
    }

    pub fn as_attr(&self) -> Option<&str> {
        match self {
            Step::Attr(name) => Some(name),
            Step::Call { .. } => None,
        }
    }
}

/// The name under which call arguments find every package set of the evaluation.
pub const SETS_VARIABLE: &str = "__makesSets";

/// How people write `steps`: `stdenv.mkDerivation (…)`, `hello.overrideAttrs (…)`.
pub fn display_steps(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Attr(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Step::Call { .. } => out.push_str(" (…)"),
        }
    }
    out
}

/// The attribute path of `steps` when they make no call.
pub fn plain_attr_path(steps: &[Step]) -> Option<Vec<String>> {
    steps
        .iter()
        .map(|s| s.as_attr().map(str::to_owned))
        .collect()
}

/// Nix code for the value `steps` lead to from `base` (an expression), failing as Nix fails
/// when an attribute is missing.
pub fn value_code(base: &str, steps: &[Step]) -> String {
    let mut code = format!("({base})");
    for step in steps {
        code = match step {
            Step::Attr(name) => format!("({code}.{})", nix_string(name)),
            Step::Call { call } => format!("({code} ({call}))"),
        };
    }
    code
}

/// Nix code for `{ found; value; }`: whether every attribute of `steps` exists, and the
/// value (`null` when one does not). Calls are made on what was found.
pub fn lookup_code(base: &str, steps: &[Step]) -> String {
    let mut code = format!("{{ found = true; value = ({base}); }}");
    for step in steps {
        code = match step {
            Step::Attr(name) => format!("(__makesSelect {code} {})", nix_string(name)),
            Step::Call { call } => format!("(__makesCall {code} ({call}))"),
        };
    }
    format!(
        "(let __makesSelect = acc: n: if acc.found && builtins.isAttrs acc.value && builtins.hasAttr n acc.value then {{ found = true; value = builtins.getAttr n acc.value; }} else {{ found = false; value = null; }}; __makesCall = acc: arg: if acc.found then {{ found = true; value = acc.value arg; }} else acc; in {code})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_nix_and_as_json() {
        let steps = vec![
            Step::attr("stdenv"),
            Step::attr("mkDerivation"),
            Step::Call {
                call: "{ name = \"x\"; }".into(),
            },
        ];
        assert_eq!(display_steps(&steps), "stdenv.mkDerivation (…)");
        assert_eq!(
            value_code("pkgs", &steps),
            "((((pkgs).\"stdenv\").\"mkDerivation\") ({ name = \"x\"; }))"
        );
        let json = serde_json::to_string(&steps).expect("json");
        assert_eq!(
            json,
            r#"["stdenv","mkDerivation",{"call":"{ name = \"x\"; }"}]"#
        );
        assert_eq!(
            serde_json::from_str::<Vec<Step>>(&json).expect("read"),
            steps
        );
        assert_eq!(plain_attr_path(&steps), None);
        assert_eq!(
            plain_attr_path(&steps[..2]),
            Some(vec!["stdenv".to_owned(), "mkDerivation".to_owned()])
        );
    }
}
