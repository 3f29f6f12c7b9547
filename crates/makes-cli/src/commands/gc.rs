//! `makes gc [--dry-run]`: remove the store paths that no out-link reaches. The removed (or,
//! with `--dry-run`, removable) paths go to stdout, one per line; a summary to stderr.

use crate::cli::GcArgs;
use crate::locations;
use crate::report::Failure;
use makes_store::LocalStore;
use std::io::Write;

pub fn gc(args: &GcArgs) -> Result<(), Failure> {
    let store_dir = locations::store_dir().map_err(Failure::message)?;
    let store = LocalStore::open(&store_dir)?;
    let roots = crate::out_links::roots(&store, args.dry_run).map_err(Failure::message)?;
    let report = store.collect_garbage(&roots, args.dry_run)?;
    let mut out = std::io::stdout().lock();
    for path in &report.removed {
        if writeln!(out, "{path}").is_err() {
            break;
        }
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    say!(
        "makes: {verb} {} store paths ({:.1} MiB); {} out-links kept their closures",
        report.removed.len(),
        report.freed_nar_bytes as f64 / (1024.0 * 1024.0),
        roots.len()
    );
    if !report.swept.is_empty() {
        say!(
            "makes: swept {} scratch files of interrupted sessions",
            report.swept.len()
        );
    }
    Ok(())
}
