//! Building instantiated derivations with makes' store and sandbox: input derivations first,
//! then the derivation itself from its `.drv` (arguments, environment, `passAsFile`,
//! `__structuredAttrs`' `.attrs.json`, fixed outputs checked against their hash), at the
//! output paths Nix gives them.

use crate::drv::Derivation;
use crate::error::DerivationError;
use crate::fetch::Fetchers;
use crate::hash::HashAlgo;
use crate::registry::Derivations;
use crate::structured_attrs;
use makes_store::{
    build_nix_derivation, NixBuild, OutputCheck, OutputCheckError, PluginError, StorePath,
};
use sha2::Digest as _;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

/// Builds the derivations `drv_paths` (and what they need) and returns the paths of all
/// their outputs, in order.
pub fn realise(
    fetchers: &Fetchers,
    registry: &Derivations,
    drv_paths: &[String],
) -> Result<Vec<String>, DerivationError> {
    let mut built = BTreeSet::new();
    let mut out = Vec::new();
    for drv_path in drv_paths {
        realise_one(fetchers, registry, drv_path, &mut built)?;
        let drv = known(registry, drv_path)?;
        out.extend(drv.outputs.values().map(|o| o.path.clone()));
    }
    Ok(out)
}

fn known(
    registry: &Derivations,
    drv_path: &str,
) -> Result<std::rc::Rc<Derivation>, DerivationError> {
    registry
        .get(drv_path)
        .ok_or_else(|| DerivationError::UnknownDerivation {
            path: drv_path.to_owned(),
        })
}

