//! Backend "nix": the installed Nix evaluates the package set, builds (or substitutes, as its
//! own configuration says) the packages a job uses in one batched `nix-build`, and reports
//! their closures. makes reads Nix's store and never writes it itself.

use super::description::Description;
use super::lock::LockedPathInfo;
use super::source::{nix_string, PackageSetSource, SetOrigin};
use super::steps::{lookup_code, value_code, Step, SETS_VARIABLE};
use crate::error::StoreError;
use base64::Engine;
use makes_store_path::StorePath;
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

/// The Nix code describing `r` (`{ found; value; }`, see [`lookup_code`]).
const DESCRIBE: &str = r#"
let
  v = r.value;
in
  if !r.found then { kind = "missing"; }
  else if builtins.isAttrs v && (v.type or null) == "derivation" then {
    kind = "derivation";
    name = v.name;
    outputName = v.outputName or "out";
    outputs = builtins.listToAttrs (map (o: { name = o; value = (builtins.getAttr o v).outPath; }) (v.outputs or [ "out" ]));
    attributes = builtins.attrNames v;
  }
  else if builtins.isFunction v then { kind = "function"; functor = false; }
  else if builtins.isAttrs v && v ? __functor then { kind = "function"; functor = true; attributes = builtins.attrNames v; }
  else if builtins.isAttrs v then { kind = "set"; names = builtins.attrNames v; }
  else if builtins.isPath v then { kind = "unsupported"; type = "a path"; }
  else if builtins.isString v && builtins.getContext v != { } then { kind = "unsupported"; type = "a string that refers to store paths"; }
  else { kind = "value"; value = v; }
"#;

/// What Nix needs to evaluate steps of a set: the Nix code binding every package set of the
/// evaluation by identity ([`SETS_VARIABLE`]), and the directory call arguments' relative
/// paths are relative to (the project's).
#[derive(Debug, Clone)]
pub struct NixScope {
    pub sets: BTreeMap<String, String>,
    pub dir: std::path::PathBuf,
}

impl NixScope {
    /// `let __makesSets = { ... }; in <body with the set `id` as `pkgs`>`.
    fn wrap(&self, id: &str, body: &str) -> String {
        let sets: String = self
            .sets
            .iter()
            .map(|(k, v)| format!("{} = {v}; ", nix_string(k)))
            .collect();
        format!(
            "let {SETS_VARIABLE} = {{ {sets}}}; pkgs = {SETS_VARIABLE}.{}; in {body}",
            nix_string(id)
        )
    }
}

