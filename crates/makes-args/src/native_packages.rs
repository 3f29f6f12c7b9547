//! Native versions of the nixpkgs helpers that makes.nix files use around images
//! (`writeText`, `writeTextFile`, `writeTextDir`, `symlinkJoin`, `buildEnv`, `runCommand`), so that they work
//! without Nix and take makes' own outputs as freely as packages. Each becomes a
//! `DerivationSpec` built by the sandboxed builder; their store paths are makes' own
//! (input-addressed by the spec), not nixpkgs' (which depend on nixpkgs' stdenv).
//!
//! `dockerTools` is `docker_tools.rs`'s.
//!
//! The set they live in stands for `inputs.nixpkgs` (and `__nixpkgs__`, and what
//! `fetchNixpkgs` returns) until packages from nixpkgs themselves can be provided.

use crate::store_functions::package_value;
use makes_eval::AttrSet;
use makes_eval::{
    make_primop, Attrs, CoercionMode, Context, EvalError, Evaluator, PrimOpFn, Thunk, Value,
};
use makes_spec::{sanitize_derivation_name, DerivationSpec, SearchPaths};
use makes_store::{derivation_output_path, Recipe, Recipes, StorePath};
use makes_syntax::Span;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A helper taking one attribute set, reduced to the spec that builds it.
type Reducer = fn(&Evaluator, &AttrSet) -> makes_eval::Result<DerivationSpec>;

/// The native helpers of a package set whose `runtimeShell` is `runtime_shell`.
pub fn native_package_set(recipes: &Recipes, runtime_shell: Thunk) -> Value {
    let mut set = Attrs::new();
    let helpers: [(&str, Reducer); 3] = [
        ("writeTextFile", write_text_file),
        ("symlinkJoin", symlink_join),
        ("buildEnv", build_env),
    ];
    for (name, reduce) in helpers {
        let r = recipes.clone();
        let func: PrimOpFn = Rc::new(move |ev, args| {
            let attrs = attrs_arg(ev, &args[0], name)?;
            let spec =
                reduce(ev, &attrs).map_err(|e| e.note(None, format!("while calling {name}")))?;
            Ok(register(&r, spec))
        });
        set.insert(name, Thunk::value(make_primop(name, 1, func)), None);
    }
    let r = recipes.clone();
    let write_text: PrimOpFn = Rc::new(move |ev, args| {
        let name = plain_string(ev, &args[0], "writeText's name")?;
        let mut context = Context::default();
        let text = string_with_context(ev, &args[1].force(ev)?, &mut context)?;
        Ok(register(
            &r,
            text_file_spec(&name, &text, false, "", resolved(ev, context, "writeText")?)?,
        ))
    });
    set.insert(
        "writeText",
        Thunk::value(make_primop("writeText", 2, write_text)),
        None,
    );
    // nixpkgs' `writeTextDir path text`: `writeTextFile { name = baseNameOf path; text;
    // destination = "/${path}"; }`.
    let r = recipes.clone();
    let write_text_dir: PrimOpFn = Rc::new(move |ev, args| {
        let path = plain_string(ev, &args[0], "writeTextDir's path")?;
        let mut context = Context::default();
        let text = string_with_context(ev, &args[1].force(ev)?, &mut context)?;
        let name = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let destination = format!("/{}", path.trim_start_matches('/'));
        Ok(register(
            &r,
            text_file_spec(
                name,
                &text,
                false,
                &destination,
                resolved(ev, context, "writeTextDir")?,
            )?,
        ))
    });
    set.insert(
        "writeTextDir",
        Thunk::value(make_primop("writeTextDir", 2, write_text_dir)),
        None,
    );
    for name in ["runCommand", "runCommandLocal"] {
        let r = recipes.clone();
        let run_command: PrimOpFn = Rc::new(move |ev, args| {
            let spec = run_command(ev, &args[0], &args[1], &args[2])?;
            Ok(register(&r, spec))
        });
        set.insert(name, Thunk::value(make_primop(name, 3, run_command)), None);
    }
    set.insert("runtimeShell", runtime_shell.clone(), None);
    for (name, in_bin) in [("writeShellScript", false), ("writeShellScriptBin", true)] {
        let r = recipes.clone();
        let shell = runtime_shell.clone();
        let write_script: PrimOpFn = Rc::new(move |ev, args| {
            let script = plain_string(ev, &args[0], &format!("{name}'s name"))?;
            let mut context = Context::default();
            let shell = string_with_context(ev, &shell.force(ev)?, &mut context)?;
            let body = string_with_context(ev, &args[1].force(ev)?, &mut context)?;
            // nixpkgs' text, byte for byte: the shebang line, the body, a final newline.
            let text = format!("#!{shell}\n{body}\n");
            let destination = if in_bin {
                format!("/bin/{script}")
            } else {
                String::new()
            };
            Ok(register(
                &r,
                text_file_spec(
                    &script,
                    &text,
                    true,
                    &destination,
                    resolved(ev, context, "writeShellScript")?,
                )?,
            ))
        });
        set.insert(name, Thunk::value(make_primop(name, 2, write_script)), None);
    }
    let docker_tools = crate::docker_tools::docker_tools_set(recipes);
    set.insert(
        "dockerTools",
        Thunk::value(Value::attrs(docker_tools)),
        None,
    );
    Value::attrs(set)
}

