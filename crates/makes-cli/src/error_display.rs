//! How an error report looks: miette's graphical report, with three changes for people.
//! Internal codes (`makes::spec::many`) are shown only with `-v`; a label that spans several
//! lines (a whole `makeContainerImage { ... }` call) is cut to its first line when another
//! label of the report points inside it, so that the attributes the errors are about stand
//! out (a label nothing else points into keeps its quoted lines, which are then the only
//! context); and a related error that repeats an earlier one (same message, same place) is
//! printed once.

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, Severity, SourceCode,
    SourceSpan,
};
use std::fmt;

/// A diagnostic as shown: borrowed from the original, with its labels cut and its related
/// errors deduplicated.
struct Shown<'a> {
    inner: &'a dyn Diagnostic,
    show_code: bool,
    source: Option<&'a dyn SourceCode>,
    labels: Option<Vec<LabeledSpan>>,
    /// Where the labels are (`file:line:column`), when the source line is too wide to quote:
    /// printed after the message instead of the quoted line.
    wide_places: Vec<String>,
    related: Vec<Shown<'a>>,
    cause: Option<Box<Shown<'a>>>,
}

/// A label's place: its source (by file name: each diagnostic holds its own copy of the
/// file) and its byte range.
#[derive(Clone, PartialEq, Eq)]
struct Place {
    source: Option<String>,
    start: usize,
    end: usize,
}

impl Place {
    fn of(label: &LabeledSpan, source: Option<&dyn SourceCode>) -> Place {
        let name = source
            .and_then(|s| s.read_span(label.inner(), 0, 0).ok())
            .and_then(|contents| contents.name().map(str::to_owned));
        Place {
            source: name,
            start: label.offset(),
            end: label.offset() + label.len(),
        }
    }

    /// Whether `other` lies inside this place and is smaller.
    fn holds(&self, other: &Place) -> bool {
        self.source == other.source
            && other.start >= self.start
            && other.end <= self.end
            && other.end - other.start < self.end - self.start
    }
}

/// Every label's place in the report: its own, its related errors' and its causes'.
fn places_in(
    diagnostic: &dyn Diagnostic,
    parent_source: Option<&dyn SourceCode>,
    out: &mut Vec<Place>,
) {
    let source = diagnostic.source_code().or(parent_source);
    out.extend(
        diagnostic
            .labels()
            .into_iter()
            .flatten()
            .map(|l| Place::of(&l, source)),
    );
    for r in diagnostic.related().into_iter().flatten() {
        places_in(r, source, out);
    }
    if let Some(cause) = diagnostic.diagnostic_source() {
        places_in(cause, source, out);
    }
}

impl<'a> Shown<'a> {
    fn new(
        inner: &'a dyn Diagnostic,
        parent_source: Option<&'a dyn SourceCode>,
        show_code: bool,
        all_places: &[Place],
    ) -> Self {
        let source = inner.source_code().or(parent_source);
        let mut labels = inner.labels().map(|labels| {
            labels
                .map(|l| {
                    let place = Place::of(&l, source);
                    if all_places.iter().any(|p| place.holds(p)) {
                        first_line_of(l, source)
                    } else {
                        l
                    }
                })
                .collect::<Vec<_>>()
        });
        let wide_places = match (&labels, source) {
            (Some(l), Some(source)) if l.iter().any(|l| too_wide(l, source)) => {
                l.iter().map(|l| place_text(l, source)).collect()
            }
            _ => Vec::new(),
        };
        if !wide_places.is_empty() {
            labels = None;
        }
        let mut seen: Vec<(String, Vec<(usize, usize)>)> = Vec::new();
        let mut related = Vec::new();
        for r in inner.related().into_iter().flatten() {
            let shown = Shown::new(r, source, show_code, all_places);
            let key = (shown.to_string(), shown.places());
            if !seen.contains(&key) {
                seen.push(key);
                related.push(shown);
            }
        }
        let cause = inner
            .diagnostic_source()
            .filter(|c| says_more_than_its_message(*c, show_code))
            .map(|c| Box::new(Shown::new(c, source, show_code, all_places)));
        Shown {
            inner,
            show_code,
            source: if wide_places.is_empty() { source } else { None },
            labels,
            wide_places,
            related,
            cause,
        }
    }

