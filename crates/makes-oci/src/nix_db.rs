//! `includeNixDB`: the Nix database of the contents' closure, as nixpkgs' dockerTools puts it
//! into an image (`nix-store --load-db` of `closureInfo`'s registration, registration times
//! reset to `SOURCE_DATE_EPOCH`, and a `/nix/var/nix/gcroots/docker/` link per content), so
//! that `nix-store` works in the container. The tables are Nix's own (schema version 10, Nix's
//! `src/libstore/schema.sql`); the file is written in one transaction and vacuumed, so the
//! same closure always gives the same bytes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use makes_store::{nixbase32, PathInfo};
use rusqlite::{params, Connection};

use crate::error::OciError;

/// The `registrationTime` of every path: stdenv's `SOURCE_DATE_EPOCH` (1980-01-01), to which
/// nixpkgs resets the times `nix-store --load-db` wrote.
pub(crate) const REGISTRATION_TIME: i64 = 315_532_800;

/// Nix's database schema version, written to `db/schema`.
const SCHEMA_VERSION: &str = "10";

/// Nix's tables, as Nix 2.x creates them.
const SCHEMA: &str = "
create table if not exists ValidPaths (
    id               integer primary key autoincrement not null,
    path             text unique not null,
    hash             text not null,
    registrationTime integer not null,
    deriver          text,
    narSize          integer,
    ultimate         integer, -- null implies \"false\"
    sigs             text, -- space-separated
    ca               text -- if not null, an assertion that the path is content-addressed; see ValidPathInfo
);
create table if not exists Refs (
    referrer  integer not null,
    reference integer not null,
    primary key (referrer, reference),
    foreign key (referrer) references ValidPaths(id) on delete cascade,
    foreign key (reference) references ValidPaths(id) on delete restrict
);
create index if not exists IndexReferrer on Refs(referrer);
create index if not exists IndexReference on Refs(reference);
create trigger if not exists DeleteSelfRefs before delete on ValidPaths
  begin
    delete from Refs where referrer = old.id and reference = old.id;
  end;
create table if not exists DerivationOutputs (
    drv  integer not null,
    id   text not null, -- symbolic output id, usually \"out\"
    path text not null,
    primary key (drv, id),
    foreign key (drv) references ValidPaths(id) on delete cascade
);
create index if not exists IndexDerivationOutputs on DerivationOutputs(path);
";

/// The closure of `roots` (store paths) in `closure`, sorted by path as `closureInfo` lists it.
pub(crate) fn closure_of<'c>(closure: &'c [PathInfo], roots: &[&str]) -> Vec<&'c PathInfo> {
    let by_path: BTreeMap<String, &PathInfo> =
        closure.iter().map(|p| (p.path.to_absolute(), p)).collect();
    let mut seen: BTreeMap<String, &PathInfo> = BTreeMap::new();
    let mut todo: Vec<String> = roots.iter().map(|r| (*r).to_owned()).collect();
    while let Some(path) = todo.pop() {
        let Some(info) = by_path.get(&path) else {
            continue;
        };
        if seen.insert(path, info).is_none() {
            todo.extend(info.references.iter().map(|r| r.to_absolute()));
        }
    }
    seen.into_values().collect()
}

/// Writes `nix/var/nix/db/{db.sqlite,schema}` registering `paths` and
/// `nix/var/nix/gcroots/docker/<name>` links to `roots` under `dir`.
pub(crate) fn write_nix_db(
    dir: &Path,
    paths: &[&PathInfo],
    roots: &[&str],
) -> Result<(), OciError> {
    let db_dir = dir.join("nix/var/nix/db");
    fs::create_dir_all(&db_dir).map_err(OciError::io(&db_dir))?;
    let db = db_dir.join("db.sqlite");
    fill_database(&db, paths).map_err(|source| OciError::NixDatabase {
        path: db.clone(),
        source,
    })?;
    let schema = db_dir.join("schema");
    fs::write(&schema, SCHEMA_VERSION).map_err(OciError::io(&schema))?;
    let gcroots = dir.join("nix/var/nix/gcroots/docker");
    fs::create_dir_all(&gcroots).map_err(OciError::io(&gcroots))?;
    for root in roots {
        let Some(name) = Path::new(root).file_name() else {
            continue;
        };
        let link: PathBuf = gcroots.join(name);
        if fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(root, &link).map_err(OciError::io(&link))?;
        }
    }
    Ok(())
}

