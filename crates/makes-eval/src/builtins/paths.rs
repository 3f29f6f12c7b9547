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
        Ok(Value::string(String::from_utf8_lossy(&bytes).into_owned()))
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
        let entries = ev
            .io
            .read_dir(Path::new(&*path))
            .map_err(|e| io_error(&path, &e))?;
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
    ("toPath", 1, |ev, a| {
        let path = path_arg(ev, &a[0])?;
        Ok(Value::string(path))
    }),
];

fn path_arg(ev: &Evaluator, t: &Thunk) -> Result<Rc<str>> {
    let v = t.force(ev)?;
    ev.coerce_to_path(&v, no_span())
}

fn io_error(path: &str, e: &std::io::Error) -> EvalError {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".to_owned(),
        _ => e.to_string(),
    };
    EvalError::new(
        EvalErrorKind::Io(format!("opening file '{path}': {reason}")),
        None,
    )
}
