//! The built-ins that need the store, registered into the evaluator from here (the evaluator
//! only has "not supported yet" stubs for them): `builtins.path`, `filterSource`,
//! `storePath`, and makes' `projectPath` (`toFile`, which may refer to derivations, is
//! `makes-derivation`'s). Store paths are Nix's own (tests compare them with
//! Nix 2.8).

use makes_eval::{
    make_primop, Context, EvalError, EvalErrorKind, Evaluator, NixString, PrimOpFn, Thunk, Value,
};
use makes_store::{
    fixed_output_path, nar_hash_and_size_filtered, parse_sha256, FileNarHasher, LocalStore,
    ProjectFiles, StorePath, STORE_DIR,
};
use makes_syntax::Span;
use sha2::Digest;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// `(name, value)` pairs for `Evaluator::with_extra_builtins`.
/// `files` is what of the project these built-ins may copy into the store.
pub fn store_builtins(store: &LocalStore, files: &ProjectFiles) -> Vec<(Rc<str>, Value)> {
    let (s, f) = (store.clone(), files.clone());
    let path: PrimOpFn = Rc::new(move |ev, args| builtin_path(ev, &s, &f, &args[0]));
    let (s, f) = (store.clone(), files.clone());
    let filter_source: PrimOpFn = Rc::new(move |ev, args| {
        let filter = args[0].force(ev)?;
        let path = ev.coerce_to_path(&args[1].force(ev)?, Span::none())?;
        let name = base_name(&path);
        add_path(ev, &s, &f, Path::new(&*path), &name, Some(&filter))
    });
    let s = store.clone();
    let store_path: PrimOpFn = Rc::new(move |ev, args| {
        let p = ev.coerce_to_path(&args[0].force(ev)?, Span::none())?;
        let sp = StorePath::parse(&p).map_err(|e| EvalError::other(e.to_string(), None))?;
        let valid = s.is_valid(&sp) || matches!(s.import_from_nix(&sp), Ok(Some(_)));
        if !valid {
            return Err(EvalError::other(
                format!("path '{p}' is not valid in the store"),
                None,
            ));
        }
        Ok(store_string(&sp))
    });
    vec![
        ("path".into(), make_primop("path", 1, path)),
        (
            "filterSource".into(),
            make_primop("filterSource", 2, filter_source),
        ),
        ("storePath".into(), make_primop("storePath", 1, store_path)),
    ]
}

/// makes' `projectPath "/rel"`: that part of the project in the store, named after its base
/// name without leading dots (`src` for `/`), with `.git` and what `files` hides left out.
pub fn project_path_builtin(store: &LocalStore, project_dir: &Path, files: &ProjectFiles) -> Value {
    let store = store.clone();
    let files = files.clone();
    let root = project_dir.to_path_buf();
    let func: PrimOpFn = Rc::new(move |ev, args| {
        let rel = match args[0].force(ev)? {
            Value::String(s) => s.utf8()?.to_owned(),
            other => return Err(EvalError::type_error("a string", &other, None)),
        };
        if !rel.starts_with('/') {
            return Err(EvalError::other(
                format!("projectPath \"{rel}\" must start with '/'"),
                None,
            ));
        }
        let full = makes_syntax::canonical_path(&format!("{}{rel}", root.display()));
        if !Path::new(&full).starts_with(&root) {
            return Err(EvalError::other(
                format!("projectPath \"{rel}\" leaves the project"),
                None,
            ));
        }
        let trimmed = base_name(&full).trim_start_matches('.').to_owned();
        let name = if rel == "/" || trimmed.is_empty() {
            "src".to_owned()
        } else {
            trimmed
        };
        if files.hides(Path::new(&full)) {
            return Err(EvalError::new(
                EvalErrorKind::Io(format!(
                    "{full}: {}",
                    ProjectFiles::hidden_error(Path::new(&full))
                )),
                None,
            ));
        }
        let keep = |p: &Path| p.file_name().is_none_or(|n| n != ".git") && !files.hides(p);
        let sp = store
            .add_filtered_path(Path::new(&full), &name, &keep)
            .map_err(|e| EvalError::new(EvalErrorKind::Io(e.to_string()), None))?;
        Ok(store_string(&sp))
    });
    make_primop("projectPath", 1, func)
}

