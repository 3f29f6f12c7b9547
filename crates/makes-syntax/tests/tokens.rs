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

#[test]
fn punctuation_next_to_paths_and_uris_keeps_its_kinds() {
    use SyntaxKind::*;
    assert_eq!(
        tokens("{a=./b;c=[x:y];d=(<p>);e=\"s\"+''t'';f=!g||h&&i?j@k,l*m/n;}"),
        vec![
            (TOKEN_L_BRACE, "{"),
            (TOKEN_IDENT, "a"),
            (TOKEN_ASSIGN, "="),
            (TOKEN_PATH_REL, "./b"),
            (TOKEN_SEMICOLON, ";"),
            (TOKEN_IDENT, "c"),
            (TOKEN_ASSIGN, "="),
            (TOKEN_L_BRACK, "["),
            (TOKEN_URI, "x:y"),
            (TOKEN_R_BRACK, "]"),
            (TOKEN_SEMICOLON, ";"),
            (TOKEN_IDENT, "d"),
            (TOKEN_ASSIGN, "="),
            (TOKEN_L_PAREN, "("),
            (TOKEN_PATH_SEARCH, "<p>"),
            (TOKEN_R_PAREN, ")"),
            (TOKEN_SEMICOLON, ";"),
            (TOKEN_IDENT, "e"),
            (TOKEN_ASSIGN, "="),
            (TOKEN_STRING_START, "\""),
            (TOKEN_STRING_CONTENT, "s"),
            (TOKEN_STRING_END, "\""),
            (TOKEN_ADD, "+"),
            (TOKEN_STRING_START, "''"),
            (TOKEN_STRING_CONTENT, "t"),
            (TOKEN_STRING_END, "''"),
            (TOKEN_SEMICOLON, ";"),
            (TOKEN_IDENT, "f"),
            (TOKEN_ASSIGN, "="),
            (TOKEN_INVERT, "!"),
            (TOKEN_IDENT, "g"),
            (TOKEN_OR_OR, "||"),
            (TOKEN_IDENT, "h"),
            (TOKEN_AND_AND, "&&"),
            (TOKEN_IDENT, "i"),
            (TOKEN_QUESTION, "?"),
            (TOKEN_IDENT, "j"),
            (TOKEN_AT, "@"),
            (TOKEN_IDENT, "k"),
            (TOKEN_COMMA, ","),
            (TOKEN_IDENT, "l"),
            (TOKEN_MUL, "*"),
            (TOKEN_PATH_REL, "m/n"),
            (TOKEN_SEMICOLON, ";"),
            (TOKEN_R_BRACE, "}"),
        ]
    );
}