impl NixBackend {
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        for entry in &self.search_path {
            cmd.arg("-I").arg(entry);
        }
        cmd
    }

    /// What `steps` of the set `id` lead to: from the cache when the set is pinned, no call
    /// is made, and it was asked before; else from Nix.
    pub fn describe(
        &self,
        scope: &NixScope,
        id: &str,
        set: &PackageSetSource,
        steps: &[Step],
    ) -> Result<Description, StoreError> {
        let cached = match (&self.description_cache, &set.origin) {
            (Some(dir), SetOrigin::Github { .. }) if steps.iter().all(cannot_change) => {
                Some(cache_file(dir, set, steps))
            }
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
        let described = self.describe_with_nix(scope, id, steps)?;
        if let Some(file) = &cached {
            // A cache: failing to write it costs time next run, nothing else.
            let _ = write_atomically(file, &serde_json::to_vec(&described).unwrap_or_default());
        }
        Ok(described)
    }

    fn describe_with_nix(
        &self,
        scope: &NixScope,
        id: &str,
        steps: &[Step],
    ) -> Result<Description, StoreError> {
        let body = format!("let r = {}; in {DESCRIBE}", lookup_code("pkgs", steps));
        let expr = scope.wrap(id, &body);
        let out = run_on(
            self.command("nix-instantiate")
                .current_dir(&scope.dir)
                .args(["--eval", "--strict", "--json", "-"]),
            &expr,
        )?;
        serde_json::from_slice(&out).map_err(|e| StoreError::Nix {
            message: format!("nix-instantiate described a package in a way makes cannot read: {e}"),
        })
    }

    /// The attribute names of the set `id` itself (what `pkgs ? name` asks), from the cache
    /// when the set is pinned and was asked before.
    pub fn attribute_names(
        &self,
        scope: &NixScope,
        id: &str,
        set: &PackageSetSource,
    ) -> Result<Vec<String>, StoreError> {
        let cached = match (&self.description_cache, &set.origin) {
            (Some(dir), SetOrigin::Github { .. }) => Some(cache_file(
                dir,
                set,
                &[Step::Call {
                    call: "attrNames".into(),
                }],
            )),
            _ => None,
        };
        if let Some(file) = &cached {
            if let Some(names) = std::fs::read(file)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                return Ok(names);
            }
        }
        let expr = scope.wrap(id, "builtins.attrNames pkgs");
        let out = run_on(
            self.command("nix-instantiate")
                .current_dir(&scope.dir)
                .args(["--eval", "--strict", "--json", "-"]),
            &expr,
        )?;
        let names: Vec<String> = serde_json::from_slice(&out).map_err(|e| StoreError::Nix {
            message: format!(
                "nix-instantiate listed a package set in a way makes cannot read: {e}"
            ),
        })?;
        if let Some(file) = &cached {
            // A cache, as for descriptions.
            let _ = write_atomically(file, &serde_json::to_vec(&names).unwrap_or_default());
        }
        Ok(names)
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
            nix_string(&format!(
                "https://github.com/nixos/nixpkgs/archive/{rev}.tar.gz"
            )),
            nix_string(sha256)
        );
        let out = run(self
            .command("nix-instantiate")
            .args(["--eval", "--json", "--expr", &expr]))?;
        let path: String = serde_json::from_slice(&out).map_err(|e| StoreError::Nix {
            message: format!("cannot read the source path Nix printed: {e}"),
        })?;
        Ok(path.into())
    }

    /// Builds the wanted outputs (`(steps, output name)`) of the set `id` in one call;
    /// returns their store paths, in order.
    pub fn build(
        &self,
        scope: &NixScope,
        id: &str,
        wanted: &[(Vec<Step>, String)],
    ) -> Result<Vec<StorePath>, StoreError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let items: String = wanted
            .iter()
            .map(|(steps, output)| {
                format!(
                    "(builtins.getAttr {} {}) ",
                    nix_string(output),
                    value_code("pkgs", steps)
                )
            })
            .collect();
        let expr = scope.wrap(id, &format!("[ {items}]"));
        let out = run_on(
            self.command("nix-build")
                .current_dir(&scope.dir)
                .args(["--no-out-link", "-"]),
            &expr,
        )?;
        String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| StorePath::parse(l.trim()).map_err(StoreError::from))
            .collect()
    }

    /// Whether Nix's store has `path` valid: registered, built or added completely. A path
    /// Nix is still building (its directory already there) is not.
    pub fn is_valid(&self, path: &StorePath) -> bool {
        Command::new("nix-store")
            .arg("--check-validity")
            .arg(path.to_absolute())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The closure of `paths` (valid in Nix's store) with NAR hash, size and references.
    pub fn closure_infos(
        &self,
        paths: &[StorePath],
    ) -> Result<BTreeMap<StorePath, LockedPathInfo>, StoreError> {
        if paths.is_empty() {
            return Ok(BTreeMap::new());
        }
        let out = run(Command::new("nix")
            .args(["--extra-experimental-features", "nix-command"])
            .args(["path-info", "--json", "--recursive"])
            .args(paths.iter().map(StorePath::to_absolute)))?;
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

/// Whether what a step selects or calls (in a pinned set) is the same on every run: an
/// attribute, or a call whose code refers to no file and to no set but pinned ones.
fn cannot_change(step: &Step) -> bool {
    match step {
        Step::Attr(_) => true,
        Step::Call { call } => {
            !call.contains("./.")
                && !call.contains("(/. +")
                && !call.contains(&format!("{SETS_VARIABLE}.\"path:"))
        }
    }
}

/// The cache file of one attribute of a pinned set: named by a hash of the set's Nix
/// expression (which holds the pin) and the attribute path.
fn cache_file(dir: &std::path::Path, set: &PackageSetSource, steps: &[Step]) -> std::path::PathBuf {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(b"makes-package-description-v3\0");
    hasher.update(set.nix_expression().as_bytes());
    hasher.update(b"\0");
    hasher.update(serde_json::to_vec(steps).unwrap_or_default());
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
    path: StorePath,
    nar_hash: String,
    nar_size: u64,
    references: Vec<StorePath>,
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

/// Runs a Nix command reading the Nix code `expr` from its standard input (`-`: relative
/// paths are relative to its directory; code of any length, where a command line has a
/// limit).
fn run_on(cmd: &mut Command, expr: &str) -> Result<Vec<u8>, StoreError> {
    use std::io::Write;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let cannot = |e: std::io::Error| StoreError::Nix {
        message: format!("cannot run {program}: {e}"),
    };
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(cannot)?;
    // Written from another thread, so that Nix's output never blocks it.
    let writer = child.stdin.take().map(|mut stdin| {
        let expr = expr.to_owned();
        std::thread::spawn(move || stdin.write_all(expr.as_bytes()))
    });
    let out = child.wait_with_output().map_err(cannot)?;
    if let Some(Ok(Err(e))) = writer.map(|w| w.join()) {
        if out.status.success() {
            return Err(cannot(e));
        }
    }
    finish(&program, out)
}

/// Runs a Nix command; its stdout, or its error message (the last lines of stderr).
fn run(cmd: &mut Command) -> Result<Vec<u8>, StoreError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| StoreError::Nix {
        message: format!("cannot run {program}: {e}"),
    })?;
    finish(&program, out)
}

/// A finished Nix command's stdout, or its error message (the last lines of stderr).
fn finish(program: &str, out: std::process::Output) -> Result<Vec<u8>, StoreError> {
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
        let path = vec![Step::attr("hello")];
        let known = Description::Derivation {
            name: "hello-2.12".into(),
            output_name: "out".into(),
            outputs: [(
                "out".into(),
                StorePath::parse("/nix/store/p9lyihcj2i0crskix4310fgj57yhgs5c-hello-2.12")
                    .expect("a store path"),
            )]
            .into(),
            attributes: None,
        };
        let file = cache_file(dir.path(), &pinned, &path);
        write_atomically(&file, &serde_json::to_vec(&known).expect("json")).expect("write");
        let nix = NixBackend {
            search_path: Vec::new(),
            description_cache: Some(dir.path().to_path_buf()),
        };
        // No Nix call (this revision cannot be fetched): the cached description answers.
        let scope = NixScope {
            sets: BTreeMap::new(),
            dir: dir.path().to_path_buf(),
        };
        assert_eq!(
            nix.describe(&scope, "pinned", &pinned, &path)
                .expect("cached"),
            known
        );
        // Another pin is another file.
        let other = PackageSetSource {
            allow_unfree: false,
            ..pinned
        };
        assert_ne!(cache_file(dir.path(), &other, &path), file);
    }

    #[test]
    fn valid_is_what_nix_registered_not_what_is_on_disk() {
        if !nix_available() {
            eprintln!("note: skipping: Nix is not installed");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("makes-validity-probe");
        std::fs::write(&file, "probe\n").expect("write");
        let out = Command::new("nix-store")
            .arg("--add")
            .arg(&file)
            .output()
            .expect("nix-store runs");
        assert!(out.status.success(), "{out:?}");
        let added = StorePath::parse(String::from_utf8_lossy(&out.stdout).trim()).expect("path");
        let nix = NixBackend::default();
        assert!(nix.is_valid(&added));
        // A directory Nix has not registered (as while a build writes it) is not valid.
        let unregistered = StorePath::parse(&format!(
            "/nix/store/{}-makes-unregistered-{}",
            "0".repeat(32),
            std::process::id()
        ))
        .expect("path");
        assert!(!nix.is_valid(&unregistered));
        let on_disk = std::path::PathBuf::from(unregistered.to_absolute());
        if std::fs::create_dir(&on_disk).is_ok() {
            let valid = nix.is_valid(&unregistered);
            let _ = std::fs::remove_dir(&on_disk);
            assert!(!valid, "a directory alone is not a valid path");
        }
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
        let scope = NixScope {
            sets: [("set".to_owned(), set.nix_expression())].into(),
            dir: std::env::temp_dir(),
        };
        let renamed = nix
            .describe(&scope, "set", &set, &[Step::attr("renamed")])
            .expect("described");
        assert!(
            matches!(&renamed, Description::Derivation { name, .. } if name == "greeting-1.0"),
            "{renamed:?}"
        );
        assert_eq!(
            nix.describe(&scope, "set", &set, &[Step::attr("version")])
                .expect("described"),
            Description::Value {
                value: serde_json::json!("overlaid")
            }
        );
    }

    #[test]
    fn calls_on_files_or_checkouts_are_asked_again() {
        let call = |code: &str| Step::Call { call: code.into() };
        assert!(cannot_change(&Step::attr("hello")));
        assert!(cannot_change(&call("{ name = \"x\"; }")));
        assert!(cannot_change(&call(
            "(__makesSets.\"github:nixos/nixpkgs/abc?sha256=x\").\"hello\""
        )));
        assert!(!cannot_change(&call("{ src = (./. + \"/src\"); }")));
        assert!(!cannot_change(&call("{ src = (/. + \"/etc\"); }")));
        assert!(!cannot_change(&call(
            "(__makesSets.\"path:./nixpkgs\").\"hello\""
        )));
    }

    #[test]
    fn quoting_keeps_attribute_names_intact() {
        assert_eq!(super::super::source::nix_string("a.b"), "\"a.b\"");
    }
}
