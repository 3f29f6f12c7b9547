//! A bound on how deeply a source file nests, checked on its tokens as the parser reads them.
//!
//! The parser, the lowering and the evaluator recurse once per level of the syntax tree, so a
//! file nested absurdly deep (`[[[[...]]]]`, `!!!!x`, `a+a+a+...` a hundred thousand times)
//! would exhaust the native stack. Nix's own parser gives up at a depth of about 10,000
//! ("memory exhausted"); makes allows more, and reports "expression nested too deeply" at the
//! first token past the bound instead of crashing.

use crate::error::SyntaxError;
use crate::source::{FileId, Span};
use rnix::SyntaxKind::{self, *};
use rnix::Token;

/// The deepest nesting allowed, in the units of `check_nesting`: comfortably above what real
/// files and the 10,000-deep cases of the tests need, and below what the evaluation thread's
/// stack holds in a debug build.
pub(crate) const MAX_NESTING: usize = 30_000;

/// Passes tokens through while estimating how deeply they nest, and ends the stream at the
/// first token past `MAX_NESTING`, so that the parser reading from it never recurses deeper
/// (and the file is tokenized once, for both). The depth is estimated from tokens, without
/// parsing: each bracket (`(`, `[`, `{`, `${`, a string) opens a level, and within a level each
/// operator and each operand of a function application or operator chain counts one more (they
/// make the tree one deeper each), until a `;`, `,`, `=`, `:`, `then`, `else` or `in` starts a
/// sibling expression. The elements of a list and the names of an attribute path do not nest,
/// and do not count.
pub(crate) struct NestingGuard<'a, I> {
    tokens: I,
    /// Per open level: whether it is a list, and how many operators and operands it counted.
    levels: Vec<(bool, usize)>,
    counted: usize,
    offset: usize,
    previous: SyntaxKind,
    /// The byte range of the first token past the bound, once one was seen.
    too_deep: Option<(usize, usize)>,
    _text: std::marker::PhantomData<&'a str>,
}

impl<'a, I: Iterator<Item = Token<'a>>> NestingGuard<'a, I> {
    pub(crate) fn new(tokens: I) -> Self {
        NestingGuard {
            tokens,
            levels: vec![(false, 0)],
            counted: 0,
            offset: 0,
            previous: TOKEN_WHITESPACE,
            too_deep: None,
            _text: std::marker::PhantomData,
        }
    }

    /// The error for the token that ended the stream, if the bound ended it.
    pub(crate) fn error(&self, file: FileId) -> Option<SyntaxError> {
        let (start, end) = self.too_deep?;
        Some(SyntaxError::Parse {
            message: "expression nested too deeply".to_owned(),
            span: Span {
                file,
                start: u32::try_from(start).unwrap_or(u32::MAX),
                end: u32::try_from(end).unwrap_or(u32::MAX),
            },
        })
    }

    /// Counts `kind`; false if it goes past the bound.
    fn admit(&mut self, kind: SyntaxKind) -> bool {
        let in_list = self.levels.last().is_some_and(|l| l.0);
        if is_operator(kind) || (is_operand(kind) && !in_list && self.previous != TOKEN_DOT) {
            if let Some(level) = self.levels.last_mut() {
                level.1 += 1;
                self.counted += 1;
            }
        }
        match kind {
            TOKEN_L_PAREN | TOKEN_L_BRACE | TOKEN_L_BRACK | TOKEN_INTERPOL_START
            | TOKEN_STRING_START => self.levels.push((kind == TOKEN_L_BRACK, 0)),
            // The outermost level is never closed (an unbalanced `)` is the parser's to report).
            TOKEN_R_PAREN | TOKEN_R_BRACE | TOKEN_R_BRACK | TOKEN_INTERPOL_END
            | TOKEN_STRING_END
                if self.levels.len() > 1 =>
            {
                if let Some((_, n)) = self.levels.pop() {
                    self.counted -= n;
                }
            }
            TOKEN_SEMICOLON | TOKEN_COMMA | TOKEN_ASSIGN | TOKEN_COLON | TOKEN_THEN
            | TOKEN_ELSE | TOKEN_IN => {
                if let Some(level) = self.levels.last_mut() {
                    self.counted -= level.1;
                    level.1 = 0;
                }
            }
            _ => {}
        }
        self.previous = kind;
        self.levels.len() + self.counted <= MAX_NESTING
    }
}

impl<'a, I: Iterator<Item = Token<'a>>> Iterator for NestingGuard<'a, I> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        if self.too_deep.is_some() {
            return None;
        }
        let (kind, text) = self.tokens.next()?;
        let start = self.offset;
        self.offset += text.len();
        if matches!(kind, TOKEN_WHITESPACE | TOKEN_COMMENT) || self.admit(kind) {
            Some((kind, text))
        } else {
            self.too_deep = Some((start, self.offset));
            None
        }
    }
}

