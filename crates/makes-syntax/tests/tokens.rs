//! rnix's tokenizer tests ASCII bytes without decoding them (vendor/rnix, `consume` and
//! `peek`); these tests hold it to whole characters where the text is not ASCII.

use rnix::SyntaxKind::{self, *};

fn tokens(text: &str) -> Vec<(SyntaxKind, &str)> {
    rnix::tokenize(text).collect()
}

#[test]
fn unicode_whitespace_and_comments_are_whole_tokens() {
    assert_eq!(
        tokens("a\u{a0}\u{2003} b # é\n/* ü */c"),
        vec![
            (TOKEN_IDENT, "a"),
            (TOKEN_WHITESPACE, "\u{a0}\u{2003} "),
            (TOKEN_IDENT, "b"),
            (TOKEN_WHITESPACE, " "),
            (TOKEN_COMMENT, "# é"),
            (TOKEN_WHITESPACE, "\n"),
            (TOKEN_COMMENT, "/* ü */"),
            (TOKEN_IDENT, "c"),
        ]
    );
}

#[test]
fn a_name_ends_before_a_character_that_is_not_ascii() {
    assert_eq!(
        tokens("ab\u{e9}c ./p\u{fc}"),
        vec![
            (TOKEN_IDENT, "ab"),
            (TOKEN_ERROR, "\u{e9}"),
            (TOKEN_IDENT, "c"),
            (TOKEN_WHITESPACE, " "),
            (TOKEN_PATH_REL, "./p"),
            (TOKEN_ERROR, "\u{fc}"),
        ]
    );
}

#[test]
fn runs_of_path_characters_keep_their_kinds() {
    assert_eq!(
        tokens("a.b_c+d x_y:z u:v"),
        vec![
            (TOKEN_IDENT, "a"),
            (TOKEN_DOT, "."),
            (TOKEN_IDENT, "b_c"),
            (TOKEN_ADD, "+"),
            (TOKEN_IDENT, "d"),
            (TOKEN_WHITESPACE, " "),
            (TOKEN_IDENT, "x_y"),
            (TOKEN_COLON, ":"),
            (TOKEN_IDENT, "z"),
            (TOKEN_WHITESPACE, " "),
            (TOKEN_URI, "u:v"),
        ]
    );
}