fn fill_database(db: &Path, paths: &[&PathInfo]) -> rusqlite::Result<()> {
    let mut conn = Connection::open(db)?;
    conn.execute_batch(SCHEMA)?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "insert into ValidPaths (path, hash, registrationTime, narSize) values (?1, ?2, ?3, ?4)",
        )?;
        for info in paths {
            insert.execute(params![
                info.path.to_absolute(),
                hex_nar_hash(&info.nar_hash),
                REGISTRATION_TIME,
                i64::try_from(info.nar_size).unwrap_or(i64::MAX),
            ])?;
        }
        let mut reference = tx.prepare(
            "insert or ignore into Refs (referrer, reference)
             select a.id, b.id from ValidPaths a, ValidPaths b where a.path = ?1 and b.path = ?2",
        )?;
        for info in paths {
            for r in &info.references {
                reference.execute(params![info.path.to_absolute(), r.to_absolute()])?;
            }
        }
    }
    tx.commit()?;
    conn.execute_batch("VACUUM")?;
    conn.close().map_err(|(_, e)| e)
}

/// Nix keeps NAR hashes as `sha256:<base16>`; makes' path infos hold `sha256:<nix-base32>`.
fn hex_nar_hash(hash: &str) -> String {
    let Some(digest) = hash.strip_prefix("sha256:") else {
        return hash.to_owned();
    };
    match nixbase32::decode(digest) {
        Ok(bytes) if bytes.len() == 32 => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        }
        _ => hash.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(base: &str, refs: &[&str]) -> PathInfo {
        let sp = |b: &str| makes_store::StorePath::from_base_name(b).expect("store path");
        PathInfo {
            path: sp(base),
            references: refs.iter().map(|r| sp(r)).collect(),
            nar_size: 8,
            nar_hash: format!("sha256:{}", nixbase32::encode(&[7; 32])),
        }
    }

    #[test]
    fn the_database_holds_the_closure_of_the_roots_and_is_reproducible() {
        let (a, b, c) = (
            format!("{}-app", "a".repeat(32)),
            format!("{}-lib", "b".repeat(32)),
            format!("{}-unrelated", "c".repeat(32)),
        );
        let closure = [info(&a, &[&a, &b]), info(&b, &[]), info(&c, &[])];
        let root = format!("/nix/store/{a}");
        let paths = closure_of(&closure, &[&root]);
        assert_eq!(paths.len(), 2, "the unrelated path stays out");
        let (one, two) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        for dir in [&one, &two] {
            write_nix_db(dir.path(), &paths, &[&format!("{root}/bin")]).expect("written");
        }
        let db = |d: &tempfile::TempDir| fs::read(d.path().join("nix/var/nix/db/db.sqlite"));
        assert_eq!(
            db(&one).expect("db"),
            db(&two).expect("db"),
            "same closure, same bytes"
        );
        let conn = Connection::open(one.path().join("nix/var/nix/db/db.sqlite")).expect("open");
        let refs: Vec<(String, String)> = conn
            .prepare(
                "select a.path, b.path from Refs, ValidPaths a, ValidPaths b
                 where a.id = referrer and b.id = reference order by 1, 2",
            )
            .expect("query")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            refs,
            [
                (root.clone(), root.clone()),
                (root.clone(), format!("/nix/store/{b}"))
            ]
        );
        let link = one.path().join("nix/var/nix/gcroots/docker/bin");
        assert_eq!(
            fs::read_link(link).expect("gcroot"),
            Path::new(&format!("{root}/bin"))
        );
    }

    #[test]
    fn base32_hashes_become_nix_base16() {
        assert_eq!(
            hex_nar_hash("sha256:0sggvzh4dj0h7krcpg2sl239l8hashdvgi26r7kbjs1pkhahy611"),
            "sha256:21180f159c3768b9e6c946c4b71bd40a229a86a05abccbf23c10c846e0dfef69"
        );
    }
}