pub(crate) fn register(recipes: &Recipes, spec: DerivationSpec) -> Value {
    let out = derivation_output_path(&spec);
    let name = spec.name.clone();
    recipes.insert(out.clone(), Recipe::Derivation(spec));
    package_value(&name, &out)
}

/// `context` with the derivations it names replaced by their output paths, the inputs to
/// build first.
fn resolved(ev: &Evaluator, mut context: Context, what: &str) -> makes_eval::Result<Context> {
    makes_spec::resolve_derivation_contexts(ev, &mut context, what, None)?;
    Ok(context)
}

/// A spec with host tools on `PATH` (the builder's default) and inputs from `context`.
pub(crate) fn spec(
    name: &str,
    builder: &str,
    env: BTreeMap<String, String>,
    context: Context,
) -> makes_eval::Result<DerivationSpec> {
    Ok(DerivationSpec {
        name: sanitize_derivation_name(name),
        builder: builder.to_owned(),
        env,
        env_files: BTreeMap::new(),
        search_paths: SearchPaths::default(),
        sha256: None,
        local: false,
        input_paths: input_paths(name, &context)?,
    })
}

/// The store paths of `context` (the inputs of the derivation `name`). `appendContext` lets a
/// user put any name under `/nix/store/` into a context: such a name is an error naming it.
fn input_paths(name: &str, context: &Context) -> makes_eval::Result<Vec<StorePath>> {
    context
        .paths
        .iter()
        .map(|path| {
            StorePath::parse(path).map_err(|e| {
                EvalError::other(
                    format!("the inputs of '{name}' name '{path}', which is not a store path: {e}"),
                    None,
                )
            })
        })
        .collect()
}

fn text_file_spec(
    name: &str,
    text: &str,
    executable: bool,
    destination: &str,
    context: Context,
) -> makes_eval::Result<DerivationSpec> {
    let env = BTreeMap::from([
        ("envText".to_owned(), text.to_owned()),
        (
            "envExecutable".to_owned(),
            if executable { "1" } else { "" }.to_owned(),
        ),
        ("envDestination".to_owned(), destination.to_owned()),
    ]);
    let builder = r#"
target="$out$envDestination"
mkdir -p "$(dirname "$target")"
printf '%s' "$envText" > "$target"
if test -n "$envExecutable"; then chmod +x "$target"; fi
"#;
    spec(name, builder, env, context)
}

/// `writeTextFile { name; text; executable ? false; destination ? ""; }`.
fn write_text_file(ev: &Evaluator, a: &AttrSet) -> makes_eval::Result<DerivationSpec> {
    reject_unknown(
        a,
        "writeTextFile",
        &[
            "name",
            "text",
            "executable",
            "destination",
            "checkPhase",
            "meta",
            "allowSubstitutes",
            "preferLocalBuild",
            "derivationArgs",
        ],
    )?;
    let mut context = Context::default();
    let name = required_string(ev, a, "name", "writeTextFile")?;
    let text = string_with_context(ev, &required(ev, a, "text", "writeTextFile")?, &mut context)?;
    let executable = optional_bool(ev, a, "executable")?.unwrap_or(false);
    let destination = optional_string(ev, a, "destination")?.unwrap_or_default();
    if !destination.is_empty() && !destination.starts_with('/') {
        return Err(EvalError::other(
            format!("writeTextFile: destination '{destination}' must start with '/'"),
            None,
        ));
    }
    let check_phase = match a.get("checkPhase") {
        Some(attr) => string_with_context(ev, &attr.value.force(ev)?, &mut context)?,
        None => String::new(),
    };
    let mut spec = text_file_spec(
        &name,
        &text,
        executable,
        &destination,
        resolved(ev, context, "writeTextFile")?,
    )?;
    if !check_phase.trim().is_empty() {
        // As nixpkgs' writeTextFile: the check runs after the file is written, in `$out`'s
        // build, and its failure fails the build. A file without a check keeps the builder
        // (and so the store path) it always had.
        spec.env.insert("envCheckPhase".to_owned(), check_phase);
        spec.builder.push_str("eval \"$envCheckPhase\"\n");
    }
    Ok(spec)
}

