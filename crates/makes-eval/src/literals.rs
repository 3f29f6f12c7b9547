//! The string values of string literals, made once per literal.
//!
//! A string is one allocation of its context and bytes (`NixString`), which cannot share the
//! source's `Rc<str>`; made afresh, every evaluation of `"foo"` would allocate and copy. As Nix
//! makes a literal's value when it parses it, the evaluator keeps each literal's string,
//! found by the address of the literal's text (held here, so that the address is never reused
//! by other text while its entry lives).

use crate::value::NixString;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// The strings of the literals evaluated so far.
#[derive(Default)]
pub(crate) struct Literals {
    strings: RefCell<ByAddress>,
}

/// Each literal's text (kept, so that its address stays its own) and string, by the text's
/// address.
type ByAddress = HashMap<usize, (Rc<str>, NixString), BuildHasherDefault<AddressHasher>>;

impl Literals {
    /// The string value of the literal `text` (the text of a `Str` node of the tree).
    #[inline]
    pub(crate) fn get(&self, text: &Rc<str>) -> NixString {
        let key = text.as_ptr() as usize;
        if let Some((_, string)) = self.strings.borrow().get(&key) {
            return string.clone();
        }
        let string = NixString::literal(text);
        self.strings
            .borrow_mut()
            .insert(key, (text.clone(), string.clone()));
        string
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
}
