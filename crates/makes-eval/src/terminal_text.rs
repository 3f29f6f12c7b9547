//! Text written to stderr (traces, error reports) as Nix 2.8 writes it: evaluated strings may
//! hold terminal escape sequences (nixpkgs' module system colours parts of its messages), which
//! Nix removes when stderr is not a terminal, so that logs and `grep` see the plain words.

use std::io::IsTerminal;

/// Whether stderr takes colours, as Nix decides it: a terminal, `TERM` set and not `dumb`,
/// and no `NO_COLOR`.
pub fn stderr_takes_colour() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os("TERM").is_some_and(|term| term != "dumb")
        && std::env::var_os("NO_COLOR").is_none()
}

/// `text` with its escape sequences removed, except colour ones (`ESC [ ... m`) when
/// `keep_colours`; tabs expanded to the next multiple of eight columns of their line and
/// carriage returns dropped, as Nix filters what it writes to stderr.
pub fn filter_escapes(text: &[u8], keep_colours: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut column = 0usize;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            0x1b => {
                let start = i;
                i += 1;
                let mut last = 0;
                if text.get(i) == Some(&b'[') {
                    i += 1;
                    // Parameter bytes, then intermediate bytes, then one final byte.
                    while text.get(i).is_some_and(|b| (0x30..=0x3f).contains(b)) {
                        i += 1;
                    }
                    while text.get(i).is_some_and(|b| (0x20..=0x2f).contains(b)) {
                        i += 1;
                    }
                    if let Some(&b) = text.get(i).filter(|b| (0x40..=0x7e).contains(*b)) {
                        last = b;
                        i += 1;
                    }
                } else if text.get(i).is_some_and(|b| (0x40..=0x5f).contains(b)) {
                    i += 1;
                }
                if keep_colours && last == b'm' {
                    out.extend_from_slice(&text[start..i]);
                }
            }
            b'\t' => {
                i += 1;
                let spaces = 8 - column % 8;
                out.resize(out.len() + spaces, b' ');
                column += spaces;
            }
            b'\r' => i += 1,
            b => {
                out.push(b);
                column = if b == b'\n' { 0 } else { column + 1 };
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::filter_escapes;

    #[test]
    fn escapes_go_tabs_become_spaces_and_carriage_returns_go() {
        let text = b"a\x1b[1;35mb\x1b[0m\tc\rd\n\x1b]x\te";
        assert_eq!(filter_escapes(text, false), b"ab      cd\nx       e");
        assert_eq!(
            filter_escapes(text, true),
            b"a\x1b[1;35mb\x1b[0m      cd\nx       e"
        );
    }

    #[test]
    fn an_escape_cut_short_is_dropped() {
        assert_eq!(filter_escapes(b"a\x1b[12", false), b"a");
        assert_eq!(filter_escapes(b"a\x1b", false), b"a");
    }
}
