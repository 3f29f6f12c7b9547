//! The makes arguments implemented with the store: `makeDerivation`, `makeContainerImage`,
//! `makeScript`, `makeTemplate`, `makeSearchPaths`, `toFileJson`, `fetchUrl`,
//! `fetchArchive`, `fetchGithub`, `fetchNixpkgs`, the default package set `__nixpkgs__` and
//! its `lib`. Each reduces its argument to a spec, names its output path and records the
//! recipe that builds it.

use crate::package_values::package_set_value;
use makes_eval::{make_primop, Attrs, Context, NixString, PrimOpFn, Thunk, Value};
use makes_spec::{reduce_derivation_spec, reduce_fetch_spec, reduce_image_spec, Release};
use makes_store::packages::{Overlay, PackageSetSource, Packages, SetOrigin};
use makes_store::{
    derivation_output_path, fixed_output_path, flat_fixed_output_path, image_output_path,
    parse_sha256, FlatHash, Recipe, StorePath,
};
use std::rc::Rc;

/// The makes arguments implemented with the store. `now` is the build time, used for the
/// output name of `created = "now"` images only; `default_set` is makes' own package set
/// (`__nixpkgs__`); `state_dirs` is `__stateDirs__` (makeScript's `STATE`).
pub fn store_arguments(
    packages: &Rc<Packages>,
    now: &str,
    default_set: PackageSetSource,
    state_dirs: Thunk,
    release: Release,
) -> Vec<(&'static str, Thunk)> {
    let recipes = packages.recipes();
    let actions = crate::native_templates::TemplateActions::of(release);
    let r = recipes.clone();
    let make_derivation: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let search_paths = |v: &Value| {
            crate::native_templates::search_paths(&r, actions, ev, v).map(|(_, path)| path)
        };
        let spec = reduce_derivation_spec(ev, &arg, None, &search_paths)?;
        let out = derivation_output_path(&spec);
        let name = spec.name.clone();
        r.insert(out.clone(), Recipe::Derivation(spec));
        Ok(package_value(&name, &out))
    });
    let r = recipes.clone();
    let now = now.to_owned();
    let make_container_image: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let spec = reduce_image_spec(ev, &arg, None)?;
        let out = image_output_path(&spec, &now)
            .map_err(|e| makes_eval::EvalError::other(e.to_string(), None))?;
        r.insert(out.clone(), Recipe::Image(spec));
        Ok(package_value(&out.name, &out))
    });
    let default_set = package_set_value(packages, default_set);
    let p = packages.clone();
    let fetch_nixpkgs: PrimOpFn = Rc::new(move |ev, args| {
        let source = fetch_nixpkgs_source(ev, &args[0])?;
        Ok(package_set_value(&p, source))
    });
    let p = packages.clone();
    let package_set_at: PrimOpFn = Rc::new(move |ev, args| {
        let Value::Path(dir) = args[0].force(ev)? else {
            return Err(makes_eval::EvalError::other(
                "a package set is given by a path to a nixpkgs checkout",
                None,
            ));
        };
        Ok(package_set_value(
            &p,
            PackageSetSource {
                origin: SetOrigin::Checkout(std::path::PathBuf::from(&*dir)),
                allow_unfree: true,
                overlays: Vec::new(),
            },
        ))
    });
    let r = recipes.clone();
    let fetch_url: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let spec = reduce_fetch_spec(ev, &arg, None)?;
        // A file may also be pinned by the SHA-512 or SHA-1 of an npm `integrity` (SRI), as
        // nixpkgs' `fetchurl { hash; }` pins it for makes' Node.js modules.
        let hash = FlatHash::parse(&spec.sha256).ok_or_else(|| {
            makes_eval::EvalError::other(
                format!(
                    "fetchUrl: '{}' is not a SHA-256 (nix-base32, hex or sha256-<base64>) or an SRI sha512-/sha1- hash",
                    spec.sha256
                ),
                None,
            )
        })?;
        let out = flat_fixed_output_path(&hash, &spec.name);
        r.insert(out.clone(), Recipe::Fetch(spec));
        Ok(package_value(&out.name, &out))
    });
    let archive_fetchers: Vec<(&'static str, Value)> = ["fetchArchive", "fetchGithub"]
        .into_iter()
        .map(|function| {
            let r = recipes.clone();
            let func: PrimOpFn = Rc::new(move |ev, args| {
                let arg = args[0].force(ev)?;
                let spec = makes_spec::reduce_fetch_archive_spec(ev, &arg, function, None)?;
                let hash = parse_sha256(&spec.sha256).ok_or_else(|| {
                    makes_eval::EvalError::other(
                        format!("{function}: '{}' is not a SHA-256", spec.sha256),
                        None,
                    )
                })?;
                // The NAR hash of the unpacked tree: a recursive fixed-output path.
                let out = fixed_output_path(&hash, true, &spec.name);
                r.insert(out.clone(), Recipe::Fetch(spec));
                Ok(package_value(&out.name, &out))
            });
            (function, make_primop(function, 1, func))
        })
        .collect();
    let make_script = crate::native_script::make_script_function(
        recipes,
        default_set.clone(),
        state_dirs,
        actions,
    );
    let (make_template, make_search_paths) =
        crate::native_templates::template_functions(recipes, actions);
    // makes' `lib` is nixpkgs' lib of its own package set.
    let lib = match &default_set {
        Value::Attrs(set) => set.get("lib").map(|a| a.value.clone()),
        _ => None,
    };
    let values = vec![
        ("makeScript", make_script),
        ("fetchUrl", make_primop("fetchUrl", 1, fetch_url)),
        ("makeTemplate", make_template),
        ("makeSearchPaths", make_search_paths),
        (
            "toFileJson",
            crate::native_templates::to_file_json_function(recipes),
        ),
        ("__nixpkgs__", default_set),
        (
            "__packageSetAt",
            make_primop("__packageSetAt", 1, package_set_at),
        ),
        (
            "fetchNixpkgs",
            make_primop("fetchNixpkgs", 1, fetch_nixpkgs),
        ),
        (
            "makeDerivation",
            make_primop("makeDerivation", 1, make_derivation),
        ),
        (
            "makeContainerImage",
            make_primop("makeContainerImage", 1, make_container_image),
        ),
    ];
    values
        .into_iter()
        .chain(archive_fetchers)
        .map(|(name, value)| (name, Thunk::value(value)))
        .chain(lib.map(|lib| ("lib", lib)))
        .collect()
}

