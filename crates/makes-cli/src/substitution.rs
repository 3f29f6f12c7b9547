//! Backend "lock": the closures of the packages a job uses, as makes.lock.json records them,
//! substituted from binary caches.

use crate::report::Failure;
use crate::session::Session;
use makes_store::packages::{Packages, UsedOutput, LOCK_FILE};

pub fn substitute_locked(
    _session: &Session,
    packages: &Packages,
    used: &[UsedOutput],
) -> Result<(), Failure> {
    let Some(lock) = packages.lock() else {
        return Err(Failure::message(format!("no {LOCK_FILE}")));
    };
    let _closure = lock
        .closure(used.iter().map(|u| u.path.as_str()))
        .map_err(|missing| {
            Failure::message(format!(
                "{LOCK_FILE} lacks {missing}, which a locked package refers to: run `makes lock` again"
            ))
        })?;
    Err(Failure::message(
        "substitution from binary caches is being written".to_owned(),
    ))
}
