//! `builtins.fetchGit`, as Nix 2.8's git fetcher (`src/libfetchers/git.cc`) fetches: the tree
//! of a revision (`git archive`, or a checkout with its submodules), at the source path of its
//! NAR, with `rev`, `shortRev`, `revCount`, `lastModified`, `lastModifiedDate`, `narHash` and
//! `submodules`. A local working tree with uncommitted changes gives its tracked files as
//! they are on disk, with the all-zero revision. Remote repositories are fetched with git into
//! a bare repository under makes' cache directory; git's own configuration applies.

use super::cache::{FetchCache, TTL};
use super::{error, store_string, Fetchers};
use makes_eval::{Attrs, Evaluator, Thunk, Value};
use makes_store::StorePath;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

type Result<T> = makes_eval::Result<T>;

/// What `fetchGit` was asked for.
struct GitInput {
    url: String,
    name: String,
    rev: Option<String>,
    git_ref: Option<String>,
    submodules: bool,
    shallow: bool,
    all_refs: bool,
}

/// What was fetched.
struct Fetched {
    path: StorePath,
    rev: Option<String>,
    rev_count: Option<u64>,
    last_modified: u64,
}

pub(crate) fn fetch_git(ev: &Evaluator, f: &Fetchers, arg: &Thunk) -> Result<Value> {
    let input = parse_input(ev, arg)?;
    let fetched = fetch(f, &input).map_err(error)?;
    let info = f
        .store
        .path_info(&fetched.path)
        .map_err(|e| error(e.to_string()))?;
    let nar = info.nar_hash.strip_prefix("sha256:").unwrap_or_default();
    let nar_hash = makes_store::nixbase32::decode(nar)
        .map(|bytes| {
            crate::hash::NixHash {
                algo: crate::hash::HashAlgo::Sha256,
                bytes,
            }
            .to_sri()
        })
        .map_err(|e| error(e.to_string()))?;
    let mut attrs = Attrs::new();
    let mut put = |name: &str, v: Value| attrs.insert(name, Thunk::value(v), None);
    put("outPath", store_string(&fetched.path));
    put("narHash", Value::string(nar_hash));
    put("submodules", Value::Bool(input.submodules));
    // A dirty working tree has no revision: Nix gives the all-zero one.
    let rev = fetched.rev.clone().unwrap_or_else(|| "0".repeat(40));
    put("shortRev", Value::string(&rev[..7]));
    put("rev", Value::string(rev.as_str()));
    if !input.shallow || fetched.rev.is_none() {
        put(
            "revCount",
            Value::Int(fetched.rev_count.unwrap_or(0) as i64),
        );
    }
    put("lastModified", Value::Int(fetched.last_modified as i64));
    put(
        "lastModifiedDate",
        Value::string(format_date(fetched.last_modified)),
    );
    Ok(Value::attrs(attrs))
}

fn parse_input(ev: &Evaluator, arg: &Thunk) -> Result<GitInput> {
    let mut input = GitInput {
        url: String::new(),
        name: "source".into(),
        rev: None,
        git_ref: None,
        submodules: false,
        shallow: false,
        all_refs: false,
    };
    let url_of = |v: &Value| -> Result<String> {
        let s = ev.coerce_to_string(
            v,
            makes_eval::CoercionMode::KEEP_PATHS,
            makes_syntax::Span::none(),
        )?;
        Ok(fix_url(s.utf8()?))
    };
    match arg.force(ev)? {
        Value::Attrs(attrs) => {
            let mut url = None;
            for (key, attr) in attrs.iter() {
                let v = attr.value.force(ev)?;
                let text = || crate::builtins::string_without_context(ev, &attr.value);
                let flag = || match &v {
                    Value::Bool(b) => Ok(*b),
                    other => Err(makes_eval::EvalError::type_error("a Boolean", other, None)),
                };
                match &**key {
                    "url" => url = Some(url_of(&v)?),
                    "name" => input.name = text()?,
                    "rev" => input.rev = Some(text()?),
                    "ref" => input.git_ref = Some(text()?),
                    "submodules" => input.submodules = flag()?,
                    "shallow" => input.shallow = flag()?,
                    "allRefs" => input.all_refs = flag()?,
                    other => {
                        return Err(error(format!("unsupported Git input attribute '{other}'")))
                    }
                }
            }
            input.url = url.ok_or_else(|| error("'url' argument required"))?;
        }
        other => input.url = url_of(&other)?,
    }
    if let Some(r) = &input.git_ref {
        // A ref is passed to git as an argument: it must not read as an option, and git's
        // own rules leave out spaces and control characters.
        if r.is_empty() || r.starts_with('-') || r.bytes().any(|c| c <= b' ' || c == 0x7f) {
            return Err(error(format!("invalid Git branch/tag name '{r}'")));
        }
    }
    if let Some(rev) = &input.rev {
        if rev.len() != 40 || !rev.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(error(format!(
                "hash '{rev}' is not a Git revision (40 hexadecimal digits)"
            )));
        }
    }
    makes_store::validate_name(&input.name).map_err(|e| error(e.to_string()))?;
    Ok(input)
}

