//! Remembers what was fetched, as Nix's fetcher cache does: by the fetch's input (kind, URL,
//! name, ref...), the store path it gave and what else it found (a revision, its count and
//! date). An entry whose input pins the content (`locked`) never expires; another one is
//! reused for [`TTL`] seconds (Nix's `tarball-ttl`), then fetched again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// How long an unpinned fetch is reused, in seconds (Nix's default `tarball-ttl`).
pub const TTL: u64 = 3600;

/// One directory of cache entries, one JSON file each.
pub struct FetchCache {
    dir: PathBuf,
}

/// A cache hit: the store path and the attributes recorded with it.
pub struct Cached {
    pub store_path: String,
    pub info: BTreeMap<String, serde_json::Value>,
}

impl FetchCache {
    pub fn new(cache_dir: &std::path::Path) -> Self {
        FetchCache {
            dir: cache_dir.join("fetchers"),
        }
    }

    fn file(&self, input: &[(&str, &str)]) -> PathBuf {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        for (k, v) in input {
            hasher.update(k.as_bytes());
            hasher.update([0]);
            hasher.update(v.as_bytes());
            hasher.update([0]);
        }
        self.dir
            .join(format!("{}.json", crate::hash::hex(&hasher.finalize())))
    }

    /// The entry for `input`, if one is recorded and still fresh.
    pub fn lookup(&self, input: &[(&str, &str)]) -> Option<Cached> {
        let text = std::fs::read_to_string(self.file(input)).ok()?;
        let entry: serde_json::Value = serde_json::from_str(&text).ok()?;
        let locked = entry.get("locked")?.as_bool()?;
        let time = entry.get("time")?.as_u64()?;
        if !locked && now().saturating_sub(time) > TTL {
            return None;
        }
        let store_path = entry.get("storePath")?.as_str()?.to_owned();
        let info = entry
            .get("info")?
            .as_object()?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(Cached { store_path, info })
    }

    /// Records an entry; a cache that cannot be written only costs a later fetch.
    pub fn add(
        &self,
        input: &[(&str, &str)],
        store_path: &str,
        info: &BTreeMap<String, serde_json::Value>,
        locked: bool,
    ) {
        let entry = serde_json::json!({
            "storePath": store_path,
            "info": info,
            "locked": locked,
            "time": now(),
        });
        let file = self.file(input);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
            std::fs::write(tmp.path(), entry.to_string())?;
            tmp.persist(&file).map_err(|e| e.error)?;
            Ok(())
        };
        let _ = write();
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
