//! `match` and `split`: POSIX extended regular expressions, as Nix reads them, translated to
//! the `regex` crate's syntax (bracket expressions differ; `.` matches newlines).

use super::{arg_string, list_value, BuiltinDef};
use crate::thunk::Thunk;
use crate::value::{NixString, Value};
use crate::{EvalError, Result};
use regex::bytes::{CaptureLocations, Captures, Regex};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("match", 2, |ev, a| {
        let re = arg_string(ev, &a[0])?;
        let s = arg_string(ev, &a[1])?;
        let re = compile(&re, true)?;
        // The pattern's own capture locations, reused: no allocation per match.
        let mut locations = re.locations.borrow_mut();
        Ok(match re.regex.captures_read(&mut locations, s.as_bytes()) {
            None => Value::Null,
            Some(_) => {
                let text = s.as_bytes();
                list_value(
                    (1..locations.len())
                        .map(|i| {
                            Thunk::value(match locations.get(i) {
                                Some((start, end)) => Value::string(&text[start..end]),
                                None => Value::Null,
                            })
                        })
                        .collect(),
                )
            }
        })
    }),
    ("split", 2, |ev, a| {
        let re = arg_string(ev, &a[0])?;
        let s = arg_string(ev, &a[1])?;
        let re = &compile(&re, false)?.regex;
        let text = s.as_bytes();
        let mut out = Vec::new();
        let mut last = 0;
        let mut at = 0;
        while at <= text.len() {
            let Some(caps) = re.captures_at(text, at) else {
                break;
            };
            let Some(m) = caps.get(0) else { break };
            out.push(Thunk::value(Value::string(&text[last..m.start()])));
            out.push(Thunk::value(list_value(groups(&caps))));
            last = m.end();
            // Past an empty match by one byte, as Nix's byte-wise matching moves.
            at = if m.is_empty() { m.end() + 1 } else { m.end() };
        }
        if out.is_empty() {
            return Ok(list_value(vec![Thunk::value(Value::String(s.clone()))]));
        }
        out.push(Thunk::value(Value::String(NixString::plain(&text[last..]))));
        Ok(list_value(out))
    }),
];

fn groups(caps: &Captures<'_>) -> Vec<Thunk> {
    (1..caps.len())
        .map(|i| {
            Thunk::value(match caps.get(i) {
                Some(m) => Value::string(m.as_bytes()),
                None => Value::Null,
            })
        })
        .collect()
}

/// A compiled pattern and room for its capture locations (`match` reuses it).
struct Compiled {
    regex: Regex,
    locations: RefCell<CaptureLocations>,
}

thread_local! {
    /// Compiled patterns: `split`'s (index 0) and `match`'s, anchored (index 1).
    static CACHE: RefCell<[Patterns; 2]> = RefCell::new(Default::default());
}

/// How many patterns [`Patterns`] compares before hashing.
const RECENT: usize = 4;

/// Compiled patterns by their bytes, looked up before the pattern is checked as text: code
/// matches a few patterns over and over (`lib.toInt` two per call), and comparing a few
/// short byte strings costs less than hashing one.
#[derive(Default)]
struct Patterns {
    /// The last patterns found or compiled, at most [`RECENT`], most recent first.
    recent: Vec<(Rc<[u8]>, Rc<Compiled>)>,
    all: HashMap<Rc<[u8]>, Rc<Compiled>>,
}

impl Patterns {
    fn get(&mut self, pattern: &[u8]) -> Option<Rc<Compiled>> {
        if let Some(i) = self.recent.iter().position(|(p, _)| **p == *pattern) {
            self.recent[..=i].rotate_right(1);
            return Some(self.recent[0].1.clone());
        }
        let (key, re) = self.all.get_key_value(pattern)?;
        let (key, re) = (key.clone(), re.clone());
        self.remember(key, re.clone());
        Some(re)
    }

    fn insert(&mut self, pattern: &[u8], re: Rc<Compiled>) {
        let key: Rc<[u8]> = Rc::from(pattern);
        self.all.insert(key.clone(), re.clone());
        self.remember(key, re);
    }

    fn remember(&mut self, key: Rc<[u8]>, re: Rc<Compiled>) {
        self.recent.truncate(RECENT - 1);
        self.recent.insert(0, (key, re));
    }
}