fn builtin_path(
    ev: &Evaluator,
    store: &LocalStore,
    files: &ProjectFiles,
    arg: &Thunk,
) -> makes_eval::Result<Value> {
    let attrs = match arg.force(ev)? {
        Value::Attrs(a) => a,
        other => return Err(EvalError::type_error("a set", &other, None)),
    };
    let mut path = None;
    let mut name = None;
    let mut filter = None;
    let mut expected = None;
    let mut recursive = true;
    for (key, attr) in attrs.iter() {
        let v = attr.value.force(ev)?;
        match &**key {
            "path" => path = Some(ev.coerce_to_path(&v, Span::none())?),
            "name" => name = Some(string_of(&v)?),
            "filter" => filter = Some(v),
            "recursive" => match v {
                Value::Bool(b) => recursive = b,
                other => return Err(EvalError::type_error("a Boolean", &other, None)),
            },
            "sha256" => expected = Some(string_of(&v)?),
            other => {
                return Err(EvalError::other(
                    format!("unsupported argument '{other}' to 'builtins.path'"),
                    None,
                ))
            }
        }
    }
    let path = path.ok_or_else(|| {
        EvalError::other(
            "missing required 'path' attribute in the first argument to builtins.path",
            None,
        )
    })?;
    let name = name.unwrap_or_else(|| base_name(&path));
    if !recursive {
        return add_flat_file(store, files, Path::new(&*path), &name, expected.as_deref());
    }
    let result = add_path(ev, store, files, Path::new(&*path), &name, filter.as_ref())?;
    if let Some(expected) = expected {
        let want = parse_sha256(&expected)
            .ok_or_else(|| EvalError::other(format!("invalid hash '{expected}'"), None))?;
        let Value::String(s) = &result else {
            return Ok(result);
        };
        let sp = StorePath::parse(s.utf8()?).map_err(|e| EvalError::other(e.to_string(), None))?;
        let (found, _) = nar_hash_and_size_filtered(&store.real_path(&sp), &|_| true)
            .map_err(|e| EvalError::other(e.to_string(), None))?;
        if found != want {
            return Err(EvalError::other(
                format!(
                    "hash mismatch for '{path}': the path's NAR hash differs from '{expected}'"
                ),
                None,
            ));
        }
    }
    Ok(result)
}

/// `builtins.path { recursive = false; }`: the file's bytes alone (no executable bit), at the
/// path of a flat fixed output of their SHA-256, as Nix adds it (a `filter` plays no part).
fn add_flat_file(
    store: &LocalStore,
    files: &ProjectFiles,
    path: &Path,
    name: &str,
    expected: Option<&str>,
) -> makes_eval::Result<Value> {
    let io_error = |e: String| EvalError::new(EvalErrorKind::Io(e), None);
    if files.hides(path) {
        return Err(io_error(format!(
            "{}: {}",
            path.display(),
            ProjectFiles::hidden_error(path)
        )));
    }
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Err(io_error(format!(
            "builtins.path with recursive = false adds a regular file, and '{}' is not one",
            path.display()
        )));
    }
    let contents = std::fs::read(path).map_err(|e| io_error(format!("{}: {e}", path.display())))?;
    let digest: [u8; 32] = sha2::Sha256::digest(&contents).into();
    let sp = fixed_output_path(&digest, false, name);
    if let Some(expected) = expected {
        let want = parse_sha256(expected)
            .ok_or_else(|| EvalError::other(format!("invalid hash '{expected}'"), None))?;
        if fixed_output_path(&want, false, name) != sp {
            return Err(EvalError::other(
                format!(
                    "store path mismatch in file added from '{}'",
                    path.display()
                ),
                None,
            ));
        }
    }
    let nar = flat_file_nar(&contents);
    let mut hasher = FileNarHasher::new(contents.len() as u64);
    hasher.update(&contents);
    let file_nar = hasher
        .finish()
        .ok_or_else(|| EvalError::other("the file changed while it was read", None))?;
    store
        .add_nar(
            &sp,
            &nar[..],
            (file_nar.nar_hash, file_nar.nar_size),
            vec![],
        )
        .map_err(|e| io_error(e.to_string()))?;
    Ok(store_string(&sp))
}

/// The NAR of a non-executable regular file holding `contents`.
fn flat_file_nar(contents: &[u8]) -> Vec<u8> {
    let mut nar = Vec::with_capacity(contents.len() + 128);
    let mut put = |bytes: &[u8]| {
        nar.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        nar.extend_from_slice(bytes);
        nar.resize(nar.len() + (8 - bytes.len() % 8) % 8, 0);
    };
    for part in [
        &b"nix-archive-1"[..],
        b"(",
        b"type",
        b"regular",
        b"contents",
        contents,
        b")",
    ] {
        put(part);
    }
    nar
}

