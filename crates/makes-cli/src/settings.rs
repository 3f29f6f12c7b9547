//! makes' settings: `--packages`, and the options of `--option NAME VALUE` or
//! `$XDG_CONFIG_HOME/makes/makes.conf` (`NAME = VALUE` lines, `#` comments), named as Nix
//! names them (`makes-nixpkgs` is makes' own, also `MAKES_NIXPKGS`). The command line wins
//! over the environment, which wins over the file.

use crate::env_vars::MAKES_NIXPKGS;
use crate::report::Failure;
use std::path::{Path, PathBuf};

/// The public binary cache and its key, Nix's defaults.
pub const DEFAULT_SUBSTITUTER: &str = "https://cache.nixos.org";
pub const DEFAULT_TRUSTED_KEY: &str =
    "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=";

/// Where packages of nixpkgs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PackagesBackend {
    /// The installed Nix evaluates and builds them.
    Nix,
    /// makes.lock.json says what they are; they are substituted from binary caches.
    Lock,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: "nix" when Nix is on PATH, else "lock".
    pub packages: Option<PackagesBackend>,
    pub substituters: Vec<String>,
    pub trusted_public_keys: Vec<String>,
    /// Where makes' own package set `__nixpkgs__` is, instead of the nixpkgs the project's
    /// makes release pins (`makes-nixpkgs`): a checkout, or anything taking nixpkgs'
    /// arguments.
    pub makes_nixpkgs: Option<PathBuf>,
    /// `nixpkgs-lib`: a nixpkgs `lib` directory read for a `fetchNixpkgs` set whose source is
    /// not at hand (no network, or no Nix), so that listing and showing jobs need neither.
    pub nixpkgs_lib: Option<PathBuf>,
    /// How many builds run at once (`max-jobs`, `-j`); `None`: the number of cores.
    pub max_jobs: Option<usize>,
    /// `-L`: builders' output on stderr as it comes.
    pub print_build_logs: bool,
    /// `abort-on-warn`, as in Nix: `builtins.warn` fails the evaluation after warning.
    pub abort_on_warn: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            packages: None,
            substituters: vec![DEFAULT_SUBSTITUTER.into()],
            trusted_public_keys: vec![DEFAULT_TRUSTED_KEY.into()],
            makes_nixpkgs: None,
            nixpkgs_lib: None,
            max_jobs: None,
            print_build_logs: false,
            abort_on_warn: false,
        }
    }
}

/// The options makes knows.
const OPTIONS: &[&str] = &[
    "abort-on-warn",
    "extra-substituters",
    "extra-trusted-public-keys",
    "makes-nixpkgs",
    "max-jobs",
    "nixpkgs-lib",
    "substituters",
    "trusted-public-keys",
];