/// Nix's `fixURIForGit`: a path becomes a `file://` URL.
fn fix_url(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("file://{}", makes_syntax::canonical_path(url))
    }
}

fn git(args: &[&str]) -> std::result::Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn fetch(f: &Fetchers, input: &GitInput) -> std::result::Result<Fetched, String> {
    let local_path = input.url.strip_prefix("file://").map(PathBuf::from);
    // A local working tree (not a bare repository) is read in place.
    let local_tree = local_path.as_ref().filter(|p| p.join(".git").exists());
    if let Some(tree) = local_tree {
        if input.rev.is_none() && input.git_ref.is_none() {
            if let Some(fetched) = fetch_dirty(f, input, tree)? {
                return Ok(fetched);
            }
        }
    }
    let tree_str = |p: &Path| p.to_string_lossy().into_owned();
    let git_ref = match &input.git_ref {
        Some(r) => r.clone(),
        None => match local_tree {
            Some(tree) => git(&["-C", &tree_str(tree), "rev-parse", "--abbrev-ref", "HEAD"])?,
            None => "master".into(),
        },
    };
    let repo = match local_tree {
        Some(tree) => tree.clone(),
        None => fetch_into_cache(f, input, &git_ref)?,
    };
    let repo_s = tree_str(&repo);
    let rev = match &input.rev {
        Some(rev) => rev.clone(),
        None => git(&["-C", &repo_s, "rev-parse", &format!("{git_ref}^{{commit}}")])?,
    };
    if git(&[
        "-C",
        &repo_s,
        "cat-file",
        "-e",
        &format!("{rev}^{{commit}}"),
    ])
    .is_err()
    {
        return Err(format!(
            "Cannot find Git revision '{rev}' in ref '{git_ref}' of repository '{}'! Please make sure that the rev exists on the ref you've specified or add allRefs = true; to fetchGit.",
            input.url
        ));
    }
    let cache = FetchCache::new(&f.cache_dir);
    let submodules = if input.submodules { "1" } else { "0" };
    let key = [
        ("type", "git"),
        ("url", input.url.as_str()),
        ("rev", rev.as_str()),
        ("name", input.name.as_str()),
        ("submodules", submodules),
    ];
    if let Some(hit) = cache.lookup(&key) {
        if let Ok(path) = StorePath::parse(&hit.store_path) {
            if f.store.is_valid(&path) {
                let number = |k: &str| hit.info.get(k).and_then(|v| v.as_u64());
                return Ok(Fetched {
                    path,
                    rev: Some(rev),
                    rev_count: number("revCount"),
                    last_modified: number("lastModified").unwrap_or(0),
                });
            }
        }
    }
    let path = export_tree(f, input, &repo_s, &rev)?;
    let last_modified = git(&[
        "-C",
        &repo_s,
        "log",
        "-1",
        "--format=%ct",
        "--no-show-signature",
        &rev,
    ])?
    .parse::<u64>()
    .map_err(|e| format!("git log: {e}"))?;
    let rev_count = if input.shallow {
        None
    } else {
        Some(
            git(&["-C", &repo_s, "rev-list", "--count", &rev])?
                .parse::<u64>()
                .map_err(|e| format!("git rev-list: {e}"))?,
        )
    };
    let mut info = BTreeMap::new();
    info.insert("lastModified".to_owned(), serde_json::json!(last_modified));
    if let Some(count) = rev_count {
        info.insert("revCount".to_owned(), serde_json::json!(count));
    }
    cache.add(&key, &path.to_absolute(), &info, true);
    Ok(Fetched {
        path,
        rev: Some(rev),
        rev_count,
        last_modified,
    })
}

/// A local working tree with changes against HEAD: its tracked files as they are on disk.
/// `None` when the tree is clean (then HEAD is fetched as a revision).
fn fetch_dirty(
    f: &Fetchers,
    input: &GitInput,
    tree: &Path,
) -> std::result::Result<Option<Fetched>, String> {
    let tree_s = tree.to_string_lossy().into_owned();
    let has_head = git(&[
        "-C",
        &tree_s,
        "rev-parse",
        "--verify",
        "--no-revs",
        "HEAD^{commit}",
    ])
    .is_ok();
    if has_head {
        let mut args = vec!["-C", tree_s.as_str(), "diff", "HEAD", "--quiet"];
        if !input.submodules {
            args.push("--ignore-submodules");
        }
        args.push("--");
        let status = Command::new("git")
            .args(&args)
            .status()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if status.success() {
            return Ok(None);
        }
    }
    let mut args = vec!["-C", tree_s.as_str(), "ls-files", "-z"];
    if input.submodules {
        args.push("--recurse-submodules");
    }
    let out = Command::new("git")
        .args(&args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let files: BTreeSet<PathBuf> = out
        .stdout
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| tree.join(String::from_utf8_lossy(s).as_ref()))
        .collect();
    let keep = |p: &Path| {
        if p.is_dir() && !p.is_symlink() {
            files
                .range(p.to_path_buf()..)
                .next()
                .is_some_and(|f| f.starts_with(p))
        } else {
            files.contains(p)
        }
    };
    let path = f
        .store
        .add_filtered_path(tree, &input.name, &keep)
        .map_err(|e| e.to_string())?;
    let last_modified = if has_head {
        git(&[
            "-C",
            &tree_s,
            "log",
            "-1",
            "--format=%ct",
            "--no-show-signature",
            "HEAD",
        ])?
        .parse::<u64>()
        .unwrap_or(0)
    } else {
        0
    };
    Ok(Some(Fetched {
        path,
        rev: None,
        rev_count: None,
        last_modified,
    }))
}