/// What `makeDerivation` and `makeContainerImage` return: a derivation-like set whose
/// `outPath` carries its own context.
pub(crate) fn package_value(name: &str, out: &StorePath) -> Value {
    let out_abs = out.to_absolute();
    let mut ctx = Context::default();
    ctx.paths.insert(out_abs.as_str().into());
    let mut attrs = Attrs::new();
    attrs.insert("type", Thunk::value(Value::string("derivation")), None);
    attrs.insert("name", Thunk::value(Value::string(name)), None);
    attrs.insert("outputName", Thunk::value(Value::string("out")), None);
    attrs.insert(
        "outPath",
        Thunk::value(Value::String(NixString::with_context(out_abs, ctx))),
        None,
    );
    Value::attrs(attrs)
}

/// The package set `fetchNixpkgs { rev; sha256; overlays ? [ ]; allowUnfree ? true; }` pins.
fn fetch_nixpkgs_source(
    ev: &makes_eval::Evaluator,
    arg: &Thunk,
) -> makes_eval::Result<PackageSetSource> {
    let err = |m: String| makes_eval::EvalError::other(format!("fetchNixpkgs: {m}"), None);
    let Value::Attrs(a) = arg.force(ev)? else {
        return Err(err(
            "expects a set { rev; sha256; overlays ? [ ]; allowUnfree ? true; }".into(),
        ));
    };
    let string = |name: &str| -> makes_eval::Result<String> {
        match a.get(name).map(|t| t.value.force(ev)).transpose()? {
            Some(Value::String(s)) => Ok(s.utf8()?.to_owned()),
            Some(other) => Err(err(format!(
                "'{name}' must be a string, not {}",
                other.describe()
            ))),
            None => Err(err(format!("'{name}' is required"))),
        }
    };
    for name in a.names() {
        if ![
            "rev",
            "sha256",
            "overlays",
            "allowUnfree",
            "acceptAndroidSdkLicense",
        ]
        .contains(&&**name)
        {
            return Err(err(format!("unknown argument '{name}' (known: rev, sha256, overlays, allowUnfree, acceptAndroidSdkLicense)")));
        }
    }
    let allow_unfree = match a
        .get("allowUnfree")
        .map(|t| t.value.force(ev))
        .transpose()?
    {
        None => true,
        Some(Value::Bool(b)) => b,
        Some(other) => {
            return Err(err(format!(
                "'allowUnfree' must be a Boolean, not {}",
                other.describe()
            )))
        }
    };
    let mut overlays = Vec::new();
    if let Some(list) = a.get("overlays").map(|t| t.value.force(ev)).transpose()? {
        let Value::List(items) = list else {
            return Err(err(format!(
                "'overlays' must be a list, not {}",
                list.describe()
            )));
        };
        for item in items.iter() {
            match item.force(ev)? {
                Value::Path(p) => overlays.push(Overlay::File(std::path::PathBuf::from(&*p))),
                // Nix evaluates the overlay: its source text goes to Nix as written.
                Value::Lambda(closure) => {
                    let span = closure.def.span;
                    let text = ev
                        .sources
                        .get(span.file)
                        .and_then(|f| {
                            f.text
                                .get(span.start as usize..span.end as usize)
                                .map(str::to_owned)
                        })
                        .ok_or_else(|| err("cannot read the source of an overlay".into()))?;
                    overlays.push(Overlay::Source(text));
                }
                other => {
                    return Err(err(format!(
                        "an overlay is a function (self: super: {{ ... }}) or the path of a file holding one, not {}",
                        other.describe()
                    )))
                }
            }
        }
    }
    Ok(PackageSetSource {
        origin: SetOrigin::Github {
            rev: string("rev")?,
            sha256: string("sha256")?,
        },
        allow_unfree,
        overlays,
    })
}
