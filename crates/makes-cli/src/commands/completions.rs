//! `makes completions bash|zsh|fish`: the shell's completion script for makes' options and
//! commands, on stdout.

use crate::cli::{Cli, CompletionShell};
use crate::report::Failure;
use clap::CommandFactory;
use clap_complete::Shell;

pub fn completions(shell: CompletionShell) -> Result<(), Failure> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "makes", &mut script);
    use std::io::Write;
    // A closed pipe is not an error.
    let _ = std::io::stdout().lock().write_all(&script);
    Ok(())
}
