//! The environment variables `makes` reads, in one place.

/// Where the store lives on disk.
pub const MAKES_STORE_DIR: &str = "MAKES_STORE_DIR";
/// The cache directory root (out-links, default store).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
pub const HOME: &str = "HOME";
/// Search path entries for `<name>` lookups.
pub const NIX_PATH: &str = "NIX_PATH";
/// Registries (`host[:port]`, space-separated) reached over plain HTTP or without verifying
/// their certificate, for pushes (deploy jobs, `makes push`) and pulls alike.
pub const MAKES_INSECURE_REGISTRIES: &str = "MAKES_INSECURE_REGISTRIES";
/// How many commits deep a fetched revision is (makes' feature flag; 0: the whole history).
pub const MAKES_GIT_DEPTH: &str = "MAKES_GIT_DEPTH";
/// The deadline of one HTTP request (registries, binary caches, fetchUrl), in seconds.
pub const MAKES_HTTP_TIMEOUT: &str = "MAKES_HTTP_TIMEOUT";
/// The minimum rate of an HTTP transfer: `BYTES_PER_SECOND[/WINDOW_SECONDS]`.
pub const MAKES_HTTP_MIN_RATE: &str = "MAKES_HTTP_MIN_RATE";
/// Where makes' own package set `__nixpkgs__` is, instead of the nixpkgs the project's makes
/// release pins (the `makes-nixpkgs` setting).
pub const MAKES_NIXPKGS: &str = "MAKES_NIXPKGS";
/// The most memory an evaluation may use (bytes, or e.g. `512M`, `4G`); past it, evaluation
/// stops with an error at the expression being evaluated.
pub const MAKES_MAX_MEMORY: &str = "MAKES_MAX_MEMORY";
/// The most one build may print (bytes, or e.g. `512K`, `64M`); past it, the build stops
/// with "log limit exceeded".
pub const MAKES_MAX_BUILD_LOG_SIZE: &str = "MAKES_MAX_BUILD_LOG_SIZE";