    fn places(&self) -> Vec<(usize, usize)> {
        self.labels
            .iter()
            .flatten()
            .map(|l| (l.offset(), l.len()))
            .collect()
    }
}

/// Whether a cause, or a cause of it, has a help, labels, related errors or a code to show.
/// One that has not is printed as a plain line of the cause chain (`╰─▶ message`), not as a
/// report of its own nested in this one.
fn says_more_than_its_message(cause: &dyn Diagnostic, show_code: bool) -> bool {
    cause.help().is_some()
        || cause.labels().is_some_and(|mut l| l.next().is_some())
        || cause.related().is_some_and(|mut r| r.next().is_some())
        || (show_code && cause.code().is_some())
        || cause
            .diagnostic_source()
            .is_some_and(|c| says_more_than_its_message(c, show_code))
}

/// `label` cut to the end of its first line when it spans several.
fn first_line_of(label: LabeledSpan, source: Option<&dyn SourceCode>) -> LabeledSpan {
    let Some(source) = source else {
        return label;
    };
    let Ok(contents) = source.read_span(label.inner(), 0, 0) else {
        return label;
    };
    let data = contents.data();
    let Some(start) = label.offset().checked_sub(contents.span().offset()) else {
        return label;
    };
    let Some(rest) = data.get(start..) else {
        return label;
    };
    let Some(newline) = rest.iter().position(|b| *b == b'\n') else {
        return label;
    };
    if newline >= label.len() {
        return label;
    }
    let line = &rest[..newline];
    let kept = line.len()
        - line
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    LabeledSpan::new_with_span(
        label.label().map(str::to_owned),
        SourceSpan::new(label.offset().into(), kept.max(1)),
    )
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner, f)?;
        for place in &self.wide_places {
            write!(f, "\nat {place}")?;
        }
        Ok(())
    }
}

/// The widest column a quoted label may reach. The graphical report pads to a label's column
/// with a formatting width, which Rust caps at 65,535 (past it, formatting panics); lines
/// this wide are generated or minified code, where a quote helps no one anyway.
const MAX_QUOTED_COLUMN: usize = 1_000;

/// The source from its start to the end of `label`, with the label's start and end in it.
fn text_up_to<'s>(
    label: &LabeledSpan,
    source: &'s dyn SourceCode,
) -> Option<(Box<dyn miette::SpanContents<'s> + 's>, usize, usize)> {
    let end = label.offset() + label.len();
    let contents = source
        .read_span(&SourceSpan::new(0.into(), end), 0, 0)
        .ok()?;
    let len = contents.data().len();
    Some((contents, label.offset().min(len), end.min(len)))
}

/// The bytes between the line start before `at` and `at`.
fn line_before(data: &[u8], at: usize) -> &[u8] {
    let start = data[..at]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |n| n + 1);
    &data[start..at]
}

/// Whether `label` starts or ends further into its line than [`MAX_QUOTED_COLUMN`].
fn too_wide(label: &LabeledSpan, source: &dyn SourceCode) -> bool {
    let Some((contents, start, end)) = text_up_to(label, source) else {
        return false;
    };
    let data = contents.data();
    line_before(data, start).len() > MAX_QUOTED_COLUMN
        || line_before(data, end).len() > MAX_QUOTED_COLUMN
}

/// `file:line:column` of a label (1-based, columns in characters as the report counts them).
fn place_text(label: &LabeledSpan, source: &dyn SourceCode) -> String {
    let Some((contents, start, _)) = text_up_to(label, source) else {
        return format!("byte {}", label.offset());
    };
    let data = contents.data();
    let line = 1 + data[..start].iter().filter(|b| **b == b'\n').count();
    let column = String::from_utf8_lossy(line_before(data, start))
        .chars()
        .count()
        + 1;
    match contents.name() {
        Some(name) => format!("{name}:{line}:{column}"),
        None => format!("{line}:{column}"),
    }
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner, f)
    }
}

