//! A derivation as Nix stores it, and its ATerm serialisation (`Derive(...)`, the text of a
//! `.drv` file), byte for byte as Nix 2.8's `Derivation::unparse` (`src/libstore/derivations.cc`)
//! writes it.

use std::collections::{BTreeMap, BTreeSet};

/// One output: its path (empty while the derivation's hash is computed, or for floating
/// content-addressed outputs), and for fixed outputs the method and algorithm (`r:sha256`) and
/// the expected hash in base16.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrvOutput {
    pub path: String,
    pub hash_algo: String,
    pub hash: String,
}

/// The contents of a `.drv` file. Strings that come from Nix strings are bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derivation {
    pub name: String,
    pub outputs: BTreeMap<String, DrvOutput>,
    /// Input derivations (`.drv` paths) and the outputs used of each.
    pub input_drvs: BTreeMap<String, BTreeSet<String>>,
    pub input_srcs: BTreeSet<String>,
    pub platform: Vec<u8>,
    pub builder: Vec<u8>,
    pub args: Vec<Vec<u8>>,
    pub env: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Derivation {
    /// Whether this is a fixed-output derivation (one output with a hash).
    pub fn is_fixed_output(&self) -> bool {
        self.outputs.len() == 1 && self.outputs.values().all(|o| !o.hash.is_empty())
    }

    /// The `.drv` text. `mask_outputs` empties output paths and the environment variables of
    /// the outputs (the form hashed to compute them); `input_drvs` replaces the input
    /// derivations (`hashDerivationModulo` puts the inputs' hashes there).
    pub fn unparse(
        &self,
        mask_outputs: bool,
        input_drvs: Option<&BTreeMap<String, BTreeSet<String>>>,
    ) -> Vec<u8> {
        let mut s = Vec::with_capacity(1024);
        s.extend_from_slice(b"Derive([");
        for (i, (name, output)) in self.outputs.iter().enumerate() {
            if i > 0 {
                s.push(b',');
            }
            s.push(b'(');
            unquoted(&mut s, name.as_bytes());
            s.push(b',');
            let path = if mask_outputs { "" } else { &output.path };
            unquoted(&mut s, path.as_bytes());
            s.push(b',');
            unquoted(&mut s, output.hash_algo.as_bytes());
            s.push(b',');
            unquoted(&mut s, output.hash.as_bytes());
            s.push(b')');
        }
        s.extend_from_slice(b"],[");
        for (i, (drv, outputs)) in input_drvs.unwrap_or(&self.input_drvs).iter().enumerate() {
            if i > 0 {
                s.push(b',');
            }
            s.push(b'(');
            unquoted(&mut s, drv.as_bytes());
            s.push(b',');
            unquoted_list(&mut s, outputs.iter().map(|o| o.as_bytes()));
            s.push(b')');
        }
        s.extend_from_slice(b"],");
        unquoted_list(&mut s, self.input_srcs.iter().map(|p| p.as_bytes()));
        s.push(b',');
        unquoted(&mut s, &self.platform);
        s.push(b',');
        quoted(&mut s, &self.builder);
        s.push(b',');
        s.push(b'[');
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                s.push(b',');
            }
            quoted(&mut s, arg);
        }
        s.extend_from_slice(b"],[");
        for (i, (key, value)) in self.env.iter().enumerate() {
            if i > 0 {
                s.push(b',');
            }
            s.push(b'(');
            quoted(&mut s, key);
            s.push(b',');
            let masked = mask_outputs
                && std::str::from_utf8(key).is_ok_and(|k| self.outputs.contains_key(k));
            quoted(&mut s, if masked { b"" } else { value });
            s.push(b')');
        }
        s.extend_from_slice(b"])");
        s
    }

    /// The derivation as JSON, with the fields of `nix show-derivation` (`kind` and
    /// `drvPath` added); bytes that are not UTF-8 show as U+FFFD.
    pub fn to_json(&self, drv_path: &str) -> serde_json::Value {
        let text = |b: &[u8]| serde_json::Value::String(String::from_utf8_lossy(b).into_owned());
        let outputs: serde_json::Map<String, serde_json::Value> = self
            .outputs
            .iter()
            .map(|(name, o)| {
                let mut entry = serde_json::Map::new();
                entry.insert("path".into(), o.path.clone().into());
                if !o.hash.is_empty() {
                    entry.insert("hashAlgo".into(), o.hash_algo.clone().into());
                    entry.insert("hash".into(), o.hash.clone().into());
                }
                (name.clone(), entry.into())
            })
            .collect();
        serde_json::json!({
            "kind": "derivation",
            "drvPath": drv_path,
            "name": self.name,
            "outputs": outputs,
            "inputSrcs": self.input_srcs,
            "inputDrvs": self.input_drvs,
            "system": text(&self.platform),
            "builder": text(&self.builder),
            "args": self.args.iter().map(|a| text(a)).collect::<Vec<_>>(),
            "env": self
                .env
                .iter()
                .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), text(v)))
                .collect::<serde_json::Map<_, _>>(),
        })
    }

    /// The store paths the `.drv` file refers to: its sources and input derivations.
    pub fn references(&self) -> BTreeSet<String> {
        let mut refs = self.input_srcs.clone();
        refs.extend(self.input_drvs.keys().cloned());
        refs
    }
}

/// Nix's `printString`: quotes, escaping `"`, `\`, newline, carriage return and tab only.
fn quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

/// Nix's `printUnquotedString`: quotes around text Nix knows needs no escape.
fn unquoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(s);
    out.push(b'"');
}

fn unquoted_list<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a [u8]>) {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        unquoted(out, item);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unparse_escapes_as_nix_does() {
        let mut drv = Derivation {
            name: "x".into(),
            platform: b"x86_64-linux".to_vec(),
            builder: b"/bin/sh".to_vec(),
            args: vec![b"-c".to_vec(), b"a\"b\\c\nd\te\rf\x01".to_vec()],
            ..Derivation::default()
        };
        drv.outputs.insert(
            "out".into(),
            DrvOutput {
                path: "/nix/store/p-x".into(),
                hash_algo: String::new(),
                hash: String::new(),
            },
        );
        drv.env.insert(b"out".to_vec(), b"/nix/store/p-x".to_vec());
        let text = drv.unparse(false, None);
        assert_eq!(
            text,
            b"Derive([(\"out\",\"/nix/store/p-x\",\"\",\"\")],[],[],\"x86_64-linux\",\"/bin/sh\",[\"-c\",\"a\\\"b\\\\c\\nd\\te\\rf\x01\"],[(\"out\",\"/nix/store/p-x\")])"
        );
        let masked = drv.unparse(true, None);
        assert!(masked.starts_with(b"Derive([(\"out\",\"\",\"\",\"\")]"));
        assert!(masked.ends_with(b"[(\"out\",\"\")])"));
    }
}
