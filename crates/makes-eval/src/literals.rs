//! The string values of string literals, made once per literal, and the thunks of constants.
//!
//! A string is one allocation of its context and bytes (`NixString`), which cannot share the
//! source's `Rc<str>`; made afresh, every evaluation of `"foo"` would allocate and copy. As Nix
//! makes a literal's value when it parses it, the evaluator keeps each literal's string,
//! found by the address of the literal's text (held here, so that the address is never reused
//! by other text while its entry lives).

use crate::thunk::Thunk;
use crate::value::{NixString, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// The strings of the literals evaluated so far, and the lazy values of constants passed as
/// arguments or held in sets and lists.
///
/// A constant's thunk is computed already and never changes, so one thunk serves every use
/// of the constant: Nix, too, passes a constant's value itself instead of a thunk. Without
/// it, each `f "x"` or `elemAt xs 0` would allocate a thunk.
pub(crate) struct Literals {
    strings: RefCell<ByAddress>,
    small_ints: Box<[Thunk]>,
}

/// Each literal's text (kept, so that its address stays its own), string and thunk, by the
/// text's address.
type ByAddress = HashMap<usize, Literal, BuildHasherDefault<AddressHasher>>;

struct Literal {
    _text: Rc<str>,
    string: NixString,
    thunk: Thunk,
}

/// The integers from zero up to this (excluded) have a thunk made in advance: the indices,
/// counts and offsets code writes as constants.
const SMALL_INTS: i64 = 32;

impl Default for Literals {
    fn default() -> Self {
        Literals {
            strings: RefCell::default(),
            small_ints: (0..SMALL_INTS)
                .map(|i| Thunk::value(Value::Int(i)))
                .collect(),
        }
    }
}

impl Literals {
    /// The string value of the literal `text` (the text of a `Str` node of the tree).
    #[inline]
    pub(crate) fn get(&self, text: &Rc<str>) -> NixString {
        let key = text.as_ptr() as usize;
        if let Some(literal) = self.strings.borrow().get(&key) {
            return literal.string.clone();
        }
        self.insert(text).string.clone()
    }

    /// The thunk of the literal `text`, a string: the same one for each use.
    #[inline]
    pub(crate) fn thunk(&self, text: &Rc<str>) -> Thunk {
        let key = text.as_ptr() as usize;
        if let Some(literal) = self.strings.borrow().get(&key) {
            return literal.thunk.clone();
        }
        self.insert(text).thunk.clone()
    }

    /// The thunk of the integer constant `i`: shared if it is a small one, else a new one.
    #[inline]
    pub(crate) fn int_thunk(&self, i: i64) -> Thunk {
        match usize::try_from(i).ok().and_then(|i| self.small_ints.get(i)) {
            Some(thunk) => thunk.clone(),
            None => Thunk::value(Value::Int(i)),
        }
    }

    /// Makes the entry of a literal not seen before.
    #[inline(never)]
    fn insert(&self, text: &Rc<str>) -> std::cell::Ref<'_, Literal> {
        let key = text.as_ptr() as usize;
        let string = NixString::literal(text);
        let literal = Literal {
            _text: text.clone(),
            thunk: Thunk::value(Value::String(string.clone())),
            string,
        };
        self.strings.borrow_mut().insert(key, literal);
        // The entry was inserted just above: indexing finds it.
        std::cell::Ref::map(self.strings.borrow(), |strings| &strings[&key])
    }
}

/// Hashes an address: its bits above the alignment, spread by a multiplication (Fibonacci
/// hashing), cheaper than SipHash for a key that is already well distributed.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_is_made_once_and_equal_texts_apart() {
        let literals = Literals::default();
        let a: Rc<str> = Rc::from("foo");
        let b: Rc<str> = Rc::from("foo");
        let first = literals.get(&a);
        assert_eq!(first.as_bytes(), b"foo");
        assert!(first.same_allocation(&literals.get(&a)));
        assert!(!first.same_allocation(&literals.get(&b)));
    }

    #[test]
    fn a_constant_has_one_thunk_holding_its_value() {
        let literals = Literals::default();
        let a: Rc<str> = Rc::from("foo");
        let b: Rc<str> = Rc::from("foo");
        let thunk = literals.thunk(&a);
        assert!(thunk.ptr_eq(&literals.thunk(&a)));
        assert!(!thunk.ptr_eq(&literals.thunk(&b)));
        // The thunk holds the very string `get` gives.
        match thunk.peek() {
            Some(Value::String(s)) => assert!(s.same_allocation(&literals.get(&a))),
            _ => panic!("a literal's thunk holds its string"),
        }
        // Small integers share a thunk; others, and negative ones, get their own.
        assert!(literals.int_thunk(3).ptr_eq(&literals.int_thunk(3)));
        for i in [-1, 3, SMALL_INTS - 1, SMALL_INTS, i64::MAX, i64::MIN] {
            assert!(matches!(literals.int_thunk(i).peek(), Some(Value::Int(n)) if n == i));
        }
        assert!(!literals
            .int_thunk(SMALL_INTS)
            .ptr_eq(&literals.int_thunk(SMALL_INTS)));
        assert!(!literals.int_thunk(-1).ptr_eq(&literals.int_thunk(-1)));
    }
}
