//! Open sets made from open sets. A set whose names only its source knows (a package set,
//! see [`OpenAttrs`]) stays open through the operations Nix evaluates lazily per attribute:
//! `mapAttrs f S` selects `x` as `f "x" S.x`, `L // R` asks `R` first and then `L`, and
//! `removeAttrs S names` hides those names. Each answers `?`/`or` by asking the set it was
//! made from, and lists its names only when its source can (the listing built-ins still fail
//! where the names are not known), so `mapAttrs override python3Packages` needs no backend
//! until something lists it.

use crate::thunk::Thunk;
use crate::value::{AttrSet, OpenAttrs, Value};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

/// The unlisted attributes of `mapAttrs f S`: those of `S`, each applied to `f` with its name.
pub(crate) struct MappedOpen {
    function: Thunk,
    inner: Rc<dyn OpenAttrs>,
    /// One thunk per name, so that selecting a name twice applies `f` once, as in Nix.
    memo: RefCell<HashMap<Rc<str>, Thunk>>,
}

impl MappedOpen {
    pub(crate) fn new(function: Thunk, inner: Rc<dyn OpenAttrs>) -> Self {
        MappedOpen {
            function,
            inner,
            memo: RefCell::default(),
        }
    }
}

impl OpenAttrs for MappedOpen {
    fn lookup(&self, name: &str) -> Option<Thunk> {
        if let Some(t) = self.memo.borrow().get(name) {
            return Some(t.clone());
        }
        let value = self.inner.lookup(name)?;
        let name: Rc<str> = name.into();
        let mapped = Thunk::apply2(
            self.function.clone(),
            Thunk::value(Value::name(&name)),
            value,
        );
        self.memo.borrow_mut().insert(name, mapped.clone());
        Some(mapped)
    }

    fn names(&self) -> Result<Vec<String>, crate::UnlistedNames> {
        self.inner.names()
    }
}

/// The unlisted attributes of `left // right` when `right` is open: `right`'s unlisted
/// attributes win over everything `left` has (listed or not), as its names would in Nix.
pub(crate) struct UpdatedOpen {
    right: Rc<dyn OpenAttrs>,
    left: AttrSet,
}

impl UpdatedOpen {
    pub(crate) fn new(left: AttrSet, right: Rc<dyn OpenAttrs>) -> Self {
        UpdatedOpen { right, left }
    }
}

impl OpenAttrs for UpdatedOpen {
    fn lookup(&self, name: &str) -> Option<Thunk> {
        self.right
            .lookup(name)
            .or_else(|| self.left.select(name).map(|attr| attr.value))
    }

    fn names(&self) -> Result<Vec<String>, crate::UnlistedNames> {
        let mut names: BTreeSet<String> = self.right.names()?.into_iter().collect();
        names.extend(self.left.names().map(|n| n.to_string()));
        if let Some(open) = self.left.open_source() {
            names.extend(open.names()?);
        }
        Ok(names.into_iter().collect())
    }
}

/// The unlisted attributes of `removeAttrs S names`: those of `S` but `names`.
pub(crate) struct RemovedOpen {
    inner: Rc<dyn OpenAttrs>,
    /// Sorted, for binary search.
    removed: Vec<Rc<str>>,
}

impl RemovedOpen {
    pub(crate) fn new(inner: Rc<dyn OpenAttrs>, removed: Vec<Rc<str>>) -> Self {
        RemovedOpen { inner, removed }
    }

    fn is_removed(&self, name: &str) -> bool {
        self.removed.binary_search_by(|k| (**k).cmp(name)).is_ok()
    }
}

impl OpenAttrs for RemovedOpen {
    fn lookup(&self, name: &str) -> Option<Thunk> {
        if self.is_removed(name) {
            return None;
        }
        self.inner.lookup(name)
    }