/// An error if `text` nests deeper than `MAX_NESTING` (the guard alone, without a parser).
#[cfg(test)]
fn check_nesting(text: &str, file: FileId) -> Result<(), SyntaxError> {
    let mut guard = NestingGuard::new(rnix::tokenize(text));
    for _ in guard.by_ref() {}
    guard.error(file).map_or(Ok(()), Err)
}

fn is_operator(kind: SyntaxKind) -> bool {
    matches!(
        kind,
        TOKEN_ADD
            | TOKEN_SUB
            | TOKEN_MUL
            | TOKEN_DIV
            | TOKEN_CONCAT
            | TOKEN_UPDATE
            | TOKEN_IMPLICATION
            | TOKEN_AND_AND
            | TOKEN_OR_OR
            | TOKEN_INVERT
            | TOKEN_EQUAL
            | TOKEN_NOT_EQUAL
            | TOKEN_LESS
            | TOKEN_LESS_OR_EQ
            | TOKEN_MORE
            | TOKEN_MORE_OR_EQ
            | TOKEN_QUESTION
            | TOKEN_PIPE_LEFT
            | TOKEN_PIPE_RIGHT
    )
}

/// Tokens that start an operand (of an application or an operator).
fn is_operand(kind: SyntaxKind) -> bool {
    matches!(
        kind,
        TOKEN_IDENT
            | TOKEN_INTEGER
            | TOKEN_FLOAT
            | TOKEN_PATH_ABS
            | TOKEN_PATH_REL
            | TOKEN_PATH_HOME
            | TOKEN_PATH_SEARCH
            | TOKEN_URI
            | TOKEN_STRING_START
            | TOKEN_L_PAREN
            | TOKEN_L_BRACE
            | TOKEN_L_BRACK
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), SyntaxError> {
        check_nesting(text, FileId(0))
    }

    #[test]
    fn ten_thousand_deep_is_allowed() {
        let n = 10_000;
        assert!(check(&format!("{}1{}", "[ ".repeat(n), " ]".repeat(n))).is_ok());
        assert!(check(&format!("{}1{}", "{ a = ".repeat(n), "; }".repeat(n))).is_ok());
        assert!(check(&format!("let a = 1; in a{}", " + a".repeat(n))).is_ok());
        assert!(check(&format!("f{}", " a".repeat(n))).is_ok());
        assert!(check(&format!("{}x", "!".repeat(n))).is_ok());
    }

    #[test]
    fn wide_is_not_deep() {
        let n = 100_000;
        assert!(check(&format!("[{}]", " a".repeat(n))).is_ok());
        assert!(check(&format!("{{{}}}", " a = b + c;".repeat(n))).is_ok());
        assert!(check(&format!("{{ {} = 1; }}", vec!["a"; n].join("."))).is_ok());
        assert!(check(&format!("[{}]", " (a + b)".repeat(n))).is_ok());
    }

    #[test]
    fn absurd_depth_is_an_error_at_its_token() {
        let n = 100_000;
        for text in [
            format!("{}1{}", "[".repeat(n), "]".repeat(n)),
            format!("{}x", "!".repeat(n)),
            format!("let a = 1; in a{}", "+a".repeat(n)),
            format!("f{}", " a".repeat(n)),
            format!("{}1{}", "\"${".repeat(n), "}\"".repeat(n)),
        ] {
            let err = check(&text).unwrap_err();
            assert!(err.to_string().contains("nested too deeply"), "{err}");
        }
    }

    #[test]
    fn the_stream_ends_at_the_first_token_past_the_bound() {
        let text = format!("{}x", "!".repeat(MAX_NESTING + 10));
        let mut guard = NestingGuard::new(rnix::tokenize(&text));
        let passed = guard.by_ref().count();
        // The outermost level counts one, so the last `!` let through is the bound's.
        assert_eq!(passed, MAX_NESTING - 1);
        let Some(SyntaxError::Parse { span, .. }) = guard.error(FileId(3)) else {
            panic!("no error")
        };
        let at = u32::try_from(MAX_NESTING - 1).unwrap_or(u32::MAX);
        assert_eq!((span.file, span.start, span.end), (FileId(3), at, at + 1));
        assert_eq!(guard.next(), None);
    }

    #[test]
    fn shallow_input_passes_every_token() {
        let text = "let a = [ 1 2 ]; in # c\n a ++ a";
        let passed: Vec<_> = NestingGuard::new(rnix::tokenize(text)).collect();
        let all: Vec<_> = rnix::tokenize(text).collect();
        assert_eq!(passed, all);
    }
}
