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
  makes -L /hello                       show builders' output as they run
  makes /hello --output oci:out:1.0     also add the image to the OCI layout out/
  makes log /hello                      print the build log of /hello's output
  docker load -i \"$(makes /hello)\"      load the built image into Docker
  makes eval --expr '1 + 2'             evaluate a Nix expression
  makes gc --dry-run                    show what garbage collection would remove
  makes push /hello ghcr.io/org/hello:1 build /hello and push it to a registry
  makes show /hello                     print the spec of /hello as JSON (nothing is built)
  makes lock                            write makes.lock.json (with Nix) for builds without Nix
  makes --packages lock /hello          build with packages from makes.lock.json only
  makes completions bash                print the bash completion script

Environment:
  MAKES_STORE_DIR   where the store lives (default: $XDG_CACHE_HOME/makes/store)
  XDG_CACHE_HOME    the cache directory (default: ~/.cache); out-links are
                    $XDG_CACHE_HOME/makes/out-<job with / replaced by ->
  XDG_CONFIG_HOME   holds makes/makes.conf (options as NAME = VALUE lines)
  MAKES_INSECURE_REGISTRIES  registries (host:port) reached without TLS checks
                    (loopback registries always are)
  DOCKER_HOST       the Docker socket for --output docker-daemon: (unix://PATH)";

/// `makes --version`: the version, and the commit and date it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MAKES_COMMIT"),
    ", ",
    env!("MAKES_COMMIT_DATE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "makes",
    version = VERSION,
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

    /// Say more on stderr: store paths of what is built, error codes; with --list, which
    /// makes release's rules apply, and why.
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Say nothing on stderr but errors (no progress).
    #[arg(short = 'q', long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// Print the output of builders as they run, each line prefixed by the derivation's name.
    #[arg(short = 'L', long, global = true)]
    pub print_build_logs: bool,

    /// How many builds run at once (default: the number of cores).
    #[arg(short = 'j', long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_jobs: Option<u16>,

    /// Only build the job and print its path: do not run its action (a makeScript's script;
    /// a deploy job builds its image and pushes nothing).
    #[arg(long)]
    pub no_run: bool,

    /// Also write the built image elsewhere, in skopeo's transport syntax (repeatable):
    /// `oci:DIR[:TAG]` (added to the layout's index), `oci-archive:FILE[:TAG]`,
    /// `docker-archive:FILE[:NAME:TAG]`, `docker-daemon:NAME:TAG`, `dir:DIR`, `oci-dir:DIR`.
    #[arg(long, value_name = "TRANSPORT:WHERE", value_parser = parse_output)]
    pub output: Vec<Output>,

    /// Keep the out-link at PATH instead of makes' own (`~/.cache/makes/out-<job>` and the
    /// project's); `makes gc` keeps its result while the link is there.
    #[arg(short = 'o', long, value_name = "PATH", conflicts_with = "no_out_link")]
    pub out_link: Option<PathBuf>,

    /// Make no out-link: `makes gc` may then remove the result.
    #[arg(long)]
    pub no_out_link: bool,

    /// Print results as JSON, one object per line: with --list one per job
    /// (`{"job": ...}`), for a build `{"job", "storePath", "path", "outLinks", "outputs",
    /// "pushed"}` (a job whose action runs prints what the action prints).
    #[arg(long)]
    pub json: bool,

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
    /// Instantiate the derivations a Nix file or expression evaluates to and print their
    /// .drv paths, as nix-instantiate does (`--realise`: build them and print their outputs).
    Instantiate(InstantiateArgs),
    /// Print the build log of a job's output or of a store path.
    Log(LogArgs),
    /// Print the shell completion script for bash, zsh or fish (e.g.
    /// `source <(makes completions bash)`).
    Completions(CompletionsArgs),
    /// Run a host command with makes' store at `/nix/store`, where the store paths that
    /// `makes eval` and builds print point (e.g. `makes exec ls "$(makes eval ...)"`).
    Exec(ExecArgs),
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The command and its arguments (found on PATH, as a shell finds it).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells `makes completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// A job (`/hello`), a store path (`/nix/store/...-name`), or a path in makes' store.
    #[arg(value_name = "JOB|PATH")]
    pub what: String,
}

#[derive(Debug, Args)]
pub struct InstantiateArgs {
    /// Also write the .drv files (with those of their input derivations) into DIR.
    #[arg(long, value_name = "DIR")]
    pub drv_dir: Option<PathBuf>,
    /// Build the derivations with makes' store and sandbox and print their output paths.
    #[arg(long)]
    pub realise: bool,
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
    /// Print the value, a string (or what interpolation turns into one), as its bytes: no
    /// quotes, no final newline (as `nix eval --raw`).
    #[arg(long, conflicts_with_all = ["json", "xml"])]
    pub raw: bool,
    /// Pass NAME = EXPR to the value when it is a function with named arguments.
    #[arg(long, num_args = 2, value_names = ["NAME", "EXPR"])]
    pub arg: Vec<String>,
    /// Pass NAME = STRING to the value when it is a function with named arguments.
    #[arg(long, num_args = 2, value_names = ["NAME", "STRING"])]
    pub argstr: Vec<String>,
    /// Print the attribute at this dotted path of the value instead (as nix-instantiate -A).
    #[arg(short = 'A', long = "attr", value_name = "ATTRPATH")]
    pub attr: Option<String>,
    /// Only parse the file or expression (and check its variables); print nothing.
    #[arg(long, conflicts_with_all = ["strict", "json", "xml", "raw"])]
    pub parse: bool,
    /// With --xml: no source positions (`line`, `column`, `path`) in the output.
    #[arg(long)]
    pub no_location: bool,
    /// Evaluate EXPR instead of a file.
    #[arg(long, value_name = "EXPR", conflicts_with = "file")]
    pub expr: Option<String>,
    /// Add a search path entry (`name=path` or `path`).
    #[arg(short = 'I', value_name = "PATH")]
    pub include: Vec<String>,
    /// The file to evaluate (default: ./default.nix).
    pub file: Option<PathBuf>,
}

/// Where `--output` writes the image (skopeo's transport names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// `oci-dir:DIR`: a layout directory holding this image alone (replaced).
    OciDir(PathBuf),
    /// `oci:DIR[:TAG]`: added to the layout's index; an image of the same tag is replaced.
    Oci { dir: PathBuf, tag: Option<String> },
    /// `oci-archive:FILE[:TAG]`: a tar of a layout holding this image.
    OciArchive { file: PathBuf, tag: Option<String> },
    /// `docker-archive:FILE[:NAME:TAG]`: what `docker save` writes.
    DockerArchive {
        file: PathBuf,
        reference: Option<String>,
    },
    /// `docker-daemon:NAME:TAG`: loaded into the Docker daemon.
    DockerDaemon { reference: String },
    /// `dir:DIR`: skopeo's directory of blobs named by digest.
    Dir(PathBuf),
}

/// Makes' own options where a job without an action has ARGS: `makes /image --output ...`.
#[derive(Debug, Parser)]
#[command(name = "makes JOB", no_binary_name = true)]
pub struct TrailingOptions {
    #[arg(long, value_name = "TRANSPORT:WHERE", value_parser = parse_output)]
    pub output: Vec<Output>,
}

fn parse_output(s: &str) -> Result<Output, String> {
    let usage = "use oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG], docker-daemon:NAME:TAG, dir:DIR or oci-dir:DIR";
    let Some((transport, rest)) = s.split_once(':') else {
        return Err(format!("'{s}' is not an output; {usage}"));
    };
    if rest.is_empty() {
        return Err(format!("'{s}' names no place to write to; {usage}"));
    }
    // A path with a reference after it: the path stops at its first ':', as skopeo reads it.
    let path_and = |rest: &str| -> (PathBuf, Option<String>) {
        match rest.split_once(':') {
            Some((path, reference)) => (PathBuf::from(path), Some(reference.to_owned())),
            None => (PathBuf::from(rest), None),
        }
    };
    let output = match transport {
        "oci-dir" => Output::OciDir(PathBuf::from(rest)),
        "dir" => Output::Dir(PathBuf::from(rest)),
        "oci" | "oci-archive" => {
            let (path, tag) = path_and(rest);
            if let Some(tag) = &tag {
                check_tag(tag)?;
            }
            if transport == "oci" {
                Output::Oci { dir: path, tag }
            } else {
                Output::OciArchive { file: path, tag }
            }
        }
        "docker-archive" => {
            let (file, reference) = path_and(rest);
            Output::DockerArchive {
                file,
                reference: reference.map(|r| docker_reference(&r)).transpose()?,
            }
        }
        "docker-daemon" => Output::DockerDaemon {
            reference: docker_reference(rest)?,
        },
        other => {
            return Err(format!(
                "'{other}' is not a transport makes writes; {usage}"
            ))
        }
    };
    Ok(output)
}

/// An OCI `ref.name`: letters, digits and `-._:@/+`, as the image layout spec allows.
fn check_tag(tag: &str) -> Result<(), String> {
    let fine = !tag.is_empty()
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:@/+".contains(c));
    if fine {
        Ok(())
    } else {
        Err(format!(
            "'{tag}' is not a tag (letters, digits and -._:@/+)"
        ))
    }
}

/// `NAME[:TAG]` as Docker takes it, with `:latest` when no tag is given.
fn docker_reference(reference: &str) -> Result<String, String> {
    let (name, tag) = match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (reference, "latest"),
    };
    let name_fine = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._/:".contains(c));
    let tag_fine = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if name_fine && tag_fine {
        Ok(format!("{name}:{tag}"))
    } else {
        Err(format!(
            "'{reference}' is not a Docker reference (lowercase NAME[:TAG], as makes-hello:0.1.0)"
        ))
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

#[cfg(test)]
mod output_tests {
    use super::*;

    #[test]
    fn outputs_read_as_skopeo_reads_its_transports() {
        assert_eq!(
            parse_output("oci:out:v1"),
            Ok(Output::Oci {
                dir: "out".into(),
                tag: Some("v1".into())
            })
        );
        assert_eq!(
            parse_output("docker-archive:a.tar:example.com:5000/app"),
            Ok(Output::DockerArchive {
                file: "a.tar".into(),
                reference: Some("example.com:5000/app:latest".into())
            })
        );
        assert_eq!(
            parse_output("docker-daemon:app:1"),
            Ok(Output::DockerDaemon {
                reference: "app:1".into()
            })
        );
        assert_eq!(parse_output("dir:d:x"), Ok(Output::Dir("d:x".into())));
        assert!(parse_output("docker-daemon:App:1").is_err());
        assert!(parse_output("oci:d:bad tag").is_err());
        assert!(parse_output("tarball:x").is_err());
        assert!(parse_output("oci:").is_err());
    }
}