    fn names(&self) -> Result<Vec<String>, crate::UnlistedNames> {
        let mut names = self.inner.names()?;
        names.retain(|n| !self.is_removed(n));
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use crate::thunk::Thunk;
    use crate::value::{Attrs, OpenAttrs, Value};
    use crate::{DiskIo, EvalOptions, Evaluator};
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    /// A package set in miniature: `a`, `b` and `x` (each the string "<name>!"), `b` also
    /// listed; its other names known only when `listable`.
    struct Stand {
        listable: bool,
        memo: RefCell<HashMap<String, Thunk>>,
    }

    impl OpenAttrs for Stand {
        fn lookup(&self, name: &str) -> Option<Thunk> {
            if !["a", "x"].contains(&name) {
                return None;
            }
            let mut memo = self.memo.borrow_mut();
            let t = memo
                .entry(name.to_owned())
                .or_insert_with(|| Thunk::value(Value::string(format!("{name}!"))));
            Some(t.clone())
        }

        fn names(&self) -> Result<Vec<String>, crate::UnlistedNames> {
            if self.listable {
                Ok(vec!["a".to_owned(), "x".to_owned()])
            } else {
                Err(crate::UnlistedNames {
                    reason: "not known here".to_owned(),
                    help: None,
                })
            }
        }
    }

    /// What `src` gives with `builtins.S` such a set, printed, or the error's text.
    fn eval(src: &str, listable: bool) -> Result<String, String> {
        let mut listed = Attrs::new();
        listed.insert("b", Thunk::value(Value::string("b!")), None);
        let open = Rc::new(Stand {
            listable,
            memo: RefCell::default(),
        });
        let set = Value::attrs(Attrs::open(listed, open));
        let ev = Evaluator::with_extra_builtins(
            Rc::new(DiskIo),
            EvalOptions::default(),
            vec![("S".into(), set)],
        );
        let v = ev
            .eval_source("«test»", src, std::path::Path::new("/"))
            .map_err(|e| e.to_string())?;
        let printed = crate::print_value(&ev, &v, true).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&printed).into_owned())
    }

    #[test]
    fn map_attrs_of_an_open_set_is_selected_without_its_names() {
        let mapped = "(builtins.mapAttrs (n: v: n + \"=\" + v) builtins.S)";
        assert_eq!(
            eval(&format!("{mapped}.x"), false).as_deref(),
            Ok("\"x=x!\"")
        );
        assert_eq!(
            eval(&format!("{mapped}.b"), false).as_deref(),
            Ok("\"b=b!\"")
        );
        assert_eq!(
            eval(
                &format!("[ ({mapped} ? a) ({mapped} ? zz) ({mapped}.zz or 0) ]"),
                false
            )
            .as_deref(),
            Ok("[ true false 0 ]")
        );
        // Listing still needs the names: an error where they are not known ...
        let err = eval(&format!("builtins.attrNames {mapped}"), false).expect_err("unlisted");
        assert!(err.contains("not known here"), "{err}");
        // ... and every name, mapped, where they are.
        assert_eq!(
            eval(&format!("builtins.attrValues {mapped}"), true).as_deref(),
            Ok("[ \"a=a!\" \"b=b!\" \"x=x!\" ]")
        );
        // Mapped twice: each layer maps what the one below gives.
        assert_eq!(
            eval(
                &format!("(builtins.mapAttrs (_: v: v + \"?\") {mapped}).a"),
                false
            )
            .as_deref(),
            Ok("\"a=a!?\"")
        );
    }

    #[test]
    fn an_open_right_side_of_update_answers_first() {
        assert_eq!(
            eval("({ x = 1; y = 2; } // builtins.S).x", false).as_deref(),
            Ok("\"x!\"")
        );
        assert_eq!(
            eval("({ x = 1; y = 2; } // builtins.S).y", false).as_deref(),
            Ok("2")
        );
        assert_eq!(
            eval("(builtins.S // { x = 1; }).x", false).as_deref(),
            Ok("1")
        );
        // An empty set on either side is still the open set.
        assert_eq!(
            eval("(builtins.S // { }).a", false).as_deref(),
            Ok("\"a!\"")
        );
        assert_eq!(
            eval("({ } // builtins.S).a", false).as_deref(),
            Ok("\"a!\"")
        );
        assert_eq!(
            eval("builtins.attrNames ({ y = 2; } // builtins.S)", true).as_deref(),
            Ok("[ \"a\" \"b\" \"x\" \"y\" ]")
        );
    }

    #[test]
    fn removed_and_intersected_names_ask_the_open_set() {
        assert_eq!(
            eval(
                "let r = removeAttrs builtins.S [ \"x\" \"b\" ]; in [ (r ? x) (r ? b) (r ? a) ]",
                false
            )
            .as_deref(),
            Ok("[ false false true ]")
        );
        assert_eq!(
            eval(
                "builtins.intersectAttrs { x = null; b = null; q = null; } builtins.S",
                false
            )
            .as_deref(),
            Ok("{ b = \"b!\"; x = \"x!\"; }")
        );
        assert_eq!(
            eval("builtins.catAttrs \"x\" [ builtins.S { x = 1; } ]", false).as_deref(),
            Ok("[ \"x!\" 1 ]")
        );
    }

    #[test]
    fn comparing_or_writing_an_open_set_lists_it() {
        let err = eval("builtins.S == { b = \"b!\"; }", false).expect_err("unlisted");
        assert!(err.contains("not known here"), "{err}");
        assert_eq!(
            eval(
                "builtins.S == { a = \"a!\"; b = \"b!\"; x = \"x!\"; }",
                true
            )
            .as_deref(),
            Ok("true")
        );
        let err = eval("builtins.toJSON builtins.S", false).expect_err("unlisted");
        assert!(err.contains("not known here"), "{err}");
        assert_eq!(
            eval("builtins.toJSON builtins.S", true).as_deref(),
            Ok(r#""{\"a\":\"a!\",\"b\":\"b!\",\"x\":\"x!\"}""#)
        );
    }
}