/// Compiles a POSIX ERE (anchored at both ends for `match`), once per pattern. It matches
/// bytes, as Nix's `std::regex` over `char` does: `.` is any byte, classes are ASCII, and a
/// string need not be UTF-8.
fn compile(pattern: &NixString, whole: bool) -> Result<Rc<Compiled>> {
    let bytes = pattern.as_bytes();
    if let Some(re) = CACHE.with(|c| c.borrow_mut()[whole as usize].get(bytes)) {
        return Ok(re);
    }
    let pattern = pattern.utf8()?;
    let invalid = || EvalError::other(format!("invalid regular expression '{pattern}'"), None);
    let translated = translate(pattern).ok_or_else(invalid)?;
    let full = if whole {
        format!("(?s-u)\\A(?:{translated})\\z")
    } else {
        format!("(?s-u){translated}")
    };
    let regex = Regex::new(&full).map_err(|_| invalid())?;
    let locations = RefCell::new(regex.capture_locations());
    let re = Rc::new(Compiled { regex, locations });
    CACHE.with(|c| c.borrow_mut()[whole as usize].insert(bytes, re.clone()));
    Ok(re)
}

/// POSIX ERE -> `regex` syntax. Outside brackets the two agree on what Nix code uses; inside a
/// bracket expression `\` is literal in POSIX and `[`, `&`, `~` are special to `regex`.
pub(crate) fn translate(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let next = *chars.get(i + 1)?;
                out.push('\\');
                out.push(next);
                i += 2;
            }
            '[' => {
                i += 1;
                out.push('[');
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                let mut first = true;
                loop {
                    let c = *chars.get(i)?;
                    if c == ']' && !first {
                        out.push(']');
                        i += 1;
                        break;
                    }
                    first = false;
                    if c == '[' && matches!(chars.get(i + 1), Some(':' | '.' | '=')) {
                        let kind = chars[i + 1];
                        let start = i;
                        i += 2;
                        while i + 1 < chars.len() && !(chars[i] == kind && chars[i + 1] == ']') {
                            i += 1;
                        }
                        if i + 1 >= chars.len() {
                            return None;
                        }
                        let inner: String = chars[start + 2..i].iter().collect();
                        i += 2;
                        match kind {
                            ':' => out.push_str(&format!("[:{inner}:]")),
                            _ => {
                                for ch in inner.chars() {
                                    push_class_char(&mut out, ch);
                                }
                            }
                        }
                        continue;
                    }
                    if c == '-' {
                        let at_edge = chars.get(i + 1) == Some(&']') || out.ends_with('[');
                        if at_edge || out.ends_with("[^") {
                            out.push_str("\\-");
                        } else {
                            out.push('-');
                        }
                        i += 1;
                        continue;
                    }
                    push_class_char(&mut out, c);
                    i += 1;
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// A character of a bracket expression, escaped when `regex` gives it a meaning there. Only
/// its meta characters: an escaped `<` or `>` would be a word boundary (`[<>]` is two
/// characters in POSIX).
fn push_class_char(out: &mut String, c: char) {
    out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_found_recent_or_not() {
        let compiled = |p: &str| {
            Rc::new(Compiled {
                regex: Regex::new(p).expect("compiles"),
                locations: RefCell::new(Regex::new(p).expect("compiles").capture_locations()),
            })
        };
        let mut patterns = Patterns::default();
        assert!(patterns.get(b"a").is_none());
        let names: Vec<String> = (0..RECENT + 2).map(|i| format!("p{i}")).collect();
        let made: Vec<Rc<Compiled>> = names.iter().map(|n| compiled(n)).collect();
        for (name, re) in names.iter().zip(&made) {
            patterns.insert(name.as_bytes(), re.clone());
        }
        assert_eq!(patterns.recent.len(), RECENT);
        // Every pattern is found, the ones pushed out of the recent ones in the map, and the
        // one found last is the most recent.
        for (name, re) in names.iter().zip(&made) {
            let found = patterns.get(name.as_bytes()).expect("cached");
            assert!(Rc::ptr_eq(&found, re), "{name}");
            assert_eq!(&*patterns.recent[0].0, name.as_bytes());
        }
        let again = patterns.get(b"p1").expect("cached");
        assert!(Rc::ptr_eq(&again, &made[1]));
        assert_eq!(&*patterns.recent[0].0, b"p1");
        assert_eq!(patterns.recent.len(), RECENT);
        assert!(patterns.get(b"p").is_none());
    }

    #[test]
    fn brackets_are_translated() {
        assert_eq!(translate("[\\]").as_deref(), Some("[\\\\]"));
        assert_eq!(translate("[]a]").as_deref(), Some("[\\]a]"));
        assert_eq!(translate("[a-z-]").as_deref(), Some("[a-z\\-]"));
        assert_eq!(translate("[[:alpha:]_]").as_deref(), Some("[[:alpha:]_]"));
        assert!(translate("[abc").is_none());
        assert_eq!(translate(".*[<>\"'&].*").as_deref(), Some(".*[<>\"'\\&].*"));
        let re = &compile(&NixString::plain(".*[<>\"'&].*"), true)
            .expect("compiles")
            .regex;
        assert!(re.is_match(b"a<b") && re.is_match(b"&") && !re.is_match(b"abc"));
    }
}