impl std::error::Error for Shown<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

impl Diagnostic for Shown<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if self.show_code {
            self.inner.code()
        } else {
            None
        }
    }

    fn severity(&self) -> Option<Severity> {
        self.inner.severity()
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.help()
    }

    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.url()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.labels
            .as_ref()
            .map(|l| Box::new(l.iter().cloned()) as Box<dyn Iterator<Item = LabeledSpan>>)
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
    }

    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.cause.as_deref().map(|c| c as &dyn Diagnostic)
    }
}

/// The report as printed on stderr.
pub fn render(diagnostic: &dyn Diagnostic) -> String {
    let mut places = Vec::new();
    places_in(diagnostic, None, &mut places);
    let shown = Shown::new(diagnostic, None, crate::verbosity::verbose(), &places);
    let colour = makes_eval::terminal_text::stderr_takes_colour();
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_wrap_lines(false)
        .with_show_related_as_nested(true);
    let mut out = String::new();
    if handler.render_report(&mut out, &shown).is_err() {
        // Rendering into a String fails only if a Display of the error does: say it plainly.
        return format!("Error: {diagnostic}");
    }
    if !colour {
        out = without_message_gutter(&out, &shown.to_string());
    }
    // Messages may carry escape sequences of their own (nixpkgs colours parts of its module
    // system's): filtered as Nix filters them, all of them off a terminal.
    let out = makes_eval::terminal_text::filter_escapes(out.trim_end().as_bytes(), colour);
    String::from_utf8_lossy(&out).into_owned()
}

