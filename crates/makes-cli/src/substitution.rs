//! Backend "lock": the closures of the packages a job uses, as makes.lock.json records them,
//! substituted from the configured binary caches (signature, NAR hash, size and references
//! checked), with a progress bar on a terminal.

use crate::report::Failure;
use crate::session::Session;
use indicatif::{ProgressBar, ProgressStyle};
use makes_store::packages::{Packages, UsedOutput, LOCK_FILE};
use makes_store::StorePath;
use makes_substituter::{
    parse_nar_hash, substitute, LockedPath, Progress, SubstituterOptions, TrustedKey,
};
use std::io::IsTerminal;

pub fn substitute_locked(
    session: &Session,
    packages: &Packages,
    used: &[UsedOutput],
) -> Result<(), Failure> {
    let Some(lock) = packages.lock() else {
        return Err(Failure::message(format!(
            "no {LOCK_FILE} in {}",
            packages.project_dir().display()
        )));
    };
    let closure = lock.closure(used.iter().map(|u| &u.path))?;
    let mut wanted = Vec::with_capacity(closure.len());
    for (path, info) in closure {
        if session.store.is_valid(path) {
            continue;
        }
        let nar_hash = parse_nar_hash(&info.nar_hash).ok_or_else(|| {
            Failure::message(format!("{LOCK_FILE}: the NAR hash of {path} is not valid"))
        })?;
        wanted.push(LockedPath {
            path: path.clone(),
            nar_hash,
            nar_size: info.nar_size,
            references: info.references.clone(),
        });
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let trusted_keys = session
        .settings
        .trusted_public_keys
        .iter()
        .map(|k| TrustedKey::parse(k).map_err(Failure::from))
        .collect::<Result<Vec<_>, _>>()?;
    let options = SubstituterOptions {
        caches: session.settings.substituters.clone(),
        trusted_keys,
        http: crate::transfer_limits::http_options()?,
        ..SubstituterOptions::default()
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let total: u64 = wanted.iter().map(|w| w.nar_size).sum();
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "makes: substituting {msg} {wide_bar} {decimal_bytes}/{decimal_total_bytes}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{} path(s)", wanted.len()));
        bar
    });
    let sizes: std::collections::HashMap<StorePath, u64> = wanted
        .iter()
        .map(|w| (w.path.clone(), w.nar_size))
        .collect();
    // Without a terminal: a line when a download starts (with its cache and size), when it
    // is retried, and when its path is valid.
    let lines = bar.is_none() && !crate::verbosity::quiet();
    if lines {
        let total: u64 = wanted.iter().map(|w| w.nar_size).sum();
        say!(
            "makes: substituting {} path(s) ({})",
            wanted.len(),
            indicatif::HumanBytes(total)
        );
    }
    let started = std::sync::Mutex::new(std::collections::HashMap::new());
    let report = |event: Progress| match &event {
        Progress::Finished { path } => {
            let size = sizes.get(path).copied().unwrap_or(0);
            if let Some(bar) = &bar {
                bar.inc(size);
            } else if lines {
                let elapsed = started
                    .lock()
                    .ok()
                    .and_then(|mut s| s.remove(path))
                    .map(|t: std::time::Instant| format!(" in {:.1}s", t.elapsed().as_secs_f64()))
                    .unwrap_or_default();
                say!(
                    "makes: substituted {}{elapsed} ({})",
                    path.name,
                    indicatif::HumanBytes(size)
                );
            }
        }
        Progress::Started {
            path,
            cache,
            download_size,
            ..
        } if lines => {
            if let Ok(mut s) = started.lock() {
                s.insert(path.clone(), std::time::Instant::now());
            }
            let size = download_size
                .map(|d| format!(", {} to download", indicatif::HumanBytes(d)))
                .unwrap_or_default();
            say!("makes: substituting {} from {cache}{size}", path.name);
        }
        Progress::Retrying { attempt, delay, .. } if lines => {
            say!(
                "makes: a download failed; retrying in {:.1}s (attempt {attempt})",
                delay.as_secs_f64()
            );
        }
        _ => {}
    };
    let result = substitute(&session.store, &wanted, &options, &report);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result?;
    Ok(())
}
