//! `__nixpkgsSrc__`: the source tree of makes' own package set, as makes passes it (its
//! `sources.nixpkgs`, the unpacked tarball of the nixpkgs commit the release pins), or the
//! directory the `makes-nixpkgs` setting names. makes' `secureNixWithVulnix` hands it to
//! vulnix's own Nix code.

use crate::pinned_nixpkgs;
use makes_eval::{Thunk, Value};
use makes_spec::Release;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The value of `__nixpkgsSrc__`: fetched (by `builtins.fetchTarball`, checked against the
/// pin's hash) only when a module uses it.
pub(crate) fn nixpkgs_source(release: Release, makes_nixpkgs: Option<&Path>) -> Thunk {
    if let Some(dir) = makes_nixpkgs {
        return Thunk::value(Value::Path(dir.to_string_lossy().into()));
    }
    let pin = pinned_nixpkgs(release);
    let text = format!(
        "builtins.fetchTarball {{ url = \"https://github.com/nixos/nixpkgs/archive/{}.tar.gz\"; sha256 = \"{}\"; }}",
        pin.rev, pin.sha256
    );
    let base: Rc<PathBuf> = Rc::new(PathBuf::from("/"));
    Thunk::deferred(move |ev| ev.eval_source("<makes>/__nixpkgsSrc__", &text, &base))
}
