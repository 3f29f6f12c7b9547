//! The command line: `makes [SOURCE] JOB [ARGS...]` as makes takes it (`makes . /job`,
//! `makes github:owner/repo@rev /job`), `makes [--project DIR] JOB`, `makes --list`, and
//! subcommands. A job name always starts with `/`, so jobs and subcommand names never collide.

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  makes /hello                          build the job /hello of the nearest makes.nix
  makes . /greet --name x               build /greet of the project here and run it with ARGS
  makes github:owner/repo@v1 /hello     fetch the project at that revision with git, build /hello
  makes --no-run . /greet               build /greet and print its path without running it
  makes --project fixtures/hello /hello build a job of another project
  makes --list                          list the jobs of the project
  docker load -i \"$(makes /hello)\"      load the built image into Docker
  makes eval --expr '1 + 2'             evaluate a Nix expression
  makes gc --dry-run                    show what garbage collection would remove
  makes push /hello ghcr.io/org/hello:1 build /hello and push it to a registry
  makes show /hello                     print the spec of /hello as JSON (nothing is built)
  makes lock                            write makes.lock.json (with Nix) for builds without Nix
  makes --packages lock /hello          build with packages from makes.lock.json only

Environment:
  MAKES_STORE_DIR   where the store lives (default: $XDG_CACHE_HOME/makes/store)
  XDG_CACHE_HOME    the cache directory (default: ~/.cache); out-links are
                    $XDG_CACHE_HOME/makes/out-<job with / replaced by ->
  XDG_CONFIG_HOME   holds makes/makes.conf (options as NAME = VALUE lines)";

#[derive(Debug, Parser)]
#[command(
    name = "makes",
    version,
    about = "Build makes.nix container-image jobs into OCI images, without Nix",
    override_usage = "makes [OPTIONS] [SOURCE] [JOB] [ARGS]...\n       makes [OPTIONS] <COMMAND>",
    after_help = EXAMPLES,
)]
pub struct Cli {
    /// The project directory (default: the nearest directory upward holding makes.nix).
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Where nixpkgs packages come from: `nix` (the installed Nix builds them) or `lock`
    /// (makes.lock.json; substituted from binary caches). Default: nix when Nix is on PATH.
    #[arg(long, global = true, value_enum, value_name = "BACKEND")]
    pub packages: Option<crate::settings::PackagesBackend>,

    /// Set an option, as in makes.conf: `substituters "URL ..."`,
    /// `trusted-public-keys "NAME:KEY ..."`, `nixpkgs-lib DIR` (nixpkgs' lib read for a
    /// fetchNixpkgs set whose source is not at hand).
    #[arg(long, global = true, num_args = 2, value_names = ["NAME", "VALUE"])]
    pub option: Vec<String>,

    /// Print the job names of the project, one per line.
    #[arg(long)]
    pub list: bool,

    /// With --list: also say which makes release's rules apply, and why (on stderr).
    #[arg(long, requires = "list")]
    pub verbose: bool,

    /// Only build the job and print its path: do not run its action (a makeScript's script).
    #[arg(long)]
    pub no_run: bool,

    /// Also write the built image elsewhere: `oci-dir:PATH` writes a plain OCI image layout
    /// directory at PATH.
    #[arg(long, value_name = "KIND:PATH", value_parser = parse_output)]
    pub output: Vec<Output>,

    /// `[SOURCE] JOB [ARGS...]`: the project (`.`, a directory, `local:DIR`,
    /// `local:DIR@REV`, `github:OWNER/REPO@REV`, `gitlab:OWNER/REPO@REV`; default: the
    /// nearest makes.nix upward), the job (e.g. `/hello`), and the arguments of its action.
    #[arg(
        value_name = "SOURCE | JOB",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_parser = clap::value_parser!(OsString)
    )]
    pub target: Vec<OsString>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate a Nix file or expression and print the value as nix-instantiate --eval does.
    Eval(EvalArgs),
    /// Remove the store paths that no out-link reaches.
    Gc(GcArgs),
    /// Build a job and push its image to a registry.
    Push(PushArgs),
    /// Write makes.lock.json: the store paths and closures of the packages jobs use (needs Nix).
    Lock(LockArgs),
    /// Print a job's spec as JSON, with every default, without building it.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The job, e.g. `/hello`.
    #[arg(value_name = "JOB", value_parser = parse_job_name)]
    pub job: String,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// The jobs whose packages to lock (default: every job); their entries are updated,
    /// the others kept.
    #[arg(value_name = "JOB", value_parser = parse_job_name)]
    pub jobs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Allow plain HTTP or an unverified certificate for this registry.
    #[arg(long)]
    pub insecure: bool,
    /// The environment variable holding the registry user name.
    #[arg(long, value_name = "VAR", requires = "token_env")]
    pub user_env: Option<String>,
    /// The environment variable holding the registry password or token.
    #[arg(long, value_name = "VAR", requires = "user_env")]
    pub token_env: Option<String>,
    /// The job whose image to push, e.g. `/hello`.
    #[arg(value_name = "JOB", value_parser = parse_job_name)]
    pub job: String,
    /// Where to push it, e.g. `ghcr.io/org/app:1.0`.
    #[arg(value_name = "REF")]
    pub reference: String,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only print what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Force the whole value, not only its outermost constructor.
    #[arg(long)]
    pub strict: bool,
    /// Print the value as JSON.
    #[arg(long, conflicts_with = "xml")]
    pub json: bool,
    /// Print the value as XML (as nix-instantiate --xml).
    #[arg(long)]
    pub xml: bool,
    /// Pass NAME = EXPR to the value when it is a function with named arguments.
    #[arg(long, num_args = 2, value_names = ["NAME", "EXPR"])]
    pub arg: Vec<String>,
    /// Pass NAME = STRING to the value when it is a function with named arguments.
    #[arg(long, num_args = 2, value_names = ["NAME", "STRING"])]
    pub argstr: Vec<String>,
    /// Evaluate EXPR instead of a file.
    #[arg(long, value_name = "EXPR", conflicts_with = "file")]
    pub expr: Option<String>,
    /// Add a search path entry (`name=path` or `path`).
    #[arg(short = 'I', value_name = "PATH")]
    pub include: Vec<String>,
    /// The file to evaluate (default: ./default.nix).
    pub file: Option<PathBuf>,
}

/// Where `--output` writes the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    OciDir(PathBuf),
}

/// Makes' own options where a job without an action has ARGS: `makes /image --output ...`.
#[derive(Debug, Parser)]
#[command(name = "makes JOB", no_binary_name = true)]
pub struct TrailingOptions {
    #[arg(long, value_name = "KIND:PATH", value_parser = parse_output)]
    pub output: Vec<Output>,
}

fn parse_output(s: &str) -> Result<Output, String> {
    match s.split_once(':') {
        Some(("oci-dir", path)) if !path.is_empty() => Ok(Output::OciDir(PathBuf::from(path))),
        _ => Err(format!("'{s}' is not an output; use oci-dir:PATH")),
    }
}

pub fn parse_job_name(s: &str) -> Result<String, String> {
    // makes' `__all__` builds every job (`makes . __all__`).
    if s.starts_with('/') || s == makes_spec::ALL_JOBS {
        Ok(s.to_owned())
    } else {
        Err(format!("a job name starts with '/', as in '/{s}'"))
    }
}
