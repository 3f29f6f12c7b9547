//! Built-ins that read files (through `EvalIo`, never the file system directly).

use super::{attrs_value, no_span, BuiltinDef};
use crate::thunk::Thunk;
use crate::value::{Attrs, Value};
use crate::{EvalError, EvalErrorKind, Evaluator, Result};
use std::path::Path;
use std::rc::Rc;

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("readFile", 1, |ev, a| {
        let path = path_arg(ev, &a[0])?;
        let bytes = ev
            .io
            .read_file(Path::new(&*path))
            .map_err(|e| io_error(&path, &e))?;
        Ok(Value::string(bytes))
    }),
    ("pathExists", 1, |ev, a| {
        let path = path_arg(ev, &a[0])?;
        Ok(Value::Bool(matches!(
            ev.io.file_kind(Path::new(&*path)),
            Ok(Some(_))
        )))
    }),
    ("readFileType", 1, |ev, a| {
        let path = path_arg(ev, &a[0])?;
        match ev
            .io
            .file_kind(Path::new(&*path))
            .map_err(|e| io_error(&path, &e))?
        {
            Some(kind) => Ok(Value::string(kind.nix_name())),
            None => Err(EvalError::new(
                EvalErrorKind::Io(format!(
                    "getting status of '{path}': No such file or directory"
                )),
                None,
            )),
        }
    }),
    ("readDir", 1, |ev, a| {
        let path = path_arg(ev, &a[0])?;
        let entries = ev.io.read_dir(Path::new(&*path)).map_err(|e| {
            let reason = crate::files::io_reason(&e);
            EvalError::new(
                EvalErrorKind::Io(format!("opening directory '{path}': {reason}")),
                None,
            )
        })?;
        let mut attrs = Attrs::new();
        for (name, kind) in entries {
            attrs.insert(
                name.as_str(),
                Thunk::value(Value::string(kind.nix_name())),
                None,
            );
        }
        Ok(attrs_value(attrs))
    }),
    ("hashFile", 2, |ev, a| {
        let algo = super::arg_string(ev, &a[0])?;
        let path = path_arg(ev, &a[1])?;
        let bytes = ev
            .io
            .read_file(Path::new(&*path))
            .map_err(|e| io_error(&path, &e))?;
        Ok(Value::string(super::strings::hash_hex(
            &algo.lossy(),
            &bytes,
        )?))
    }),
    ("findFile", 2, |ev, a| {
        let entries = super::arg_list(ev, &a[0])?;
        let name = super::arg_string(ev, &a[1])?;
        let mut search = Vec::new();
        for entry in entries.iter() {
            let entry = super::arg_attrs(ev, entry)?;
            let prefix = match entry.get("prefix") {
                Some(p) => super::arg_string(ev, &p.value)?.utf8()?.to_owned(),
                None => String::new(),
            };
            let path = entry
                .get("path")
                .ok_or_else(|| EvalError::other("attribute 'path' missing", None))?;
            let path = path.value.force(ev)?;
            let mode = crate::CoercionMode::KEEP_PATHS;
            let path = ev.coerce_to_string(&path, mode, no_span())?;
            search.push((prefix, std::path::PathBuf::from(path.utf8()?)));
        }
        ev.find_file(&search, name.utf8()?, no_span())
    }),
    ("toPath", 1, |ev, a| {
        let path = path_arg(ev, &a[0])?;
        Ok(Value::string(makes_syntax::canonical_path(&path)))
    }),
];

fn path_arg(ev: &Evaluator, t: &Thunk) -> Result<Rc<str>> {
    let v = t.force(ev)?;
    ev.coerce_to_path(&v, no_span())
}

fn io_error(path: &str, e: &std::io::Error) -> EvalError {
    let reason = crate::files::io_reason(e);
    EvalError::new(
        EvalErrorKind::Io(format!("opening file '{path}': {reason}")),
        None,
    )
}
