//! Files and paths: `import` (cached, a directory means its `default.nix`), `scopedImport`,
//! path literals, the search path (`<name>`, `-I`, `NIX_PATH`), and copying paths to the store.

use crate::error::{EvalError, EvalErrorKind, Result};
use crate::eval::{CoercionMode, Env, EnvFrame};
use crate::value::Value;
use crate::Evaluator;
use makes_syntax::ir::{PathKind, StrPart};
use makes_syntax::{canonical_path, parse_file, parse_file_in_scope, Span};
use std::path::{Path, PathBuf};
use std::rc::Rc;

impl Evaluator {
    pub(crate) fn import(&self, path: &Path, span: Option<Span>) -> Result<Value> {
        let mut path = PathBuf::from(canonical_path(&path.to_string_lossy()));
        if self.io.is_dir(&path) {
            path.push("default.nix");
        }
        if let Some(v) = self.import_cache.borrow().get(&path) {
            return Ok(v.clone());
        }
        let text = self.read_nix_source(&path, span)?;
        let file = self
            .sources
            .add_bytes(path.display().to_string(), Some(&path), &text);
        let expr = parse_file(&self.sources, file, &self.globals)?;
        self.io.expect_paths(makes_syntax::path_literals(&expr));
        let value = self.eval(&expr, &self.base_env)?;
        self.import_cache.borrow_mut().insert(path, value.clone());
        Ok(value)
    }

    /// Parses (and checks the scopes of) a file without evaluating it, as
    /// `nix-instantiate --parse` does.
    pub fn parse_only(&self, path: &Path) -> Result<()> {
        let mut path = PathBuf::from(canonical_path(&path.to_string_lossy()));
        if self.io.is_dir(&path) {
            path.push("default.nix");
        }
        let text = self.read_nix_source(&path, None)?;
        let file = self
            .sources
            .add_bytes(path.display().to_string(), Some(&path), &text);
        parse_file(&self.sources, file, &self.globals)?;
        Ok(())
    }