/// Shell functions that join package trees as `lndir` does: real directories, symlinked files.
const LINK_TREE: &str = r#"
link_tree() {
  local src="$1" dst="$2"
  if test -d "$src" && ! test -L "$src"; then
    mkdir -p "$dst"
    local entry
    for entry in "$src"/*; do
      if test -e "$entry" || test -L "$entry"; then
        link_tree "$entry" "$dst/${entry##*/}"
      fi
    done
  elif test -e "$dst" || test -L "$dst"; then
    if test "$(readlink -f "$dst")" != "$(readlink -f "$src")" && test -z "$envIgnoreCollisions"; then
      error "collision between '$src' and '$(readlink "$dst")'"
    fi
  else
    ln -s "$src" "$dst"
  fi
}
"#;

/// `symlinkJoin { name; paths; postBuild ? ""; }`: the first path wins a conflict.
fn symlink_join(ev: &Evaluator, a: &AttrSet) -> makes_eval::Result<DerivationSpec> {
    reject_unknown(
        a,
        "symlinkJoin",
        &[
            "name",
            "paths",
            "postBuild",
            "meta",
            "passthru",
            "preferLocalBuild",
            "allowSubstitutes",
        ],
    )?;
    let mut context = Context::default();
    let name = required_string(ev, a, "name", "symlinkJoin")?;
    let paths = package_list(ev, &required(ev, a, "paths", "symlinkJoin")?, &mut context)?;
    let post_build =
        optional_string_with_context(ev, a, "postBuild", &mut context)?.unwrap_or_default();
    let env = BTreeMap::from([
        ("envPaths".to_owned(), paths.join(" ")),
        ("envPostBuild".to_owned(), post_build),
        ("envIgnoreCollisions".to_owned(), "1".to_owned()),
    ]);
    let builder = format!("{LINK_TREE}\nmkdir -p \"$out\"\nfor p in $envPaths; do link_tree \"$p\" \"$out\"; done\neval \"$envPostBuild\"\n");
    spec(&name, &builder, env, resolved(ev, context, "symlinkJoin")?)
}

/// `buildEnv { name; paths; pathsToLink ? [ "/" ]; ignoreCollisions ? false; extraPrefix ? "";
/// postBuild ? ""; }`: a collision between two different files is an error unless ignored.
fn build_env(ev: &Evaluator, a: &AttrSet) -> makes_eval::Result<DerivationSpec> {
    reject_unknown(
        a,
        "buildEnv",
        &[
            "name",
            "paths",
            "pathsToLink",
            "ignoreCollisions",
            "extraPrefix",
            "postBuild",
            "extraOutputsToInstall",
            "meta",
            "passthru",
            "checkCollisionContents",
            "manifest",
            "nativeBuildInputs",
            "buildInputs",
        ],
    )?;
    let mut context = Context::default();
    let name = required_string(ev, a, "name", "buildEnv")?;
    let paths = package_list(ev, &required(ev, a, "paths", "buildEnv")?, &mut context)?;
    let links: Vec<String> = match a.get("pathsToLink") {
        Some(attr) => match attr.value.force(ev)? {
            Value::List(items) => items
                .iter()
                .map(|t| plain_string(ev, t, "pathsToLink"))
                .collect::<Result<_, _>>()?,
            other => {
                return Err(EvalError::type_error(
                    "a list of strings",
                    &other,
                    attr.span,
                ))
            }
        },
        None => vec!["/".to_owned()],
    };
    if let Some(bad) = links.iter().find(|l| !l.starts_with('/')) {
        return Err(EvalError::other(
            format!("buildEnv: pathsToLink entry '{bad}' must start with '/'"),
            None,
        ));
    }
    let ignore = optional_bool(ev, a, "ignoreCollisions")?.unwrap_or(false);
    let prefix = optional_string(ev, a, "extraPrefix")?.unwrap_or_default();
    let post_build =
        optional_string_with_context(ev, a, "postBuild", &mut context)?.unwrap_or_default();
    let env = BTreeMap::from([
        ("envPaths".to_owned(), paths.join(" ")),
        ("envPathsToLink".to_owned(), links.join(" ")),
        ("envExtraPrefix".to_owned(), prefix),
        ("envPostBuild".to_owned(), post_build),
        (
            "envIgnoreCollisions".to_owned(),
            if ignore { "1" } else { "" }.to_owned(),
        ),
    ]);
    let builder = format!(
        "{LINK_TREE}\nmkdir -p \"$out\"\nfor p in $envPaths; do\n  for l in $envPathsToLink; do\n    l=\"${{l%/}}\"\n    if test -e \"$p$l\"; then link_tree \"$p$l\" \"$out$envExtraPrefix$l\"; fi\n  done\ndone\neval \"$envPostBuild\"\n"
    );
    spec(&name, &builder, env, resolved(ev, context, "buildEnv")?)
}

