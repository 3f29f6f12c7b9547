//! Parsing a source file with rnix and lowering it, turning rnix's byte-range errors into
//! `SyntaxError`s with spans.

use crate::error::SyntaxError;
use crate::ir::ExprRef;
use crate::lower::lower_root_in_scope;
use crate::nesting::NestingGuard;
use crate::source::{FileId, SourceMap, Span};
use rnix::{ParseError, SyntaxKind, TextRange};
use std::rc::Rc;

/// Parses and lowers the file `file` of `sources`. `globals` name the evaluator's base frame.
pub fn parse_file(
    sources: &SourceMap,
    file: FileId,
    globals: &[Rc<str>],
) -> Result<ExprRef, SyntaxError> {
    parse_file_in_scope(sources, file, globals, None)
}

/// As `parse_file`, with `scope` naming one more frame above the globals (`scopedImport`).
pub fn parse_file_in_scope(
    sources: &SourceMap,
    file: FileId,
    globals: &[Rc<str>],
    scope: Option<&[Rc<str>]>,
) -> Result<ExprRef, SyntaxError> {
    let Some(source) = sources.get(file) else {
        return Err(SyntaxError::Parse {
            message: "unknown source file".into(),
            span: Span {
                file,
                start: 0,
                end: 0,
            },
        });
    };
    let mut tokens = NestingGuard::new(rnix::tokenize(&source.text));
    let parse = rnix::Root::parse_tokens(&mut tokens);
    // A file nested too deeply is refused before anything else is said about it.
    if let Some(err) = tokens.error(file) {
        return Err(err);
    }
    if let Some(err) = parse.errors().first() {
        return Err(parse_error(err, file, &source.text));
    }
    let base_dir = source.path.as_deref().and_then(|p| p.parent());
    lower_root_in_scope(&parse.tree(), file, base_dir, globals, scope)
}

fn parse_error(err: &ParseError, file: FileId, text: &str) -> SyntaxError {
    let end = u32::try_from(text.len()).unwrap_or(u32::MAX);
    let at = |r: &TextRange| Span {
        file,
        start: r.start().into(),
        end: r.end().into(),
    };
    let eof = Span {
        file,
        start: end,
        end,
    };
    let (message, span) = match err {
        ParseError::Unexpected(r) => ("unexpected input".to_owned(), at(r)),
        // rnix stops a path literal before a trailing slash; Nix names the mistake.
        ParseError::UnexpectedExtra(r) if is_path_with_trailing_slash(&text[*r]) => {
            ("path has a trailing slash".to_owned(), at(r))
        }
        ParseError::UnexpectedExtra(r) => {
            ("unexpected input after the expression".to_owned(), at(r))
        }
        ParseError::UnexpectedWanted(got, r, wanted) => (
            format!(
                "unexpected {}, expecting {}",
                describe(*got),
                describe_all(wanted)
            ),
            at(r),
        ),
        ParseError::UnexpectedDoubleBind(r) => ("pattern bound twice".to_owned(), at(r)),
        ParseError::UnexpectedEOF => ("unexpected end of file".to_owned(), eof),
        ParseError::UnexpectedEOFWanted(wanted) => (
            format!("unexpected end of file, expecting {}", describe_all(wanted)),
            eof,
        ),
        ParseError::DuplicatedArgs(r, name) => {
            return SyntaxError::DuplicateFormal {
                name: name.clone(),
                span: at(r),
            }
        }
        ParseError::RecursionLimitExceeded => ("expression nested too deeply".to_owned(), eof),
        other => (other.to_string(), eof),
    };
    SyntaxError::Parse { message, span }
}

/// `/a/b/`, `./a/`, `~/a/`: a path literal but for its last slash.
fn is_path_with_trailing_slash(text: &str) -> bool {
    let body = text
        .strip_prefix("~/")
        .or_else(|| text.strip_prefix("./"))
        .or_else(|| text.strip_prefix("../"))
        .or_else(|| text.strip_prefix('/'));
    body.and_then(|b| b.strip_suffix('/')).is_some_and(|b| {
        !b.is_empty()
            && b.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-+/".contains(c))
    })
}

fn describe_all(kinds: &[SyntaxKind]) -> String {
    let names: Vec<String> = kinds.iter().map(|k| describe(*k)).collect();
    match names.len() {
        0 => "something else".to_owned(),
        1 => names[0].clone(),
        _ => format!("one of {}", names.join(", ")),
    }
}

/// A readable name for a token kind (`';'` rather than `TOKEN_SEMICOLON`).
fn describe(kind: SyntaxKind) -> String {
    use SyntaxKind::*;
    let text = match kind {
        TOKEN_SEMICOLON => "';'",
        // Nix 2.8's parser names this token by its grammar symbol.
        TOKEN_OR => "OR_KW",
        TOKEN_COLON => "':'",
        TOKEN_COMMA => "','",
        TOKEN_DOT => "'.'",
        TOKEN_ELLIPSIS => "'...'",
        TOKEN_QUESTION => "'?'",
        TOKEN_AT => "'@'",
        TOKEN_ASSIGN => "'='",
        TOKEN_L_BRACE => "'{'",
        TOKEN_R_BRACE => "'}'",
        TOKEN_L_BRACK => "'['",
        TOKEN_R_BRACK => "']'",
        TOKEN_L_PAREN => "'('",
        TOKEN_R_PAREN => "')'",
        TOKEN_IN => "'in'",
        TOKEN_THEN => "'then'",
        TOKEN_ELSE => "'else'",
        TOKEN_IDENT => "an identifier",
        TOKEN_STRING_START | TOKEN_STRING_END => "'\"'",
        TOKEN_INTERPOL_START => "'${'",
        TOKEN_INTERPOL_END => "'}'",
        NODE_ATTRPATH => "an attribute path",
        NODE_IDENT => "an identifier",
        _ => {
            let raw = format!("{kind:?}");
            let name = raw
                .trim_start_matches("TOKEN_")
                .trim_start_matches("NODE_")
                .to_ascii_lowercase()
                .replace('_', " ");
            return name;
        }
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_points_at_the_problem() {
        let sources = SourceMap::new();
        let file = sources.add("makes.nix", None, "{ a = 1 }");
        let err = parse_file(&sources, file, &[]).unwrap_err();
        let SyntaxError::Parse { span, message } = &err else {
            panic!("{err:?}")
        };
        assert!(message.contains("';'"), "{message}");
        assert_eq!(span.start, 8);
    }
}