/// `report` with the lines of its first message after the first indented by spaces instead of
/// miette's `│` gutter, so that a message of several lines (a module system's "Definition
/// values:" list) reads as plain text that a `grep` across lines matches, as Nix prints it.
/// The gutter is found by rendering the message as miette does without colour (first line
/// after `× `, the others after `│ `, blank ones after a bare `│`); a report that does not
/// hold it exactly is returned as it is.
fn without_message_gutter(report: &str, message: &str) -> String {
    let mut lines = message.split_terminator('\n');
    let Some(first) = lines.next() else {
        return report.to_owned();
    };
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        return report.to_owned();
    }
    let continuation = |gutter: &str| -> String {
        rest.iter()
            .map(|line| {
                let indent = if line.trim().is_empty() {
                    gutter.trim_end()
                } else {
                    gutter
                };
                format!("\n{indent}{line}")
            })
            .collect()
    };
    let drawn = format!("× {first}{}", continuation("  │ "));
    match report.find(&drawn) {
        Some(at) => format!(
            "{}× {first}{}{}",
            &report[..at],
            continuation("    "),
            &report[at + drawn.len()..]
        ),
        None => report.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error, miette::Diagnostic)]
    #[error("outer")]
    #[diagnostic(code(makes::test::outer))]
    struct Outer {
        #[source_code]
        src: String,
        #[label("here")]
        at: SourceSpan,
        #[related]
        related: Vec<Inner>,
    }

    #[derive(Debug, thiserror::Error, miette::Diagnostic)]
    #[error("inner")]
    struct Inner {
        #[label("this")]
        at: SourceSpan,
    }

    #[test]
    fn codes_are_hidden_multi_line_labels_cut_and_repeats_dropped() {
        let src = "x = f {\n  a = 1;\n};\n".to_owned();
        let e = Outer {
            src,
            at: (4, 17).into(),
            related: vec![Inner { at: (10, 5).into() }, Inner { at: (10, 5).into() }],
        };
        let text = render(&e);
        assert!(!text.contains("makes::test::outer"), "{text}");
        assert_eq!(text.matches("× inner").count(), 1, "{text}");
        let mut places = Vec::new();
        places_in(&e, None, &mut places);
        let shown = Shown::new(&e, None, false, &places);
        assert_eq!(shown.places(), vec![(4, 3)], "the label keeps 'f {{' only");
    }

    #[derive(Debug, thiserror::Error, miette::Diagnostic)]
    #[error("wide")]
    struct Wide {
        #[source_code]
        src: miette::NamedSource<String>,
        #[label("here")]
        at: SourceSpan,
    }

    #[test]
    fn a_label_past_the_quoted_width_is_given_by_place_not_quoted() {
        let text = format!("a = 1;\n{}oops + é\n", " ".repeat(70_000));
        let oops = 7 + 70_000;
        let wide = Wide {
            src: miette::NamedSource::new("wide.nix", text.clone()),
            at: (oops, 4).into(),
        };
        let shown = render(&wide);
        assert!(shown.contains("× wide\n    at wide.nix:2:70001"), "{shown}");
        assert!(!shown.contains("oops"), "not quoted: {shown}");
        // A label narrower than the limit on the same source is quoted as before.
        let narrow = render(&Wide {
            src: miette::NamedSource::new("wide.nix", text),
            at: (0, 1).into(),
        });
        assert!(narrow.contains("a = 1;"), "{narrow}");
        assert!(!narrow.contains("\nat wide.nix"), "{narrow}");
        // A label that starts near the line's start but ends past the limit is not quoted
        // either (its underline would be as wide).
        let long = render(&Wide {
            src: miette::NamedSource::new("long.nix", format!("{}\n", "x".repeat(5_000))),
            at: (10, 4_000).into(),
        });
        assert!(long.contains("at long.nix:1:11"), "{long}");
    }

    #[test]
    fn a_multi_line_label_nothing_points_into_keeps_its_lines() {
        let e = Outer {
            src: "x = f {\n  a = 1;\n};\n".to_owned(),
            at: (4, 17).into(),
            related: vec![Inner { at: (0, 1).into() }],
        };
        let mut places = Vec::new();
        places_in(&e, None, &mut places);
        let shown = Shown::new(&e, None, false, &places);
        assert_eq!(shown.places(), vec![(4, 17)]);
        assert!(render(&e).contains("a = 1;"));
    }

    #[derive(Debug, thiserror::Error, miette::Diagnostic)]
    #[error("pulling failed")]
    struct Wrapper {
        #[source]
        #[diagnostic_source]
        cause: Cause,
    }

    #[derive(Debug, thiserror::Error, miette::Diagnostic)]
    #[error("the registry is unreachable")]
    struct Cause {
        #[help]
        hint: Option<String>,
    }

    #[test]
    fn a_plain_cause_is_one_line_of_the_chain_and_a_cause_with_help_keeps_it() {
        let plain = render(&Wrapper {
            cause: Cause { hint: None },
        });
        assert!(plain.contains("╰─▶ the registry is unreachable"), "{plain}");
        assert!(!plain.contains("× the registry"), "{plain}");
        let helped = render(&Wrapper {
            cause: Cause {
                hint: Some("set MAKES_INSECURE_REGISTRIES".into()),
            },
        });
        assert!(helped.contains("the registry is unreachable"), "{helped}");
        assert!(
            helped.contains("help: set MAKES_INSECURE_REGISTRIES"),
            "{helped}"
        );
    }

    #[derive(Debug, thiserror::Error, miette::Diagnostic)]
    #[error("The option `enable' does not exist. Definition values:\n- In `a.nix': true\n\nIt seems as if")]
    struct Multiline {
        #[source_code]
        src: String,
        #[label("here")]
        at: SourceSpan,
    }

    #[test]
    fn a_message_of_several_lines_is_plain_text_off_a_terminal() {
        let text = render(&Multiline {
            src: "throw x\n".to_owned(),
            at: (0, 5).into(),
        });
        assert!(
            text.contains("× The option `enable' does not exist. Definition values:\n    - In `a.nix': true\n\n    It seems as if\n"),
            "{text}"
        );
        assert!(
            text.contains("1 │ throw x"),
            "the source keeps its gutter: {text}"
        );
    }
}
