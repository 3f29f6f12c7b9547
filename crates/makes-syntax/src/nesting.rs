//! A bound on how deeply a source file nests, checked on its tokens before it is parsed.
//!
//! The parser, the lowering and the evaluator recurse once per level of the syntax tree, so a
//! file nested absurdly deep (`[[[[...]]]]`, `!!!!x`, `a+a+a+...` a hundred thousand times)
//! would exhaust the native stack. Nix's own parser gives up at a depth of about 10,000
//! ("memory exhausted"); makes allows more, and reports "expression nested too deeply" at the
//! first token past the bound instead of crashing.

use crate::error::SyntaxError;
use crate::source::{FileId, Span};
use rnix::SyntaxKind::{self, *};

/// The deepest nesting allowed, in the units of `check_nesting`: comfortably above what real
/// files and the 10,000-deep cases of the tests need, and below what the evaluation thread's
/// stack holds in a debug build.
pub(crate) const MAX_NESTING: usize = 30_000;

/// An error if `text` nests deeper than `MAX_NESTING`. The depth is estimated from tokens,
/// without parsing: each bracket (`(`, `[`, `{`, `${`, a string) opens a level, and within a
/// level each operator and each operand of a function application or operator chain counts one
/// more (they make the tree one deeper each), until a `;`, `,`, `=`, `:`, `then`, `else` or
/// `in` starts a sibling expression. The elements of a list and the names of an attribute path
/// do not nest, and do not count.
pub(crate) fn check_nesting(text: &str, file: FileId) -> Result<(), SyntaxError> {
    // Per open level: whether it is a list, and how many operators and operands it counted.
    let mut levels: Vec<(bool, usize)> = vec![(false, 0)];
    let mut counted = 0usize;
    let mut offset = 0usize;
    let mut previous = TOKEN_WHITESPACE;
    for (kind, token) in rnix::tokenize(text) {
        let start = offset;
        offset += token.len();
        if matches!(kind, TOKEN_WHITESPACE | TOKEN_COMMENT) {
            continue;
        }
        let in_list = levels.last().is_some_and(|l| l.0);
        if is_operator(kind) || (is_operand(kind) && !in_list && previous != TOKEN_DOT) {
            if let Some(level) = levels.last_mut() {
                level.1 += 1;
                counted += 1;
            }
        }
        match kind {
            TOKEN_L_PAREN | TOKEN_L_BRACE | TOKEN_L_BRACK | TOKEN_INTERPOL_START
            | TOKEN_STRING_START => levels.push((kind == TOKEN_L_BRACK, 0)),
            // The outermost level is never closed (an unbalanced `)` is the parser's to report).
            TOKEN_R_PAREN | TOKEN_R_BRACE | TOKEN_R_BRACK | TOKEN_INTERPOL_END
            | TOKEN_STRING_END
                if levels.len() > 1 =>
            {
                if let Some((_, n)) = levels.pop() {
                    counted -= n;
                }
            }
            TOKEN_SEMICOLON | TOKEN_COMMA | TOKEN_ASSIGN | TOKEN_COLON | TOKEN_THEN
            | TOKEN_ELSE | TOKEN_IN => {
                if let Some(level) = levels.last_mut() {
                    counted -= level.1;
                    level.1 = 0;
                }
            }
            _ => {}
        }
        previous = kind;
        if levels.len() + counted > MAX_NESTING {
            let end = u32::try_from(offset).unwrap_or(u32::MAX);
            return Err(SyntaxError::Parse {
                message: "expression nested too deeply".to_owned(),
                span: Span {
                    file,
                    start: u32::try_from(start).unwrap_or(u32::MAX),
                    end,
                },
            });
        }
    }
    Ok(())
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
}
