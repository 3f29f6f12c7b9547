//! rnix parses operators by precedence climbing in one loop (vendor/rnix, `parse_binary`);
//! these tests compare its trees and errors with rnix's original function per precedence
//! level, kept there as `Root::parse_by_levels`.

use rnix::{ParseError, Root};

/// The tree (as its debug dump, which shows every node, token and range) and the errors.
fn parse_with(text: &str, by_levels: bool) -> (String, Vec<ParseError>) {
    let parse = if by_levels {
        Root::parse_by_levels(text)
    } else {
        Root::parse(text)
    };
    (format!("{:#?}", parse.syntax()), parse.errors().to_vec())
}

fn assert_same(text: &str) {
    assert_eq!(parse_with(text, false), parse_with(text, true), "{text:?}");
}

const PIECES: [&str; 20] = [
    "a", "!", "-", "+", "*", "/", "++", "//", "<", ">=", "==", "!=", "&&", "||", "->", "|>", "<|",
    "?", "f a", "(",
];

#[test]
fn every_short_operator_sequence_parses_as_by_levels() {
    // Every sequence of up to three pieces, each also with `a` at both ends.
    let mut seqs: Vec<Vec<&str>> = vec![vec![]];
    for _ in 0..3 {
        let mut longer = Vec::new();
        for seq in &seqs {
            for piece in PIECES {
                let mut next = seq.clone();
                next.push(piece);
                longer.push(next);
            }
        }
        for seq in &longer {
            let body = seq.join(" ");
            assert_same(&body);
            assert_same(&format!("a {body} a"));
        }
        seqs = longer;
    }
}

#[test]
fn long_random_operator_chains_parse_as_by_levels() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..5_000 {
        let mut text = String::new();
        let len = 4 + (state % 12) as usize;
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
            text.push(' ');
            if state.is_multiple_of(5) {
                text.push_str("a ");
            }
        }
        assert_same(&text);
    }
}

#[test]
fn whole_expressions_parse_as_by_levels() {
    for text in [
        "let a = 1; b = !a.x or 2 -> -b ? c.d || e && f == g < h // !i + j * k ++ l; in a |> b <| c",
        "x: { y ? 1, ... }@z: if a < b then [ (c - -d) e.f ] else with g; assert h; i // { j = k; }",
        "a ? b ? c + d ? e",
        "!a ? b",
        "- a ? b",
        "a == b == c",
        "a < b < c",
        "a && b == c == d",
        "a -> b || c -> d",
        "!!a + b // c",
        "a // !b + c",
        "a + !b",
        "\"${a + b}\" + c",
        "a +",
        "+ a",
        "a ++ b ++ c * d * e",
    ] {
        assert_same(text);
    }
}