    /// The bytes of a Nix file to parse (`SourceMap::add_bytes` reads any bytes, as Nix does).
    fn read_nix_source(&self, path: &Path, span: Option<Span>) -> Result<Vec<u8>> {
        if let Some(text) = crate::corepkgs::source(path) {
            return Ok(text.as_bytes().to_vec());
        }
        self.io.read_file(path).map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::NotFound => "getting status of",
                _ => "opening file",
            };
            EvalError::new(
                EvalErrorKind::Io(format!("{what} '{}': {}", path.display(), io_reason(&e))),
                span,
            )
        })
    }

    pub(crate) fn path_literal(
        &self,
        kind: PathKind,
        parts: &[StrPart],
        base: Option<&PathBuf>,
        env: &Env,
        span: Span,
    ) -> Result<Value> {
        let mut text = String::new();
        for part in parts {
            match part {
                StrPart::Literal(s) => {
                    // Paths are text here: a literal written with bytes that are not UTF-8
                    // is an error naming it rather than another path.
                    if let std::borrow::Cow::Owned(_) = makes_syntax::byte_text::text_to_bytes(s) {
                        return Err(EvalError::other(
                            format!(
                                "the path literal '{}' holds bytes that are not UTF-8: makes keeps paths as text",
                                String::from_utf8_lossy(&makes_syntax::byte_text::text_to_bytes(s))
                            ),
                            Some(span),
                        ));
                    }
                    text.push_str(s)
                }
                StrPart::Interpolation(e) => {
                    let v = self.eval(e, env)?;
                    let mode = CoercionMode::KEEP_PATHS;
                    let part = self.coerce_to_string(&v, mode, e.span)?;
                    text.push_str(part.utf8().map_err(|err| err.at(e.span))?);
                }
            }
        }
        let absolute = match kind {
            PathKind::Home => {
                let home = std::env::var("HOME")
                    .map_err(|_| EvalError::other("HOME is not set", Some(span)))?;
                format!(
                    "{home}/{}",
                    text.trim_start_matches('~').trim_start_matches('/')
                )
            }
            PathKind::Plain if text.starts_with('/') => text,
            PathKind::Plain => match base {
                Some(b) => format!("{}/{}", b.display(), text),
                None => format!("/{text}"),
            },
        };
        Ok(Value::Path(canonical_path(&absolute).into()))
    }

    /// `builtins.findFile` (and so `<name>`): the first entry whose prefix matches `name` and
    /// where the file exists.
    pub(crate) fn find_file(
        &self,
        entries: &[(String, PathBuf)],
        name: &str,
        span: Span,
    ) -> Result<Value> {
        for (prefix, dir) in entries {
            let candidate = if prefix.is_empty() {
                dir.join(name)
            } else if name == prefix {
                dir.clone()
            } else if let Some(rest) = name
                .strip_prefix(prefix.as_str())
                .and_then(|r| r.strip_prefix('/'))
            {
                dir.join(rest)
            } else {
                continue;
            };
            if matches!(self.io.file_kind(&candidate), Ok(Some(_))) {
                return Ok(Value::Path(
                    canonical_path(&candidate.to_string_lossy()).into(),
                ));
            }
        }
        // Nix's own files (`<nix/fetchurl.nix>`) come after every entry, as in Nix 2.8.
        if let Some(core) = crate::corepkgs::lookup(name) {
            return Ok(Value::Path(core.into()));
        }
        // Catchable, as in Nix 2.8: nixpkgs' `impure.nix` asks `tryEval <nixpkgs-overlays>`.
        let mut error = EvalError::other(
            format!(
                "file '{name}' was not found in the Nix search path (add it using $NIX_PATH or -I)"
            ),
            Some(span),
        );
        error.catchable = true;
        Err(error)
    }

    /// Copies a path into the store once per evaluation.
    pub fn copy_path_to_store(&self, path: &str, span: Span) -> Result<Rc<str>> {
        let key = PathBuf::from(path);
        if let Some(p) = self.paths_in_store.borrow().get(&key) {
            return Ok(p.clone());
        }
        let name = key
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "source".to_owned());
        // Whether the path exists is asked only once copying failed: an image of thousands
        // of path literals would otherwise pay one more `lstat` for each.
        let missing = || {
            EvalError::new(
                EvalErrorKind::Io(format!(
                    "getting status of '{path}': No such file or directory"
                )),
                Some(span),
            )
        };
        let store_path: Rc<str> = match self.io.add_to_store(&key, &name) {
            Ok(p) => p.into(),
            Err(_) if matches!(self.io.file_kind(&key), Ok(None)) => return Err(missing()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
            Err(e) => {
                return Err(EvalError::new(
                    EvalErrorKind::Io(format!("copying '{path}' to the store: {e}")),
                    Some(span),
                ))
            }
        };
        self.paths_in_store
            .borrow_mut()
            .insert(key, store_path.clone());
        Ok(store_path)
    }

    /// `scopedImport scope path`: the file evaluated with the attributes of `scope` bound
    /// above the base environment (never cached: the scope differs between calls).
    pub(crate) fn scoped_import(
        &self,
        scope: &crate::value::AttrSet,
        v: &Value,
        span: Span,
    ) -> Result<Value> {
        let path = self.coerce_to_path(v, span)?;
        let mut path = PathBuf::from(canonical_path(&path));
        if self.io.is_dir(&path) {
            path.push("default.nix");
        }
        let text = self.read_nix_source(&path, Some(span))?;
        let file = self
            .sources
            .add_bytes(path.display().to_string(), Some(&path), &text);
        let names: Vec<Rc<str>> = scope.names().cloned().collect();
        let expr = parse_file_in_scope(&self.sources, file, &self.globals, Some(&names))?;
        let frame = Env::new(EnvFrame {
            slots: scope
                .iter()
                .map(|(_, a)| a.value.clone())
                .collect::<Vec<_>>()
                .into(),
            parent: Some(self.base_env.clone()),
        });
        self.eval(&expr, &frame)
    }

    /// `import`, as a function of a value (path or string).
    pub(crate) fn import_value(&self, v: &Value, span: Span) -> Result<Value> {
        let path = self.coerce_to_path(v, span)?;
        self.import(Path::new(&*path), Some(span))
    }

    /// A path or a string holding an absolute path, as builtins taking paths accept.
    pub fn coerce_to_path(&self, v: &Value, span: Span) -> Result<Rc<str>> {
        let mode = CoercionMode::KEEP_PATHS;
        let s = self.coerce_to_string(v, mode, span)?;
        if !s.as_bytes().starts_with(b"/") {
            return Err(EvalError::other(
                format!("string '{}' doesn't represent an absolute path", s.lossy()),
                Some(span),
            ));
        }
        // Paths are text here (`Value::Path` holds `str`): a path of invalid UTF-8 is an
        // error naming it rather than a different path.
        Ok(s.utf8().map_err(|e| e.at(span))?.into())
    }
}

pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        // An `EvalIo` may say why a path is not there (a file the project leaves out).
        std::io::ErrorKind::NotFound if e.get_ref().is_some() => e.to_string(),
        std::io::ErrorKind::NotFound => "No such file or directory".to_owned(),
        _ => e.to_string(),
    }
}
