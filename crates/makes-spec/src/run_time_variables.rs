//! Environment variable references in a deploy job's image (`"org/app:$CI_COMMIT_REF_NAME"`).
//! makes writes the image into its deploy script inside double quotes, so bash expands `$VAR`
//! and `${VAR}` when the job runs (under `set -o nounset`: an unset variable stops it). The
//! same happens here: the reference is kept as written, its literal parts are checked at
//! evaluation, and the expanded text is checked when the job runs. Other expansions bash would
//! do (`$(...)`, `${VAR:-x}`, `$1`) are refused: they would run code or depend on the script.

/// One piece of a text with variable references.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Variable(String),
}

/// A text whose `$VAR` and `${VAR}` are expanded from the environment when the job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTimeText {
    pieces: Vec<Piece>,
}

impl RunTimeText {
    /// Splits `text` into literal text and variable references, as bash reads them in double
    /// quotes: `$NAME` takes the longest name (`$A_$B` is `${A_}` then `$B`).
    pub fn parse(text: &str) -> Result<RunTimeText, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(['$', '`', '\\']) {
            literal.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let special = rest[at..].chars().next().unwrap_or('$');
            if special != '$' {
                return Err(format!(
                    "{text:?} holds {special:?}, which the deploy script's shell would interpret; \
                     only $VAR and ${{VAR}} are expanded when the job runs"
                ));
            }
            let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
                let end = braced
                    .find('}')
                    .ok_or_else(|| format!("{text:?} has a '${{' without its closing '}}'"))?;
                (&braced[..end], end + 2)
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            };
            if !crate::deploy::is_variable_name(name) {
                let shown: String = rest[at..].chars().take(consumed.max(1) + 1).collect();
                return Err(format!(
                    "{text:?} holds {shown:?}: only $VAR and ${{VAR}} (a variable name: letters, \
                     digits and '_', not starting with a digit) are expanded when the job runs"
                ));
            }
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Variable(name.to_owned()));
            rest = &after[consumed..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(RunTimeText { pieces })
    }

    /// The variables referred to, in order, each once.
    pub fn variables(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for piece in &self.pieces {
            if let Piece::Variable(name) = piece {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// The text with every variable replaced by `stand_in` (to check its literal parts).
    pub fn with_variables_as(&self, stand_in: &str) -> String {
        // Every variable has a value here, so the expansion cannot fail.
        self.expand(|_| Some(stand_in.to_owned()))
            .unwrap_or_default()
    }

    /// The text with the variables' values from `lookup`; an unset variable is an error naming
    /// it (the deploy script runs with `set -o nounset`).
    pub fn expand(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Variable(name) => match lookup(name) {
                    Some(value) => out.push_str(&value),
                    None => return Err(format!("the environment variable {name} is not set")),
                },
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "CI_COMMIT_REF_NAME" => Some("main".into()),
            "A_" => Some("a".into()),
            "B" => Some("b".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn plain_and_braced_references_expand_as_bash_would() {
        let text = RunTimeText::parse("org/app:$CI_COMMIT_REF_NAME").expect("parses");
        assert_eq!(text.variables(), ["CI_COMMIT_REF_NAME"]);
        assert_eq!(text.expand(env).as_deref(), Ok("org/app:main"));
        let text = RunTimeText::parse("x:${CI_COMMIT_REF_NAME}-1").expect("parses");
        assert_eq!(text.expand(env).as_deref(), Ok("x:main-1"));
        // The longest name, as bash takes it.
        let text = RunTimeText::parse("v$A_$B").expect("parses");
        assert_eq!(text.variables(), ["A_", "B"]);
        assert_eq!(text.expand(env).as_deref(), Ok("vab"));
        assert_eq!(
            RunTimeText::parse("a:$EMPTY").expect("parses").expand(env),
            Ok("a:".into())
        );
        assert_eq!(
            RunTimeText::parse("plain:1")
                .expect("parses")
                .variables()
                .len(),
            0
        );
    }

    #[test]
    fn an_unset_variable_is_named() {
        let text = RunTimeText::parse("org/app:$NOPE").expect("parses");
        let err = text.expand(env).expect_err("unset");
        assert!(err.contains("NOPE"), "{err}");
        assert_eq!(text.with_variables_as("x"), "org/app:x");
    }

    #[test]
    fn expansions_other_than_variables_are_refused() {
        for bad in [
            "a:$(id)",
            "a:${X:-y}",
            "a:$1",
            "a:`id`",
            "a:${X",
            "a:$",
            "a:\\$X",
        ] {
            assert!(RunTimeText::parse(bad).is_err(), "{bad}");
        }
    }
}
