//! `toXML` and `--xml`: values in Nix's XML form (two-space indentation, `<attrs>`,
//! `<derivation>`, function patterns; with locations for `--xml`).

use super::BuiltinDef;
use crate::value::{Context, NixString, Value};
use crate::{Evaluator, Result};
use makes_syntax::ir::Param;
use makes_syntax::Span;
use std::fmt::Write;

pub(crate) const BUILTINS: &[BuiltinDef] = &[("toXML", 1, |ev, a| {
    let v = a[0].force(ev)?;
    let mut context = Context::default();
    let text = to_xml(ev, &v, true, false, &mut context)?;
    Ok(Value::String(NixString::with_context(text, context)))
})];

/// The XML document for `value`. `strict` forces what it prints (otherwise unevaluated parts
/// are `<unevaluated />`); `locations` adds `column`/`line`/`path` as `--xml` does.
pub fn to_xml(
    ev: &Evaluator,
    value: &Value,
    strict: bool,
    locations: bool,
    context: &mut Context,
) -> Result<String> {
    let mut w = XmlWriter {
        ev,
        strict,
        locations,
        out: String::from("<?xml version='1.0' encoding='utf-8'?>\n<expr>\n"),
        drvs: Vec::new(),
    };
    w.value(value, 1, context)?;
    w.out.push_str("</expr>\n");
    Ok(w.out)
}

struct XmlWriter<'a> {
    ev: &'a Evaluator,
    strict: bool,
    locations: bool,
    out: String,
    drvs: Vec<String>,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

impl XmlWriter<'_> {
    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn empty(&mut self, depth: usize, name: &str, attrs: &[(&str, String)]) {
        self.indent(depth);
        let _ = write!(self.out, "<{name}");
        for (k, v) in attrs {
            let _ = write!(self.out, " {k}=\"{}\"", escape(v));
        }
        self.out.push_str(" />\n");
    }

    fn open(&mut self, depth: usize, name: &str, attrs: &[(&str, String)]) {
        self.indent(depth);
        let _ = write!(self.out, "<{name}");
        for (k, v) in attrs {
            let _ = write!(self.out, " {k}=\"{}\"", escape(v));
        }
        self.out.push_str(">\n");
    }

    fn close(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        let _ = writeln!(self.out, "</{name}>");
    }

    fn position(&self, span: Option<Span>) -> Vec<(&'static str, String)> {
        let Some(span) = span.filter(|_| self.locations) else {
            return Vec::new();
        };
        let Some(file) = self.ev.sources.get(span.file) else {
            return Vec::new();
        };
        let (line, col) = file.line_col(span.start);
        // Nix 2.8 names an expression given with --expr by its text.
        let path = if file.name == "«string»" {
            file.text.to_string()
        } else {
            file.name.clone()
        };
        vec![
            ("column", col.to_string()),
            ("line", line.to_string()),
            ("path", path),
        ]
    }

    fn value(&mut self, v: &Value, depth: usize, context: &mut Context) -> Result<()> {
        crate::memory::reserve_growth(&self.out, None)?;
        match v {
            Value::Null => self.empty(depth, "null", &[]),
            Value::Bool(b) => self.empty(depth, "bool", &[("value", b.to_string())]),
            Value::Int(i) => self.empty(depth, "int", &[("value", i.to_string())]),
            Value::Float(f) => {
                self.empty(depth, "float", &[("value", crate::print::format_float(*f))])
            }
            Value::String(s) => {
                s.merge_context_into(context);
                self.empty(depth, "string", &[("value", s.utf8()?.to_owned())])
            }
            Value::Path(p) => self.empty(depth, "path", &[("value", p.to_string())]),
            Value::List(items) => {
                self.open(depth, "list", &[]);
                for item in items.iter() {
                    self.thunk(item, depth + 1, context)?;
                }
                self.close(depth, "list");
            }
            Value::Attrs(attrs) => {
                let is_drv = self.ev.is_derivation(attrs)?;
                let tag = if is_drv { "derivation" } else { "attrs" };
                let mut head = Vec::new();
                if is_drv {
                    let text_of = |name: &str| -> Result<Option<String>> {
                        match attrs.get(name) {
                            Some(a) => match a.value.force(self.ev)? {
                                Value::String(s) => Ok(Some(s.utf8()?.to_owned())),
                                _ => Ok(None),
                            },
                            None => Ok(None),
                        }
                    };
                    let drv_path = text_of("drvPath")?;
                    let out_path = text_of("outPath")?;
                    if let Some(d) = &drv_path {
                        head.push(("drvPath", d.clone()));
                    }
                    if let Some(o) = out_path {
                        head.push(("outPath", o));
                    }
                    if let Some(d) = drv_path {
                        if self.drvs.contains(&d) {
                            self.open(depth, tag, &head);
                            self.empty(depth + 1, "repeated", &[]);
                            self.close(depth, tag);
                            return Ok(());
                        }
                        self.drvs.push(d);
                    }
                }
                self.open(depth, tag, &head);
                for (name, attr) in attrs.iter() {
                    let mut fields = self.position(attr.span);
                    fields.insert(2.min(fields.len()), ("name", name.to_string()));
                    self.open(depth + 1, "attr", &fields);
                    self.thunk(&attr.value, depth + 2, context)?;
                    self.close(depth + 1, "attr");
                }
                self.close(depth, tag);
            }
            Value::Lambda(closure) => {
                let pos = self.position(Some(closure.def.span));
                self.open(depth, "function", &pos);
                match &closure.def.param {
                    Param::Ident(name) => {
                        self.empty(depth + 1, "varpat", &[("name", name.to_string())])
                    }
                    Param::Pattern {
                        formals,
                        ellipsis,
                        bind,
                    } => {
                        let mut head = Vec::new();
                        if *ellipsis {
                            head.push(("ellipsis", "1".to_owned()));
                        }
                        if let Some(b) = bind {
                            head.push(("name", b.to_string()));
                        }
                        self.open(depth + 1, "attrspat", &head);
                        let mut names: Vec<&str> = formals.iter().map(|f| &*f.name).collect();
                        names.sort_unstable_by(|a, b| makes_syntax::byte_text::cmp_as_bytes(a, b));
                        for name in names {
                            self.empty(depth + 2, "attr", &[("name", name.to_owned())]);
                        }
                        self.close(depth + 1, "attrspat");
                    }
                }
                self.close(depth, "function");
            }
            Value::PrimOp(_) | Value::PrimOpApp(_) => self.empty(depth, "unevaluated", &[]),
        }
        Ok(())
    }

    fn thunk(&mut self, t: &crate::Thunk, depth: usize, context: &mut Context) -> Result<()> {
        let v = if self.strict {
            Some(t.force(self.ev)?)
        } else {
            t.peek()
        };
        match v {
            Some(v) => {
                let ev = self.ev;
                ev.nested(None, || self.value(&v, depth, context))
            }
            None => {
                self.empty(depth, "unevaluated", &[]);
                Ok(())
            }
        }
    }
}
