//! Indented strings (`''...''`) as Nix 2.8's parser strips them. rnix strips indentation on
//! the raw text and unescapes afterwards; Nix lexes each escape (`''$`, `'''`, `''\n`) as a
//! token of its own, which ends a line's leading whitespace when the minimum indentation is
//! measured, but whose text is then stripped like any other: a newline written `''\n` starts
//! a line whose indentation is dropped. This follows Nix (`stripIndentation`).

use rnix::ast::{self, AstToken, InterpolPart};
use rowan::ast::AstNode;

/// One token of an indented string, as Nix's lexer makes them.
enum Piece {
    /// Literal text (its spaces are indentation).
    Text(String),
    /// An escape, already unescaped.
    Escape(String),
    Interpolation(ast::Interpol),
}

/// Whether `s` is an indented string.
pub(crate) fn is_indented(s: &ast::Str) -> bool {
    s.syntax().first_token().is_some_and(|t| t.text() == "''")
}

/// The parts of the indented string `s`, indentation stripped and escapes resolved.
pub(crate) fn indented_parts(s: &ast::Str) -> Vec<InterpolPart<String>> {
    let mut pieces = Vec::new();
    for (index, part) in s.parts().enumerate() {
        match part {
            InterpolPart::Interpolation(i) => pieces.push(Piece::Interpolation(i)),
            InterpolPart::Literal(l) => {
                let mut raw = l.syntax().text();
                // The lexer takes `''` with the spaces and newline that follow it.
                if index == 0 {
                    if let Some(p) = raw.find('\n') {
                        if raw[..p].chars().all(|c| c == ' ') {
                            raw = &raw[p + 1..];
                        }
                    }
                }
                split_escapes(raw, &mut pieces);
            }
        }
    }

    // The minimum indentation: escapes and interpolations end a line's leading spaces;
    // whitespace-only lines do not count.
    let mut at_start = true;
    let mut min_indent = usize::MAX;
    let mut cur = 0;
    for piece in &pieces {
        match piece {
            Piece::Text(t) => {
                for c in t.chars() {
                    if at_start {
                        match c {
                            ' ' => cur += 1,
                            '\n' => cur = 0,
                            _ => {
                                at_start = false;
                                min_indent = min_indent.min(cur);
                            }
                        }
                    } else if c == '\n' {
                        at_start = true;
                        cur = 0;
                    }
                }
            }
            Piece::Escape(_) | Piece::Interpolation(_) => {
                if at_start {
                    at_start = false;
                    min_indent = min_indent.min(cur);
                }
            }
        }
    }

    // Stripping: every text, escapes included, loses up to `min_indent` leading spaces of
    // each line; the last piece loses a final line of spaces only.
    let mut out: Vec<InterpolPart<String>> = Vec::new();
    let mut at_start = true;
    let mut dropped = 0;
    let count = pieces.len();
    for (index, piece) in pieces.into_iter().enumerate() {
        let text = match piece {
            Piece::Interpolation(i) => {
                at_start = false;
                dropped = 0;
                out.push(InterpolPart::Interpolation(i));
                continue;
            }
            Piece::Text(t) | Piece::Escape(t) => t,
        };
        let mut s = String::with_capacity(text.len());
        for c in text.chars() {
            if at_start {
                match c {
                    ' ' => {
                        if dropped >= min_indent {
                            s.push(c);
                        }
                        dropped += 1;
                    }
                    '\n' => {
                        dropped = 0;
                        s.push(c);
                    }
                    _ => {
                        at_start = false;
                        dropped = 0;
                        s.push(c);
                    }
                }
            } else {
                s.push(c);
                if c == '\n' {
                    at_start = true;
                }
            }
        }
        if index + 1 == count {
            if let Some(p) = s.rfind('\n') {
                if s[p + 1..].chars().all(|c| c == ' ') {
                    s.truncate(p + 1);
                }
            }
        }
        match out.last_mut() {
            Some(InterpolPart::Literal(prev)) => prev.push_str(&s),
            _ => out.push(InterpolPart::Literal(s)),
        }
    }
    out.retain(|p| !matches!(p, InterpolPart::Literal(s) if s.is_empty()));
    out
}

/// Splits raw indented-string text into text and escapes (`'''` is `''`, `''$` is `$`,
/// `''\X` is X with `n`, `r`, `t` as in C).
fn split_escapes(raw: &str, pieces: &mut Vec<Piece>) {
    let mut text = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.peek() == Some(&'\'') {
            chars.next();
            let escaped = match chars.next() {
                Some('\'') => "''".to_owned(),
                Some('$') => "$".to_owned(),
                Some('\\') => match chars.next() {
                    Some('n') => "\n".to_owned(),
                    Some('r') => "\r".to_owned(),
                    Some('t') => "\t".to_owned(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                },
                // Not an escape (the lexer ends the string on a bare `''`).
                Some(other) => {
                    text.push_str("''");
                    text.push(other);
                    continue;
                }
                None => {
                    text.push_str("''");
                    continue;
                }
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Escape(escaped));
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
}