impl Settings {
    /// The settings from the config file, then `options` (`[NAME, VALUE, NAME, VALUE, ...]`).
    pub fn load(packages: Option<PackagesBackend>, options: &[String]) -> Result<Self, Failure> {
        let mut settings = Settings {
            packages,
            ..Settings::default()
        };
        if let Some(file) = config_file() {
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    for (n, line) in text.lines().enumerate() {
                        let line = line.split('#').next().unwrap_or("").trim();
                        if line.is_empty() {
                            continue;
                        }
                        let Some((name, value)) = line.split_once('=') else {
                            return Err(Failure::message(format!(
                                "{}:{}: expected NAME = VALUE",
                                file.display(),
                                n + 1
                            )));
                        };
                        settings.set(name.trim(), value.trim()).map_err(|e| {
                            Failure::message(format!("{}:{}: {e}", file.display(), n + 1))
                        })?;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Failure::message(format!(
                        "cannot read {}: {e}",
                        file.display()
                    )))
                }
            }
        }
        if let Some(dir) = std::env::var_os(MAKES_NIXPKGS).filter(|d| !d.is_empty()) {
            settings.makes_nixpkgs = Some(crate::locations::absolute(Path::new(&dir)));
        }
        for pair in options.chunks(2) {
            if let [name, value] = pair {
                settings
                    .set(name, value)
                    .map_err(|e| Failure::message(format!("--option {name}: {e}")))?;
            }
        }
        Ok(settings)
    }

    fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let words = value.split_whitespace().map(str::to_owned).collect();
        match name {
            "substituters" => self.substituters = words,
            "trusted-public-keys" => self.trusted_public_keys = words,
            // As in Nix: added to the others, wherever those were set.
            "extra-substituters" => self.substituters.extend(words),
            "extra-trusted-public-keys" => self.trusted_public_keys.extend(words),
            "max-jobs" => {
                self.max_jobs = match value.trim() {
                    "auto" => None,
                    n => match n.parse::<usize>() {
                        Ok(n) if n > 0 => Some(n),
                        _ => return Err(format!("expects a positive number or auto, not '{n}'")),
                    },
                }
            }
            "abort-on-warn" => {
                self.abort_on_warn = match value.trim() {
                    "true" => true,
                    "false" => false,
                    other => return Err(format!("expects true or false, not '{other}'")),
                }
            }
            "makes-nixpkgs" if value.trim().is_empty() => {
                return Err("expects the path of a package set".into())
            }
            "makes-nixpkgs" => {
                self.makes_nixpkgs = Some(crate::locations::absolute(Path::new(value.trim())))
            }
            "nixpkgs-lib" => {
                let dir = PathBuf::from(value);
                if !dir.join("default.nix").is_file() {
                    return Err(format!(
                        "{value} is no nixpkgs lib directory (it has no default.nix)"
                    ));
                }
                self.nixpkgs_lib = Some(crate::locations::absolute(&dir));
            }
            other => {
                return Err(format!(
                    "unknown option '{other}' (known: {})",
                    OPTIONS.join(", ")
                ))
            }
        }
        Ok(())
    }
}

fn config_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("makes").join("makes.conf"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_override_the_defaults() {
        let Ok(s) = Settings::load(
            Some(PackagesBackend::Lock),
            &["substituters".into(), "http://a http://b".into()],
        ) else {
            panic!("valid options are accepted");
        };
        assert_eq!(s.substituters, ["http://a", "http://b"]);
        assert_eq!(s.trusted_public_keys, [DEFAULT_TRUSTED_KEY]);
        assert!(Settings::load(None, &["nope".into(), "x".into()]).is_err());
        assert!(Settings::load(None, &["makes-nixpkgs".into(), " ".into()]).is_err());
        let Ok(s) = Settings::load(None, &["makes-nixpkgs".into(), "/pkgs".into()]) else {
            panic!("a path is a package set");
        };
        assert_eq!(s.makes_nixpkgs, Some(PathBuf::from("/pkgs")));
    }

    #[test]
    fn extra_options_add_to_the_others_and_max_jobs_is_a_positive_number() {
        let Ok(s) = Settings::load(
            None,
            &[
                "extra-substituters".into(),
                "http://c".into(),
                "extra-trusted-public-keys".into(),
                "c:KEY".into(),
                "max-jobs".into(),
                "3".into(),
            ],
        ) else {
            panic!("valid options are accepted");
        };
        assert_eq!(s.substituters, [DEFAULT_SUBSTITUTER, "http://c"]);
        assert_eq!(s.trusted_public_keys, [DEFAULT_TRUSTED_KEY, "c:KEY"]);
        assert_eq!(s.max_jobs, Some(3));
        assert!(Settings::load(None, &["max-jobs".into(), "0".into()]).is_err());
    }

    #[test]
    fn abort_on_warn_is_a_boolean() {
        assert!(!Settings::default().abort_on_warn);
        let on = Settings::load(None, &["abort-on-warn".into(), "true".into()]);
        assert!(on.is_ok_and(|s| s.abort_on_warn));
        let off = Settings::load(None, &["abort-on-warn".into(), "false".into()]);
        assert!(off.is_ok_and(|s| !s.abort_on_warn));
        assert!(Settings::load(None, &["abort-on-warn".into(), "yes".into()]).is_err());
    }
}
