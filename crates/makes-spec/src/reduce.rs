//! Reading typed fields out of evaluated attribute sets, with the span of each attribute.

use crate::error::SpecError;
use makes_eval::AttrSet;
use makes_eval::{CoercionMode, Context, Evaluator, Value};
use makes_store_path::StorePath;
use makes_syntax::Span;

/// The plain store paths a string context names (what a string of `attr` refers to), as
/// store paths. A context only names store paths, but `builtins.appendContext` lets a user
/// name anything under `/nix/store/`: such a name is an error about `attr`.
pub fn context_store_paths(
    context: &Context,
    attr: &str,
    span: Option<Span>,
) -> Result<Vec<StorePath>, SpecError> {
    context
        .paths
        .iter()
        .map(|path| {
            StorePath::parse(path).map_err(|e| SpecError::Invalid {
                attr: attr.to_owned(),
                message: format!(
                    "its string context names '{path}', which is not a store path: {e}"
                ),
                span,
            })
        })
        .collect()
}

/// An attribute set being reduced: typed getters that report the attribute's own span.
pub struct Fields<'a> {
    pub ev: &'a Evaluator,
    pub attrs: AttrSet,
    /// Where the whole set came from (used when an attribute is missing).
    pub span: Option<Span>,
}

impl<'a> Fields<'a> {
    pub fn new(
        ev: &'a Evaluator,
        value: &Value,
        what: &str,
        span: Option<Span>,
    ) -> Result<Self, SpecError> {
        match value {
            Value::Attrs(attrs) => Ok(Fields {
                ev,
                attrs: attrs.clone(),
                span,
            }),
            other => Err(SpecError::WrongType {
                attr: what.to_owned(),
                expected: "a set",
                found: other.describe().to_owned(),
                span,
            }),
        }
    }

    pub fn span_of(&self, name: &str) -> Option<Span> {
        self.attrs.get(name).and_then(|a| a.span).or(self.span)
    }

    /// Forces an attribute; errors inside it get a note naming it.
    pub fn get(&self, name: &str) -> Result<Option<Value>, SpecError> {
        match self.attrs.get(name) {
            Some(attr) => attr.value.force(self.ev).map(Some).map_err(|e| {
                SpecError::Eval(e.note(
                    attr.span,
                    format!("while evaluating the attribute '{name}'"),
                ))
            }),
            None => Ok(None),
        }
    }

    fn wrong_type(&self, name: &str, expected: &'static str, found: &Value) -> SpecError {
        SpecError::WrongType {
            attr: name.to_owned(),
            expected,
            found: found.describe().to_owned(),
            span: self.span_of(name),
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, SpecError> {
        match self.get(name)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.utf8()?.to_owned())),
            Some(other) => Err(self.wrong_type(name, "a string", &other)),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, SpecError> {
        match self.get(name)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.wrong_type(name, "a Boolean", &other)),
        }
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, SpecError> {
        match self.get(name)? {
            None => Ok(None),
            Some(Value::Int(i)) => Ok(Some(i)),
            Some(other) => Err(self.wrong_type(name, "an integer", &other)),
        }
    }

    /// A list of packages (derivations, paths or strings naming store paths), as store paths.
    pub fn store_paths(&self, name: &str) -> Result<Option<Vec<StorePath>>, SpecError> {
        let items = match self.get(name)? {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::List(items)) => items.to_vec(),
            Some(single @ (Value::Attrs(_) | Value::Path(_))) => {
                vec![makes_eval::Thunk::value(single)]
            }
            Some(other) => return Err(self.wrong_type(name, "a list of packages", &other)),
        };
        let span = self.span_of(name);
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            let v = item.force(self.ev).map_err(|e| {
                SpecError::Eval(e.note(span, format!("while evaluating an element of '{name}'")))
            })?;
            out.push(self.store_path_of(name, &v)?);
        }
        Ok(Some(out))
    }

    /// One package as a store path: where a string of the evaluation becomes a `StorePath`.
    pub fn store_path_of(&self, name: &str, v: &Value) -> Result<StorePath, SpecError> {
        let span = self.span_of(name);
        let s = self
            .ev
            .coerce_to_string(
                v,
                CoercionMode::INTERPOLATION,
                span.unwrap_or_else(Span::none),
            )
            .map_err(|e| match e.code() {
                "makes::eval::not_coercible" | "makes::eval::type_error" => {
                    self.wrong_type(name, "a list of packages", v)
                }
                // Copying a path into the store can fail for its own reasons (a full disk, a
                // FIFO, a permission): those are reported as they are, not as a type error.
                _ => SpecError::Eval(e.note(span, format!("while evaluating '{name}'"))),
            })?;
        let path = s.utf8()?;
        StorePath::parse(path).map_err(|_| SpecError::Invalid {
            attr: name.to_owned(),
            message: format!(
                "'{path}' is not a store path (a package, a derivation or a path literal)"
            ),
            span,
        })
    }

    /// A script given as text (its context joined to `context`) or as a path (the file's
    /// content), as makes reads `builder`, `entrypoint` and `template`.
    pub fn script_text(
        &self,
        name: &str,
        context: &mut makes_eval::Context,
    ) -> Result<Option<String>, SpecError> {
        match self.get(name)? {
            None => Ok(None),
            // makes' `asContent`: a string naming a store path stands for the file's content
            // (`entrypoint = projectPath "/x.sh"`), any other string is the text itself.
            Some(Value::String(s)) if s.as_bytes().starts_with(b"/nix/store/") => {
                self.file_content(name, s.utf8()?).map(Some)
            }
            Some(Value::String(s)) => {
                s.merge_context_into(context);
                Ok(Some(s.utf8()?.to_owned()))
            }
            Some(Value::Path(p)) => self.file_content(name, &p).map(Some),
            Some(other) => Err(SpecError::WrongType {
                attr: name.into(),
                expected: "a string or a path",
                found: other.describe().to_owned(),
                span: self.span_of(name),
            }),
        }
    }

    /// The content of the file `path` (on disk or in the store), for the attribute `name`.
    fn file_content(&self, name: &str, path: &str) -> Result<String, SpecError> {
        let bytes = self
            .ev
            .io
            .read_file(std::path::Path::new(path))
            .map_err(|e| SpecError::Invalid {
                attr: name.into(),
                message: format!("cannot read '{path}': {e}"),
                span: self.span_of(name),
            })?;
        // Specs hold text: a file of other bytes is an error naming it, never changed.
        String::from_utf8(bytes).map_err(|_| SpecError::Invalid {
            attr: name.into(),
            message: format!("'{path}' is not valid UTF-8 text"),
            span: self.span_of(name),
        })
    }

    /// Fails on any attribute not in `known`.
    pub fn reject_unknown(&self, function: &'static str, known: &[&str]) -> Result<(), SpecError> {
        for name in self.attrs.names() {
            if !known.contains(&&**name) {
                return Err(SpecError::UnknownAttribute {
                    function,
                    attr: name.to_string(),
                    known: known.join(", "),
                    span: self.span_of(name),
                });
            }
        }
        Ok(())
    }
}
