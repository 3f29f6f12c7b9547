//! Text a server sent (a registry's error JSON, a status line, a token realm, a binary cache's
//! narinfo) made safe to put into an error message: a hostile server must not be able to send
//! escape sequences to the user's terminal, rewrite earlier lines with `\r`, reorder text with
//! bidirectional overrides, or flood the screen.

/// The most characters of one server-supplied text kept in a message.
pub const MAX_SERVER_TEXT: usize = 512;

/// `text` with every control character but `\n` and `\t` (and every bidirectional formatting
/// character) written as an escape (`\x1b`, `\u{202e}`), cut after `max_chars` characters
/// with a note of how many more there were.
pub fn printable(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars + 32));
    for (kept, c) in text.chars().enumerate() {
        if kept == max_chars {
            let rest = text.chars().count() - kept;
            out.push_str(&format!("... ({rest} more characters)"));
            break;
        }
        match c {
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x100 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// The Unicode bidirectional formatting characters (embeddings, overrides, isolates, marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_and_keeps_newlines_and_tabs() {
        assert_eq!(
            printable("a\u{1b}[2J\rb\n\tc\u{7f}\u{9b}d", 100),
            "a\\x1b[2J\\x0db\n\tc\\x7f\\x9bd"
        );
        assert_eq!(printable("x\u{202e}y", 100), "x\\u{202e}y");
        assert_eq!(printable("héllo ✓", 100), "héllo ✓");
    }

    #[test]
    fn bounds_the_length() {
        let long = "a".repeat(1000);
        let cut = printable(&long, 10);
        assert_eq!(cut, format!("{}... (990 more characters)", "a".repeat(10)));
        assert_eq!(printable("abc", 3), "abc");
    }
}