/// `runCommand name env script`: `script` runs with the host's tools (in the sandbox), the
/// `env` set exported as it is.
fn run_command(
    ev: &Evaluator,
    name: &Thunk,
    env: &Thunk,
    script: &Thunk,
) -> makes_eval::Result<DerivationSpec> {
    let name = plain_string(ev, name, "runCommand's name")?;
    let mut context = Context::default();
    let mut vars = BTreeMap::new();
    let attrs = attrs_arg(ev, env, "runCommand")?;
    for (key, attr) in attrs.iter() {
        let v = attr.value.force(ev)?;
        if matches!(&**key, "meta" | "passthru") {
            continue;
        }
        let s = ev.coerce_to_string(
            &v,
            CoercionMode::TO_STRING,
            attr.span.unwrap_or_else(Span::none),
        )?;
        s.merge_context_into(&mut context);
        vars.insert(key.to_string(), s.utf8()?.to_owned());
    }
    let script = string_with_context(ev, &script.force(ev)?, &mut context)?;
    spec(&name, &script, vars, resolved(ev, context, "runCommand")?)
}

fn attrs_arg(ev: &Evaluator, t: &Thunk, what: &str) -> makes_eval::Result<AttrSet> {
    match t.force(ev)? {
        Value::Attrs(a) => Ok(a),
        other => Err(EvalError::type_error("a set", &other, None)
            .note(None, format!("in the argument of {what}"))),
    }
}

fn reject_unknown(a: &AttrSet, function: &str, known: &[&str]) -> makes_eval::Result<()> {
    match a.iter().find(|(k, _)| !known.contains(&&***k)) {
        Some((k, attr)) => Err(EvalError::other(
            format!(
                "{function} got an unknown attribute '{k}'; known attributes: {}",
                known.join(", ")
            ),
            attr.span,
        )),
        None => Ok(()),
    }
}

fn required(ev: &Evaluator, a: &AttrSet, key: &str, function: &str) -> makes_eval::Result<Value> {
    match a.get(key) {
        Some(attr) => attr.value.force(ev),
        None => Err(EvalError::other(
            format!("{function} requires the attribute '{key}'"),
            None,
        )),
    }
}

fn required_string(
    ev: &Evaluator,
    a: &AttrSet,
    key: &str,
    function: &str,
) -> makes_eval::Result<String> {
    match required(ev, a, key, function)? {
        Value::String(s) => Ok(s.utf8()?.to_owned()),
        other => Err(EvalError::type_error(
            "a string",
            &other,
            a.get(key).and_then(|x| x.span),
        )),
    }
}

fn optional_string(ev: &Evaluator, a: &AttrSet, key: &str) -> makes_eval::Result<Option<String>> {
    let mut ignored = Context::default();
    optional_string_with_context(ev, a, key, &mut ignored)
}

fn optional_string_with_context(
    ev: &Evaluator,
    a: &AttrSet,
    key: &str,
    context: &mut Context,
) -> makes_eval::Result<Option<String>> {
    match a.get(key) {
        Some(attr) => Ok(Some(string_with_context(
            ev,
            &attr.value.force(ev)?,
            context,
        )?)),
        None => Ok(None),
    }
}

fn optional_bool(ev: &Evaluator, a: &AttrSet, key: &str) -> makes_eval::Result<Option<bool>> {
    match a.get(key) {
        Some(attr) => match attr.value.force(ev)? {
            Value::Bool(b) => Ok(Some(b)),
            other => Err(EvalError::type_error("a Boolean", &other, attr.span)),
        },
        None => Ok(None),
    }
}

fn plain_string(ev: &Evaluator, t: &Thunk, what: &str) -> makes_eval::Result<String> {
    match t.force(ev)? {
        Value::String(s) => Ok(s.utf8()?.to_owned()),
        other => {
            Err(EvalError::type_error("a string", &other, None).note(None, format!("in {what}")))
        }
    }
}

/// A string (or something interpolation turns into one), adding its context.
fn string_with_context(
    ev: &Evaluator,
    v: &Value,
    context: &mut Context,
) -> makes_eval::Result<String> {
    let s = ev.coerce_to_string(v, CoercionMode::INTERPOLATION, Span::none())?;
    s.merge_context_into(context);
    Ok(s.utf8()?.to_owned())
}

/// A list of packages as store paths.
fn package_list(
    ev: &Evaluator,
    v: &Value,
    context: &mut Context,
) -> makes_eval::Result<Vec<String>> {
    let Value::List(items) = v else {
        return Err(EvalError::type_error("a list of packages", v, None));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items.iter() {
        let path = string_with_context(ev, &item.force(ev)?, context)?;
        if !path.starts_with("/nix/store/") || path.contains(' ') {
            return Err(EvalError::other(
                format!("'{path}' is not a package (a store path)"),
                None,
            ));
        }
        out.push(path);
    }
    Ok(out)
}
