//! Backend "nix": the installed Nix evaluates the package set, builds (or substitutes, as its
//! own configuration says) the packages a job uses in one batched `nix-build`, and reports
//! their closures. makes reads Nix's store and never writes it itself.

use super::description::Description;
use super::lock::LockedPathInfo;
use super::source::{PackageSetSource, SetOrigin};
use crate::error::StoreError;
use base64::Engine;
use std::collections::BTreeMap;
use std::process::Command;

/// How makes runs Nix: the `-I` search path entries to pass on (`NIX_PATH` is inherited), and
/// where descriptions of pinned package sets are kept between runs.
#[derive(Debug, Clone, Default)]
pub struct NixBackend {
    pub search_path: Vec<String>,
    /// A directory for descriptions of packages of sets that cannot change (`fetchNixpkgs`
    /// with its sha256): asking Nix evaluates nixpkgs, seconds per package.
    pub description_cache: Option<std::path::PathBuf>,
}

/// Whether Nix is on `PATH` (the default backend is "nix" then).
pub fn nix_available() -> bool {
    Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The Nix function describing one attribute path (given as JSON) of the package set.
const DESCRIBE: &str = r#"
let
  step = acc: n:
    if acc.found && builtins.isAttrs acc.value && builtins.hasAttr n acc.value
    then { found = true; value = builtins.getAttr n acc.value; }
    else { found = false; value = null; };
  r = builtins.foldl' step { found = true; value = pkgs; } (builtins.fromJSON attrPath);
  v = r.value;
in
  if !r.found then { kind = "missing"; }
  else if builtins.isAttrs v && (v.type or null) == "derivation" then {
    kind = "derivation";
    name = v.name;
    outputName = v.outputName or "out";
    outputs = builtins.listToAttrs (map (o: { name = o; value = (builtins.getAttr o v).outPath; }) (v.outputs or [ "out" ]));
  }
  else if builtins.isAttrs v then { kind = "set"; names = builtins.attrNames v; }
  else if builtins.isFunction v then { kind = "function"; }
  else if builtins.isPath v then { kind = "unsupported"; type = "a path"; }
  else if builtins.isString v && builtins.getContext v != { } then { kind = "unsupported"; type = "a string that refers to store paths"; }
  else { kind = "value"; value = v; }
"#;

/// The Nix function selecting the wanted outputs (JSON: `[[attrPath, output], ...]`).
const SELECT: &str = r#"
map (w: builtins.getAttr (builtins.elemAt w 1)
  (builtins.foldl' (s: n: builtins.getAttr n s) pkgs (builtins.elemAt w 0)))
  (builtins.fromJSON wanted)
"#;

impl NixBackend {
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        for entry in &self.search_path {
            cmd.arg("-I").arg(entry);
        }
        cmd
    }

    /// What `attr_path` of `set` is: from the cache when the set is pinned and was asked
    /// before, else from Nix.
    pub fn describe(
        &self,
        set: &PackageSetSource,
        attr_path: &[String],
    ) -> Result<Description, StoreError> {
        let cached = match (&self.description_cache, &set.origin) {
            (Some(dir), SetOrigin::Github { .. }) => Some(cache_file(dir, set, attr_path)),
            _ => None,
        };
        if let Some(file) = &cached {
            if let Some(d) = std::fs::read(file)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                return Ok(d);
            }
        }
        let described = self.describe_with_nix(set, attr_path)?;
        if let Some(file) = &cached {
            // A cache: failing to write it costs time next run, nothing else.
            let _ = write_atomically(file, &serde_json::to_vec(&described).unwrap_or_default());
        }
        Ok(described)
    }

    fn describe_with_nix(
        &self,
        set: &PackageSetSource,
        attr_path: &[String],
    ) -> Result<Description, StoreError> {
        let expr = format!(
            "{{ attrPath }}: let pkgs = {}; in {DESCRIBE}",
            set.nix_expression()
        );
        let path_json = serde_json::to_string(attr_path).unwrap_or_default();
        let out = run(self
            .command("nix-instantiate")
            .args(["--eval", "--strict", "--json", "--expr", &expr])
            .args(["--argstr", "attrPath", &path_json]))?;
        serde_json::from_slice(&out).map_err(|e| StoreError::Nix {
            message: format!("nix-instantiate described a package in a way makes cannot read: {e}"),
        })
    }

    /// Where Nix fetched the source of a pinned set (`builtins.fetchTarball`).
    pub fn fetch_source(&self, set: &PackageSetSource) -> Result<std::path::PathBuf, StoreError> {
        let SetOrigin::Github { rev, sha256 } = &set.origin else {
            return Err(StoreError::Nix {
                message: "only a fetchNixpkgs set is fetched".into(),
            });
        };
        let expr = format!(
            "builtins.toString (builtins.fetchTarball {{ url = {}; sha256 = {}; }})",
            super::source::nix_string(&format!(
                "https://github.com/nixos/nixpkgs/archive/{rev}.tar.gz"
            )),
            super::source::nix_string(sha256)
        );
        let out = run(self
            .command("nix-instantiate")
            .args(["--eval", "--json", "--expr", &expr]))?;
        let path: String = serde_json::from_slice(&out).map_err(|e| StoreError::Nix {
            message: format!("cannot read the source path Nix printed: {e}"),
        })?;
        Ok(path.into())
    }

    /// Builds the wanted outputs (`(attribute path, output name)`) of `set` in one call;
    /// returns their store paths, in order.
    pub fn build(
        &self,
        set: &PackageSetSource,
        wanted: &[(Vec<String>, String)],
    ) -> Result<Vec<String>, StoreError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let expr = format!(
            "{{ wanted }}: let pkgs = {}; in {SELECT}",
            set.nix_expression()
        );
        let wanted_json = serde_json::to_string(wanted).unwrap_or_default();
        let out = run(self
            .command("nix-build")
            .args(["--no-out-link", "--expr", &expr])
            .args(["--argstr", "wanted", &wanted_json]))?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_owned())
            .collect())
    }

    /// The closure of `paths` (valid in Nix's store) with NAR hash, size and references.
    pub fn closure_infos(
        &self,
        paths: &[String],
    ) -> Result<BTreeMap<String, LockedPathInfo>, StoreError> {
        if paths.is_empty() {
            return Ok(BTreeMap::new());
        }
        let out = run(Command::new("nix")
            .args(["--extra-experimental-features", "nix-command"])
            .args(["path-info", "--json", "--recursive"])
            .args(paths))?;
        let infos: Vec<NixPathInfo> =
            serde_json::from_slice(&out).map_err(|e| StoreError::Nix {
                message: format!("cannot read what `nix path-info` printed: {e}"),
            })?;
        infos
            .into_iter()
            .map(|info| {
                let nar_hash = nix_base32_hash(&info.nar_hash).ok_or_else(|| StoreError::Nix {
                    message: format!("Nix printed an unknown NAR hash for {}", info.path),
                })?;
                let mut references = info.references;
                references.sort();
                Ok((
                    info.path,
                    LockedPathInfo {
                        nar_hash,
                        nar_size: info.nar_size,
                        references,
                    },
                ))
            })
            .collect()
    }
}