/// Adds `path` to the store, leaving out what the Nix `filter` function rejects. The filter is
/// called as Nix calls it: with the absolute path and its type, parents before children, and
/// not for the contents of a rejected directory.
fn add_path(
    ev: &Evaluator,
    store: &LocalStore,
    files: &ProjectFiles,
    path: &Path,
    name: &str,
    filter: Option<&Value>,
) -> makes_eval::Result<Value> {
    if files.hides(path) {
        return Err(EvalError::new(
            EvalErrorKind::Io(format!(
                "{}: {}",
                path.display(),
                ProjectFiles::hidden_error(path)
            )),
            None,
        ));
    }
    let on_disk = on_disk_path(ev, store, path)?;
    let excluded = match filter {
        Some(f) => excluded_paths(ev, f, files, &on_disk, path)?,
        None => HashSet::new(),
    };
    let keep = |p: &Path| !excluded.contains(p) && !files.hides(p);
    let sp = store
        .add_filtered_path(&on_disk, name, &keep)
        .map_err(|e| EvalError::new(EvalErrorKind::Io(e.to_string()), None))?;
    Ok(store_string(&sp))
}

/// Where `path` is on disk: a path inside the store (a fetched tree, fetched first if it
/// waits for a use) is where makes' store keeps it; any other path is itself.
fn on_disk_path(ev: &Evaluator, store: &LocalStore, path: &Path) -> makes_eval::Result<PathBuf> {
    let Ok(rest) = path.strip_prefix(STORE_DIR) else {
        return Ok(path.to_path_buf());
    };
    // Asking what it is makes a deferred fetch happen, as any read does.
    ev.io.file_kind(path).map_err(|e| {
        EvalError::new(
            EvalErrorKind::Io(format!("getting status of '{}': {e}", path.display())),
            None,
        )
    })?;
    let top = rest
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .and_then(|name| StorePath::from_base_name(name).ok());
    Ok(match top {
        Some(top) if store.is_valid(&top) => store.store_dir().join(rest),
        _ => path.to_path_buf(),
    })
}

/// The paths (on disk, under `root`) that `filter` rejects; it is not asked about what the
/// project hides, and it is told each path as under `shown_root` (a store path under
/// `/nix/store`, wherever makes' store keeps it), as Nix tells it. It is asked in the order
/// Nix asks while serialising the tree: depth first, a directory's entries sorted by name,
/// each directory's contents right after the directory itself (nixpkgs' `lib.fileset`
/// relies on the order of the calls, which a traced filter shows).
fn excluded_paths(
    ev: &Evaluator,
    filter: &Value,
    files: &ProjectFiles,
    root: &Path,
    shown_root: &Path,
) -> makes_eval::Result<HashSet<PathBuf>> {
    let mut excluded = HashSet::new();
    // The entries still to ask about, the next one last.
    let mut pending = sorted_children(root, files);
    pending.reverse();
    while let Some((child, kind)) = pending.pop() {
        let kind_name = if kind.is_symlink() {
            "symlink"
        } else if kind.is_dir() {
            "directory"
        } else if kind.is_file() {
            "regular"
        } else {
            "unknown"
        };
        let shown = match child.strip_prefix(root) {
            Ok(relative) => shown_root.join(relative),
            Err(_) => child.clone(),
        };
        let f = ev.apply(
            filter,
            Thunk::value(Value::string(shown.to_string_lossy().as_ref())),
            Span::none(),
        )?;
        let keep = match ev.apply(&f, Thunk::value(Value::string(kind_name)), Span::none())? {
            Value::Bool(b) => b,
            other => return Err(EvalError::type_error("a Boolean", &other, None)),
        };
        if !keep {
            excluded.insert(child);
        } else if kind.is_dir() {
            let mut inner = sorted_children(&child, files);
            inner.reverse();
            pending.extend(inner);
        }
    }
    Ok(excluded)
}

/// The entries of `dir` the project shows, sorted by name (none if it cannot be read).
fn sorted_children(dir: &Path, files: &ProjectFiles) -> Vec<(PathBuf, std::fs::FileType)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut children: Vec<(PathBuf, std::fs::FileType)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
        .filter(|(p, _)| !files.hides(p))
        .collect();
    children.sort_by(|a, b| a.0.cmp(&b.0));
    children
}

/// A store path as a string that refers to it.
fn store_string(sp: &StorePath) -> Value {
    let abs = sp.to_absolute();
    let mut ctx = Context::default();
    ctx.paths.insert(abs.as_str().into());
    Value::String(NixString::with_context(abs, ctx))
}

fn string_of(v: &Value) -> makes_eval::Result<String> {
    match v {
        Value::String(s) => Ok(s.utf8()?.to_owned()),
        other => Err(EvalError::type_error("a string", other, None)),
    }
}

fn base_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "source".to_owned())
}
