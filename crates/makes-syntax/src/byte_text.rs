//! Bytes carried losslessly through places that hold text (`str`): JSON built with
//! `serde_json`, and attribute names. Nix strings are bytes, and Nix writes them through
//! where makes' types want UTF-8, so each byte of an invalid UTF-8 sequence becomes a
//! code point of the last private-use block, U+10FF80..=U+10FFFF standing for the bytes
//! 0x80..=0xFF, and back again when the text becomes bytes. A real character of that range
//! (four bytes of UTF-8) is escaped the same way, byte by byte, so the mapping is a
//! bijection: any bytes go to text and come back unchanged, and UTF-8 text without those
//! characters is its own image.

use std::borrow::Cow;
use std::cmp::Ordering;

/// The code point standing for byte 0: bytes 0x80..=0xFF become `BASE + byte`.
const BASE: u32 = 0x10_FF00;
/// The first code point standing for a byte.
const FIRST_RESERVED: u32 = BASE + 0x80;

fn stands_for_a_byte(c: char) -> bool {
    c as u32 >= FIRST_RESERVED
}

fn byte_char(b: u8) -> char {
    // BASE + 0x80..=BASE + 0xFF are valid scalar values (not surrogates, at most U+10FFFF).
    char::from_u32(BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Whether UTF-8 `bytes` hold a character of the reserved range (`F4 8F BE..BF xx`).
fn holds_reserved(bytes: &[u8]) -> bool {
    // Text mostly holds no 0xF4 byte at all, which one word-at-a-time scan tells.
    bytes.contains(&0xF4)
        && bytes
            .windows(3)
            .any(|w| w[0] == 0xF4 && w[1] == 0x8F && w[2] >= 0xBE)
}

/// `bytes` as text: UTF-8 stays as it is (borrowed), other bytes become reserved code points.
pub fn bytes_to_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if !holds_reserved(bytes) {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if stands_for_a_byte(c) {
                let mut buf = [0u8; 4];
                out.extend(c.encode_utf8(&mut buf).bytes().map(byte_char));
            } else {
                out.push(c);
            }
        }
        out.extend(chunk.invalid().iter().copied().map(byte_char));
    }
    Cow::Owned(out)
}

/// The bytes `text` stands for: the inverse of [`bytes_to_text`].
pub fn text_to_bytes(text: &str) -> Cow<'_, [u8]> {
    if !holds_reserved(text.as_bytes()) {
        return Cow::Borrowed(text.as_bytes());
    }
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if stands_for_a_byte(c) {
            // In range: c - BASE is 0x80..=0xFF.
            out.push((c as u32 - BASE) as u8);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Cow::Owned(out)
}

/// The order of the bytes `a` and `b` stand for, as Nix orders strings (bytewise), without
/// building those bytes. UTF-8 orders as its code points do, so text compares as it is up to
/// the first character that differs; only when one of those two stands for a byte are the
/// rest compared byte by byte.
pub fn cmp_as_bytes(a: &str, b: &str) -> Ordering {
    let common = a
        .as_bytes()
        .iter()
        .zip(b.as_bytes())
        .take_while(|(x, y)| x == y)
        .count();
    // Both share the bytes before `common`, so a character boundary of one is one of the other.
    let start = (0..=common)
        .rev()
        .find(|&i| a.is_char_boundary(i))
        .unwrap_or(0);
    let (rest_a, rest_b) = (&a[start..], &b[start..]);
    match (rest_a.chars().next(), rest_b.chars().next()) {
        (Some(x), Some(y)) if !stands_for_a_byte(x) && !stands_for_a_byte(y) => x.cmp(&y),
        (Some(_), Some(_)) => original_bytes(rest_a).cmp(original_bytes(rest_b)),
        (x, y) => x.is_some().cmp(&y.is_some()),
    }
}

/// The bytes `text` stands for, one by one.
fn original_bytes(text: &str) -> impl Iterator<Item = u8> + '_ {
    text.chars().flat_map(|c| {
        let mut buf = [0u8; 4];
        let len = if stands_for_a_byte(c) {
            // In range: c - BASE is 0x80..=0xFF.
            buf[0] = (c as u32 - BASE) as u8;
            1
        } else {
            c.encode_utf8(&mut buf).len()
        };
        buf.into_iter().take(len)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(bytes: &[u8]) {
        let text = bytes_to_text(bytes);
        assert_eq!(&*text_to_bytes(&text), bytes, "{}", bytes.escape_ascii());
    }

    #[test]
    fn utf8_is_its_own_image() {
        for s in ["", "plain", "café ÿ", "\u{10FF7F}", "日本"] {
            assert!(matches!(bytes_to_text(s.as_bytes()), Cow::Borrowed(t) if t == s));
            assert!(matches!(text_to_bytes(s), Cow::Borrowed(b) if b == s.as_bytes()));
        }
    }

    #[test]
    fn any_bytes_come_back_unchanged() {
        round_trip(b"caf\xe9 \xff na\xefve\n");
        round_trip(b"\x80\xbf\xc3");
        round_trip("\u{10FF80} and \u{10FFFF}".as_bytes());
        round_trip(b"\xf4\x8f\xbe");
        let all: Vec<u8> = (0..=255).collect();
        round_trip(&all);
        let pairs: Vec<u8> = (0..=255u8).flat_map(|a| [a, 0xbf, a, 0x80]).collect();
        round_trip(&pairs);
    }

    #[test]
    fn distinct_bytes_give_distinct_text() {
        let a = bytes_to_text(b"\xff");
        let b = bytes_to_text("\u{10FFFF}".as_bytes());
        let c = bytes_to_text("ÿ".as_bytes());
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
    }

    #[test]
    fn names_compare_as_their_bytes() {
        let samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"a".to_vec(),
            b"caf".to_vec(),
            b"caf\xe9".to_vec(),
            b"caf\xe9!".to_vec(),
            "café".as_bytes().to_vec(),
            b"\xc3".to_vec(),
            b"\xc3\xa9".to_vec(),
            b"\xc3\xa8\xff".to_vec(),
            b"\xe9".to_vec(),
            b"\xff".to_vec(),
            b"\xf4".to_vec(),
            b"\xf4\x8f\xbf".to_vec(),
            "😀".as_bytes().to_vec(),
            "\u{10FF7F}".as_bytes().to_vec(),
            "\u{10FFFF}".as_bytes().to_vec(),
            "\u{10FFFF}x".as_bytes().to_vec(),
            "日本".as_bytes().to_vec(),
        ];
        for x in &samples {
            for y in &samples {
                let (tx, ty) = (bytes_to_text(x), bytes_to_text(y));
                assert_eq!(
                    cmp_as_bytes(&tx, &ty),
                    x.cmp(y),
                    "{} vs {}",
                    x.escape_ascii(),
                    y.escape_ascii()
                );
            }
        }
    }
}