/// The cache file of one attribute of a pinned set: named by a hash of the set's Nix
/// expression (which holds the pin) and the attribute path.
fn cache_file(
    dir: &std::path::Path,
    set: &PackageSetSource,
    attr_path: &[String],
) -> std::path::PathBuf {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(b"makes-package-description-v1\0");
    hasher.update(set.nix_expression().as_bytes());
    hasher.update(b"\0");
    hasher.update(serde_json::to_vec(attr_path).unwrap_or_default());
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{hex}.json"))
}

fn write_atomically(file: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct NixPathInfo {
    path: String,
    nar_hash: String,
    nar_size: u64,
    references: Vec<String>,
}

/// `sha256:<nix-base32>` from the forms Nix prints (SRI `sha256-<base64>`, or already
/// `sha256:<nix-base32>`).
fn nix_base32_hash(hash: &str) -> Option<String> {
    if let Some(b64) = hash.strip_prefix("sha256-") {
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        return (bytes.len() == 32).then(|| format!("sha256:{}", crate::nixbase32::encode(&bytes)));
    }
    hash.strip_prefix("sha256:").map(|_| hash.to_owned())
}

/// Runs a Nix command; its stdout, or its error message (the last lines of stderr).
fn run(cmd: &mut Command) -> Result<Vec<u8>, StoreError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| StoreError::Nix {
        message: format!("cannot run {program}: {e}"),
    })?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n");
    Err(StoreError::Nix {
        message: format!("{program} failed ({}):\n{tail}", out.status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sri_hashes_become_nix_base32() {
        // The same hash as `nix path-info --json` and `nix-store --query --hash` print it.
        assert_eq!(
            nix_base32_hash("sha256-EFUdrtf6Rn0LWIJufrmg8q99aT3jGfLvd1//zaJEufY=").as_deref(),
            Some("sha256:1xmr8jicvzszfzpz46g37mlpvbzjl2wpwvl2b05psipssyp1sm8h")
        );
        assert_eq!(nix_base32_hash("md5-abc"), None);
    }

    #[test]
    fn pinned_sets_are_described_from_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pinned = PackageSetSource {
            origin: SetOrigin::Github {
                rev: "0123".into(),
                sha256: "0abc".into(),
            },
            allow_unfree: true,
            overlays: Vec::new(),
        };
        let path = vec!["hello".to_owned()];
        let known = Description::Derivation {
            name: "hello-2.12".into(),
            output_name: "out".into(),
            outputs: [("out".into(), "/nix/store/x-hello-2.12".into())].into(),
        };
        let file = cache_file(dir.path(), &pinned, &path);
        write_atomically(&file, &serde_json::to_vec(&known).expect("json")).expect("write");
        let nix = NixBackend {
            search_path: Vec::new(),
            description_cache: Some(dir.path().to_path_buf()),
        };
        // No Nix call (this revision cannot be fetched): the cached description answers.
        assert_eq!(nix.describe(&pinned, &path).expect("cached"), known);
        // Another pin is another file.
        let other = PackageSetSource {
            allow_unfree: false,
            ..pinned
        };
        assert_ne!(cache_file(dir.path(), &other, &path), file);
    }

    #[test]
    fn overlays_written_in_makes_nix_are_applied_by_nix() {
        if !nix_available() {
            eprintln!("note: skipping: Nix is not installed");
            return;
        }
        let stand_in = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/nix-packages/stand-in-nixpkgs");
        let set = PackageSetSource {
            origin: SetOrigin::Checkout(stand_in),
            allow_unfree: true,
            overlays: vec![super::super::Overlay::Source(
                "self: super: { renamed = super.greeting; version = \"overlaid\"; }".into(),
            )],
        };
        let nix = NixBackend::default();
        let renamed = nix.describe(&set, &["renamed".into()]).expect("described");
        assert!(
            matches!(&renamed, Description::Derivation { name, .. } if name == "greeting-1.0"),
            "{renamed:?}"
        );
        assert_eq!(
            nix.describe(&set, &["version".into()]).expect("described"),
            Description::Value {
                value: serde_json::json!("overlaid")
            }
        );
    }

    #[test]
    fn quoting_keeps_attribute_names_intact() {
        assert_eq!(super::super::source::nix_string("a.b"), "\"a.b\"");
    }
}