fn store_error(path: &str) -> impl Fn(makes_store::StoreError) -> DerivationError + '_ {
    move |e| DerivationError::Build {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn parse_path(path: &str) -> Result<StorePath, DerivationError> {
    StorePath::parse(path).map_err(|e| store_error(path)(e.into()))
}

fn realise_one(
    fetchers: &Fetchers,
    registry: &Derivations,
    drv_path: &str,
    built: &mut BTreeSet<String>,
) -> Result<(), DerivationError> {
    if built.contains(drv_path) {
        return Ok(());
    }
    let store = &fetchers.store;
    let drv = known(registry, drv_path)?;
    let mut inputs = Vec::new();
    for (input, outputs) in &drv.input_drvs {
        realise_one(fetchers, registry, input, built)?;
        let input_drv = known(registry, input)?;
        for output in outputs {
            let o = input_drv
                .outputs
                .get(output)
                .ok_or_else(|| DerivationError::Malformed {
                    path: input.clone(),
                    reason: format!("it has no output '{output}'"),
                })?;
            inputs.push(parse_path(&o.path)?);
        }
    }
    for src in &drv.input_srcs {
        if registry.get(src).is_some() {
            registry.write_drv_file(src)?;
        }
        inputs.push(parse_path(src)?);
    }
    let outputs = drv
        .outputs
        .iter()
        .map(|(name, o)| Ok((name.clone(), parse_path(&o.path)?)))
        .collect::<Result<Vec<_>, DerivationError>>()?;
    let (env, files) = builder_environment(drv_path, &drv)?;
    let build = NixBuild {
        builder: &drv.builder,
        args: &drv.args,
        env,
        files,
        outputs,
        inputs,
        fixed_output: drv.is_fixed_output(),
    };
    let fixed = drv.outputs.get("out").filter(|_| drv.is_fixed_output());
    let check = |path: &Path| -> Result<(), OutputCheckError> {
        let Some(o) = fixed else { return Ok(()) };
        let (recursive, algo) = match o.hash_algo.strip_prefix("r:") {
            Some(algo) => (true, algo),
            None => (false, o.hash_algo.as_str()),
        };
        let algo = HashAlgo::parse(algo).ok_or_else(|| {
            OutputCheckError::Unchecked(PluginError::new(DerivationError::BadHash {
                message: format!("unknown algorithm '{algo}'"),
            }))
        })?;
        let found = output_hash(path, recursive, algo)
            .map_err(|e| OutputCheckError::Unchecked(PluginError::from_error(e)))?;
        if found == o.hash {
            Ok(())
        } else {
            Err(OutputCheckError::Mismatch {
                found: format!(
                    "{}:{found}, expected {}:{}",
                    algo.name(),
                    algo.name(),
                    o.hash
                ),
            })
        }
    };
    if drv.builder == b"builtin:fetchurl" {
        builtin_fetchurl(fetchers, &drv, &check).map_err(|message| DerivationError::Build {
            path: drv_path.to_owned(),
            message,
        })?;
    } else {
        build_nix_derivation(store, &build, Some(&check)).map_err(store_error(drv_path))?;
    }
    built.insert(drv_path.to_owned());
    Ok(())
}

/// A variable of the builder's environment, as bytes.
type EnvVar = (Vec<u8>, Vec<u8>);
/// A file written into `/build` for the builder: name, contents.
type BuildFile = (String, Vec<u8>);

/// The builder's environment and the files written for it: the derivation's variables, each
/// named in `passAsFile` as a file `/build/.attr-<hash>` and `<name>Path`; with structured
/// attributes, none of them but `.attrs.json` and `.attrs.sh` (the attributes and the output
/// paths) named by `NIX_ATTRS_JSON_FILE` and `NIX_ATTRS_SH_FILE`.
fn builder_environment(
    drv_path: &str,
    drv: &Derivation,
) -> Result<(Vec<EnvVar>, Vec<BuildFile>), DerivationError> {
    let mut env = Vec::new();
    let mut files = Vec::new();
    if let Some(structured) = drv.env.get(b"__json".as_slice()) {
        let outputs = drv.outputs.iter().map(|(n, o)| (n.clone(), o.path.clone()));
        let json = structured_attrs::attrs_json(structured, outputs).map_err(|message| {
            DerivationError::Build {
                path: drv_path.to_owned(),
                message,
            }
        })?;
        for (name, text, var) in [
            (
                ".attrs.sh",
                structured_attrs::attrs_sh(&json),
                "NIX_ATTRS_SH_FILE",
            ),
            (".attrs.json", json.to_string(), "NIX_ATTRS_JSON_FILE"),
        ] {
            files.push((name.to_owned(), text.into_bytes()));
            env.push((
                var.as_bytes().to_vec(),
                format!("/build/{name}").into_bytes(),
            ));
        }
        return Ok((env, files));
    }
    let pass_as_file: BTreeSet<&[u8]> = drv
        .env
        .get(b"passAsFile".as_slice())
        .map(|v| {
            v.split(|c| b" \t\n\r".contains(c))
                .filter(|w| !w.is_empty())
                .collect()
        })
        .unwrap_or_default();
    for (key, value) in &drv.env {
        if pass_as_file.contains(key.as_slice()) {
            let digest = sha2::Sha256::digest(key);
            let name = format!(".attr-{}", makes_store::nixbase32::encode(&digest));
            let mut var = key.clone();
            var.extend_from_slice(b"Path");
            env.push((var, format!("/build/{name}").into_bytes()));
            files.push((name, value.clone()));
        } else {
            env.push((key.clone(), value.clone()));
        }
    }
    if drv.is_fixed_output() {
        // A fixed output may take these from the caller (proxies, in `fetchurl`).
        if let Some(names) = drv.env.get(b"impureEnvVars".as_slice()) {
            for name in String::from_utf8_lossy(names).split_whitespace() {
                if let Some(value) = std::env::var_os(name) {
                    use std::os::unix::ffi::OsStrExt;
                    env.push((name.as_bytes().to_vec(), value.as_bytes().to_vec()));
                }
            }
        }
    }
    Ok((env, files))
}

/// The base16 hash of a built output: of its bytes (flat) or of its NAR (recursive).
fn output_hash(path: &Path, recursive: bool, algo: HashAlgo) -> std::io::Result<String> {
    let mut hasher = AlgoWriter(algo.hasher());
    if recursive {
        makes_store::write_nar(path, &mut hasher).map_err(std::io::Error::other)?;
    } else {
        let mut file = std::fs::File::open(path)?;
        std::io::copy(&mut file, &mut hasher)?;
    }
    Ok(crate::hash::hex(&hasher.0.finalize()))
}

struct AlgoWriter(Box<dyn sha2::digest::DynDigest>);

impl Write for AlgoWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Nix's built-in builder `builtin:fetchurl` (`src/libstore/builtins/fetchurl.cc`), which
/// `<nix/fetchurl.nix>` uses: the file at `url` (a NAR unpacked with `unpack`, made
/// executable with `executable`), checked against the fixed output's hash.
fn builtin_fetchurl(
    fetchers: &Fetchers,
    drv: &Derivation,
    check: OutputCheck,
) -> Result<(), String> {
    let var = |name: &str| {
        drv.env
            .get(name.as_bytes())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let url = var("url").ok_or("builtin:fetchurl needs 'url'")?;
    let out = drv
        .outputs
        .get("out")
        .ok_or("builtin:fetchurl needs the output 'out'")?;
    let out = StorePath::parse(&out.path).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&fetchers.cache_dir)
        .map_err(|e| format!("{}: {e}", fetchers.cache_dir.display()))?;
    let work = tempfile::Builder::new()
        .prefix(".fetchurl-")
        .tempdir_in(&fetchers.cache_dir)
        .map_err(|e| e.to_string())?;
    let download = work.path().join("download");
    crate::fetch::download_to(fetchers, &url, &download)?;
    let produce = |real: &Path| -> Result<(), makes_store::StoreError> {
        let io = |source| makes_store::StoreError::Io {
            path: real.to_path_buf(),
            source,
        };
        if var("unpack").as_deref() == Some("1") {
            let mut file = std::fs::File::open(&download).map_err(io)?;
            makes_store::restore_nar(&mut file, real)?;
        } else {
            std::fs::copy(&download, real).map_err(io)?;
            if var("executable").as_deref() == Some("1") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(real, std::fs::Permissions::from_mode(0o755))
                    .map_err(io)?;
            }
        }
        check(real).map_err(|e| e.into_store_error(&out, "the derivation's outputHash".into()))
    };
    fetchers
        .store
        .build_output(&out, &[], produce)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