/// Fetches `git_ref` (or, with `allRefs`, every ref) of a remote repository into a bare
/// repository of makes' cache; fetched again after an hour unless the revision is there.
fn fetch_into_cache(
    f: &Fetchers,
    input: &GitInput,
    git_ref: &str,
) -> std::result::Result<PathBuf, String> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(input.url.as_bytes());
    let repo = f
        .cache_dir
        .join("git")
        .join(makes_store::nixbase32::encode(&digest));
    let repo_s = repo.to_string_lossy().into_owned();
    if !repo.join("HEAD").exists() {
        std::fs::create_dir_all(&repo).map_err(|e| format!("{}: {e}", repo.display()))?;
        git(&[
            "-c",
            "init.defaultBranch=master",
            "init",
            "--quiet",
            "--bare",
            &repo_s,
        ])?;
    }
    let full_ref = if git_ref.starts_with("refs/") {
        git_ref.to_owned()
    } else {
        format!("refs/heads/{git_ref}")
    };
    let have_rev = input.rev.as_ref().is_some_and(|rev| {
        git(&[
            "-C",
            &repo_s,
            "cat-file",
            "-e",
            &format!("{rev}^{{commit}}"),
        ])
        .is_ok()
    });
    let stamp = repo.join(format!("makes-fetched-{}", hex_of(&full_ref)));
    let fresh = std::fs::metadata(&stamp)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() < TTL);
    if !have_rev && (input.rev.is_some() || !fresh) {
        let refspec = if input.all_refs {
            "refs/*:refs/*".to_owned()
        } else {
            format!("+{full_ref}:{full_ref}")
        };
        git(&[
            "-C", &repo_s, "fetch", "--quiet", "--force", "--", &input.url, &refspec,
        ])?;
        let _ = std::fs::write(&stamp, b"");
    }
    Ok(repo)
}

fn hex_of(s: &str) -> String {
    use sha2::Digest as _;
    crate::hash::hex(&sha2::Sha256::digest(s.as_bytes())[..8])
}

/// The tree of `rev` in the store: `git archive` (which applies `export-ignore`, as Nix's
/// does), or with submodules a checkout of them all, without `.git`.
fn export_tree(
    f: &Fetchers,
    input: &GitInput,
    repo: &str,
    rev: &str,
) -> std::result::Result<StorePath, String> {
    std::fs::create_dir_all(&f.cache_dir).map_err(|e| format!("{}: {e}", f.cache_dir.display()))?;
    let work = tempfile::Builder::new()
        .prefix(".git-export-")
        .tempdir_in(&f.cache_dir)
        .map_err(|e| format!("{}: {e}", f.cache_dir.display()))?;
    let tree = work.path().join("tree");
    let tree_s = tree.to_string_lossy().into_owned();
    if input.submodules {
        let git_dir = work.path().join("git");
        let git_dir_s = git_dir.to_string_lossy().into_owned();
        git(&[
            "-c",
            "init.defaultBranch=master",
            "init",
            "--quiet",
            &tree_s,
            "--separate-git-dir",
            &git_dir_s,
        ])?;
        git(&[
            "-C",
            &tree_s,
            "fetch",
            "--quiet",
            "--force",
            "--update-head-ok",
            "--",
            repo,
            "refs/*:refs/*",
        ])?;
        git(&["-C", &tree_s, "checkout", "--quiet", rev])?;
        git(&["-C", &tree_s, "remote", "add", "origin", &input.url])?;
        // git's own policy on submodule transports applies (`file://` ones are refused unless
        // `protocol.file.allow` says otherwise): a repository must not reach the host's files.
        git(&[
            "-C",
            &tree_s,
            "submodule",
            "--quiet",
            "update",
            "--init",
            "--recursive",
        ])?;
        let keep = |p: &Path| p.file_name().is_none_or(|n| n != ".git");
        return f
            .store
            .add_filtered_path(&tree, &input.name, &keep)
            .map_err(|e| e.to_string());
    }
    let archive = work.path().join("tree.tar");
    let archive_s = archive.to_string_lossy().into_owned();
    git(&["-C", repo, "archive", "--format=tar", "-o", &archive_s, rev])?;
    makes_http::unpack_archive(&archive, &tree, false).map_err(|e| e.to_string())?;
    f.store
        .add_source_path(&tree, &input.name)
        .map_err(|e| e.to_string())
}

/// Seconds since the epoch as `%Y%m%d%H%M%S` in UTC.
fn format_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(format_date(0), "19700101000000");
        assert_eq!(format_date(1_700_000_000), "20231114221320");
        assert_eq!(format_date(951_782_400), "20000229000000");
    }
}
