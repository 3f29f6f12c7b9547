//! Version strings and derivation names: `compareVersions`, `splitVersion`, `parseDrvName`,
//! with Nix's component rules (`pre` sorts first, numbers before words, `2.3a < 2.3.1`).
//! Versions are text: a string of invalid UTF-8 is an error naming it.

use super::{arg_string, attrs_value, list_value, BuiltinDef};
use crate::thunk::Thunk;
use crate::value::{Attrs, Value};
use std::cmp::Ordering;

pub(crate) const BUILTINS: &[BuiltinDef] = &[
    ("compareVersions", 2, |ev, a| {
        let x = arg_string(ev, &a[0])?;
        let y = arg_string(ev, &a[1])?;
        Ok(Value::Int(match compare_versions(x.utf8()?, y.utf8()?) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }))
    }),
    ("splitVersion", 1, |ev, a| {
        let s = arg_string(ev, &a[0])?;
        let mut rest = s.utf8()?;
        let mut out = Vec::new();
        loop {
            let c = next_component(&mut rest);
            if c.is_empty() {
                break;
            }
            out.push(Thunk::value(Value::string(c)));
        }
        Ok(list_value(out))
    }),
    ("parseDrvName", 1, |ev, a| {
        let s = arg_string(ev, &a[0])?;
        let text = s.utf8()?;
        let bytes = text.as_bytes();
        let split = (0..bytes.len()).find(|&i| {
            bytes[i] == b'-' && bytes.get(i + 1).is_some_and(|c| !c.is_ascii_alphabetic())
        });
        let (name, version) = match split {
            Some(i) => (&text[..i], &text[i + 1..]),
            None => (text, ""),
        };
        let mut out = Attrs::new();
        out.insert("name", Thunk::value(Value::string(name)), None);
        out.insert("version", Thunk::value(Value::string(version)), None);
        Ok(attrs_value(out))
    }),
];

fn next_component<'a>(rest: &mut &'a str) -> &'a str {
    let s = rest.trim_start_matches(['.', '-']);
    let bytes = s.as_bytes();
    let len = if bytes.first().is_some_and(u8::is_ascii_digit) {
        bytes.iter().take_while(|c| c.is_ascii_digit()).count()
    } else {
        bytes
            .iter()
            .take_while(|&&c| !c.is_ascii_digit() && c != b'.' && c != b'-')
            .count()
    };
    let (c, r) = s.split_at(len);
    *rest = r;
    c
}

fn components_lt(c1: &str, c2: &str) -> bool {
    let n1 = c1.parse::<i64>().ok().filter(|_| !c1.is_empty());
    let n2 = c2.parse::<i64>().ok().filter(|_| !c2.is_empty());
    match (n1, n2) {
        (Some(a), Some(b)) => a < b,
        _ if c1.is_empty() && n2.is_some() => true,
        _ if c1 == "pre" && c2 != "pre" => true,
        _ if c2 == "pre" => false,
        (_, Some(_)) => true,
        (Some(_), _) => false,
        _ => c1 < c2,
    }
}

pub(crate) fn compare_versions(v1: &str, v2: &str) -> Ordering {
    let (mut p1, mut p2) = (v1, v2);
    while !p1.is_empty() || !p2.is_empty() {
        let c1 = next_component(&mut p1);
        let c2 = next_component(&mut p2);
        if components_lt(c1, c2) {
            return Ordering::Less;
        }
        if components_lt(c2, c1) {
            return Ordering::Greater;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_nix() {
        assert_eq!(compare_versions("1.0", "2.3"), Ordering::Less);
        assert_eq!(compare_versions("2.3a", "2.3.1"), Ordering::Less);
        assert_eq!(compare_versions("2.3pre1", "2.3"), Ordering::Less);
        assert_eq!(compare_versions("1.0", "1.0"), Ordering::Equal);
    }
}
