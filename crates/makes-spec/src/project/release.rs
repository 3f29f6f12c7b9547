//! makes' releases and the one a project pins: `makes.lock.nix` (`makesSrc = builtins.fetchGit
//! { url = ".../fluidattacks/makes"; ref = "refs/tags/24.02"; rev = ...; }`) or a flake input
//! (`github:fluidattacks/makes/24.02`). Where releases disagree (top-level options, module
//! schemas), the pinned release's rules apply; without a recognisable pin, the latest's.

use std::fmt;
use std::path::Path;

/// A makes release, `YY.MM` (21.09 ... 24.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    pub year: u8,
    pub month: u8,
}

impl Release {
    pub const fn new(year: u8, month: u8) -> Release {
        Release { year, month }
    }

    /// The release whose rules apply when a project pins none.
    pub const LATEST: Release = Release::new(24, 12);

    /// The first release whose modules and arguments this crate's tables describe.
    pub const FIRST: Release = Release::new(21, 9);

    /// `"24.02"`.
    pub fn parse(text: &str) -> Option<Release> {
        let (y, m) = text.split_once('.')?;
        if y.len() != 2 || m.len() != 2 {
            return None;
        }
        let release = Release::new(y.parse().ok()?, m.parse().ok()?);
        (1..=12).contains(&release.month).then_some(release)
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}.{:02}", self.year, self.month)
    }
}

/// The commit of every makes release tag, for pins that name a commit only.
const TAG_COMMITS: &[(&str, &str)] = &[
    ("21.09", "be905d264a7d029834d03f380f3255add268e3cc"),
    ("21.10", "3dde5c1540dac1d7a10b8649adb7a8f3ba5dbd84"),
    ("21.11", "c3451d0c14f5f1728eb8358fe021535021d209b2"),
    ("21.12", "83357de735867dc1ec0c3f329ef319b94c736377"),
    ("21.13", "00cce3088acc20e211f87104919f458fdaae7505"),
    ("22.01", "492e691eb9a8e4070432775d58642568c1783a1e"),
    ("22.02", "fac2254aa18539b948675c69483030d3e83952e0"),
    ("22.03", "501d39e449c7d84eefaca53c7f812410f48e84ba"),
    ("22.04", "a5ef5225c9fb9723958d7d980c89a7905c658712"),
    ("22.05", "12b487e7ed5623883890ad3641dec195ddc16d13"),
    ("22.06", "3cb023740c4cad8a1f6c272a58bf631b5ade23e0"),
    ("22.07", "91a9329743b4a5979abf83cae0eda87ea98bc868"),
    ("22.08", "d7d2a3fda9411236e0db8d3b57378ed0803b529c"),
    ("22.09", "389c77e203d9430a6c5bf7a389ff708798f8a935"),
    ("22.10", "d87b5349b52f6ecab42e956a1860687f314cf8fc"),
    ("22.11", "dcfa9a5efea72631cb088f8a77d6bb3c42cee8dd"),
    ("23.04", "fc31801faa4d8c486ffeed0714e610f034fd5080"),
    ("23.06", "c8411a419165a5e360b95fc078d0ce461ae8dcdd"),
    ("23.07", "0c2df0353678d47ac2076f3577f924ad3e9ba424"),
    ("24.01", "ac744a2691af0a4c6f3e14b347475b96a4c04315"),
    ("24.02", "9b48d0e155d7fb08fc4e8318380e7a0cf359a202"),
    ("24.09", "06527a7704855528ef99a752e5b8839354a6cbba"),
    ("24.12", "9123a55ab84b57fe08bb33379b92fe3922e71408"),
];

/// Which release's rules apply to a project, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRules {
    pub release: Release,
    /// Where the pin was read (`makes.lock.nix: ref = "refs/tags/24.02"`), or why none was.
    pub reason: String,
    /// Why no release tag names the release (`makes.lock.nix pins makes at no release tag`);
    /// `None` when one does. Such a project gets the rules of the newest release that has every
    /// module it sets (see [`fitted`]).
    pub untagged: Option<String>,
}

/// Every release, oldest first.
pub fn releases() -> impl DoubleEndedIterator<Item = Release> {
    TAG_COMMITS
        .iter()
        .filter_map(|(tag, _)| Release::parse(tag))
}

/// The rules for a project that pins makes at no release tag (a commit between two tags, its
/// own checkout, or nothing) and sets `modules`: those of the newest release that has all of
/// them, as the project was written for such a release (the latest release would refuse the
/// others). `None` when a tag names the release or the rules already fit.
pub fn fitted(rules: &ReleaseRules, has_all: impl Fn(Release) -> bool) -> Option<ReleaseRules> {
    let why = rules.untagged.as_ref()?;
    if has_all(rules.release) {
        return None;
    }
    // A commit after a release tag runs that release's code and what came after it: the
    // first release from there with every module is the nearest to what the project runs.
    if rules.release < Release::LATEST {
        let release = releases().find(|r| *r > rules.release && has_all(*r))?;
        return Some(ReleaseRules {
            release,
            reason: format!(
                "{why}: the rules of {release}, the first release from there with every module \
                 the project sets"
            ),
            untagged: Some(why.clone()),
        });
    }
    let release = releases().rev().find(|r| has_all(*r))?;
    Some(ReleaseRules {
        release,
        reason: format!(
            "{why}: the rules of {release}, the newest release with every module the project sets"
        ),
        untagged: Some(why.clone()),
    })
}

/// The release `dir`'s project pins, else the latest.
pub fn pinned_release(dir: &Path) -> ReleaseRules {
    let rules = pinned_by_files(dir);
    if rules.untagged.is_none() {
        return rules;
    }
    // makes' own repository pins itself (`makesSrc = ./.`, or nothing): a checkout of a
    // release tag is that release.
    match checkout_release(dir) {
        Some((release, commit)) => ReleaseRules {
            release,
            reason: format!(
                "the project is makes' own repository at commit {commit} (the tag {release})"
            ),
            untagged: None,
        },
        None => rules,
    }
}

/// The release tag whose commit `dir`'s git checkout has at HEAD, with that commit.
fn checkout_release(dir: &Path) -> Option<(Release, &'static str)> {
    let head = head_commit(&dir.join(".git"))?;
    TAG_COMMITS
        .iter()
        .find(|(_, commit)| *commit == head)
        .and_then(|(tag, commit)| Release::parse(tag).map(|r| (r, *commit)))
}

/// The commit HEAD names in the git directory `git`: a detached HEAD, or a branch's commit in
/// its loose ref or in `packed-refs`. Only these files are read (no git runs).
fn head_commit(git: &Path) -> Option<String> {
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref: ") else {
        return Some(head.to_owned());
    };
    // A reference is a path under the git directory: nothing else may be read through it.
    if !reference.starts_with("refs/") || reference.split('/').any(|part| part == "..") {
        return None;
    }
    if let Ok(commit) = std::fs::read_to_string(git.join(reference)) {
        return Some(commit.trim().to_owned());
    }
    let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (commit, name) = line.split_once(' ')?;
        (name == reference).then(|| commit.to_owned())
    })
}

/// The release the project's lock or flake files pin, else the latest.
fn pinned_by_files(dir: &Path) -> ReleaseRules {
    for file in ["makes.lock.nix", "flake.nix", "flake.lock"] {
        let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
            continue;
        };
        if !text.contains("fluidattacks/makes") && !text.contains("makesSrc") {
            continue;
        }
        if let Some((release, how)) = release_in(&text) {
            return ReleaseRules {
                release,
                reason: format!("{file} pins {how}"),
                untagged: None,
            };
        }
        if let Some((release, commit)) = release_below_commit_in(&text) {
            // The code it runs is that release's plus the commits after it: its rules, and
            // those of a newer release should the project set a module added since.
            let why = format!("{file} pins makes at commit {commit}, after the tag {release}");
            return ReleaseRules {
                release,
                reason: format!("{why}: the rules of {release}"),
                untagged: Some(why),
            };
        }
        if let Some(release) = own_release(dir) {
            return ReleaseRules {
                release,
                reason: format!("{file} names this checkout of makes, version {release}"),
                untagged: None,
            };
        }
        return latest(format!("{file} pins makes at no release tag"));
    }
    if let Some(release) = own_release(dir) {
        return ReleaseRules {
            release,
            reason: format!("a checkout of makes itself, version {release} (default.nix)"),
            untagged: None,
        };
    }
    latest("no makes.lock.nix or flake pins makes".into())
}

/// The version of makes that `dir` is a checkout of (makes' own repository runs its jobs with
/// itself): its default.nix says `makesVersion = "22.09"` (from 22.02) or names `m-v21.09`.
fn own_release(dir: &Path) -> Option<Release> {
    if !dir.join("src/evaluator/default.nix").is_file() {
        return None;
    }
    let text = std::fs::read_to_string(dir.join("default.nix")).ok()?;
    ["makesVersion = \"", "\"m-v"].iter().find_map(|marker| {
        let at = text.find(marker)? + marker.len();
        text.get(at..at + 5).and_then(Release::parse)
    })
}

/// makes' commits from 21.09 on, each with the release tag nearest below it (written by
/// scripts/makes-history.sh from makes' history): `PREFIX TAG` lines.
const MAKES_COMMITS: &str = include_str!("makes_commits.txt");

/// The release below the first makes commit (40 hex digits) that `text` names, and the commit.
fn release_below_commit_in(text: &str) -> Option<(Release, &str)> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_hexdigit() {
            start += 1;
            continue;
        }
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_hexdigit())
            .map_or(bytes.len(), |n| start + n);
        if end - start == 40 {
            let commit = &text[start..end];
            let prefix = &commit[..12];
            let found = MAKES_COMMITS
                .lines()
                .filter_map(|line| line.split_once(' '))
                .find(|(p, _)| p.eq_ignore_ascii_case(prefix))
                .and_then(|(_, tag)| Release::parse(tag));
            if let Some(release) = found {
                return Some((release, commit));
            }
        }
        start = end;
    }
    None
}

fn latest(why: String) -> ReleaseRules {
    ReleaseRules {
        release: Release::LATEST,
        reason: format!("{why}: the latest release's rules"),
        untagged: Some(why),
    }
}

/// The release a lock or flake text names: a tag (`refs/tags/24.02`, `ref = "24.02"`,
/// `fluidattacks/makes/24.02`) or a tag's commit.
fn release_in(text: &str) -> Option<(Release, String)> {
    for marker in [
        "refs/tags/",
        "fluidattacks/makes/",
        "ref = \"",
        "\"ref\": \"",
    ] {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            if let Some(release) = rest.get(..5).and_then(Release::parse) {
                return Some((release, format!("the tag {release}")));
            }
        }
    }
    TAG_COMMITS
        .iter()
        .find(|(_, commit)| text.contains(commit))
        .and_then(|(tag, commit)| {
            Release::parse(tag).map(|r| (r, format!("commit {commit} (the tag {r})")))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_commits_name_releases() {
        let lock = "{ makesSrc = builtins.fetchGit {\n url = \"https://github.com/fluidattacks/makes\";\n ref = \"refs/tags/24.02\";\n }; }";
        assert_eq!(release_in(lock).map(|r| r.0), Release::parse("24.02"));
        let by_commit = "rev = \"dcfa9a5efea72631cb088f8a77d6bb3c42cee8dd\";";
        assert_eq!(release_in(by_commit).map(|r| r.0), Release::parse("22.11"));
        let flake = "inputs.makes.url = \"github:fluidattacks/makes/23.06\";";
        assert_eq!(release_in(flake).map(|r| r.0), Release::parse("23.06"));
        assert_eq!(release_in("ref = \"refs/heads/main\";"), None);
        assert!(Release::parse("22.11") < Release::parse("23.06"));
        assert_eq!(Release::new(21, 9).to_string(), "21.09");
    }

    #[test]
    fn a_commit_between_tags_gets_the_release_below_it() {
        // 23.04 and 16 commits, on makes' main branch.
        let lock = "rev = \"91ee9fef013a9e3ad31fa4aac504eb62fd9639d1\";";
        let (release, commit) = release_below_commit_in(lock).expect("a makes commit");
        assert_eq!(release, Release::new(23, 4));
        assert!(commit.starts_with("91ee9fef"));
        assert_eq!(release_below_commit_in(&"a".repeat(40)), None);
        assert_eq!(release_below_commit_in("91ee9fef013a"), None);
    }

    #[test]
    fn a_checkout_of_makes_itself_has_its_own_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("src/evaluator")).expect("mkdir");
        std::fs::write(dir.path().join("src/evaluator/default.nix"), "{ }").expect("write");
        std::fs::write(
            dir.path().join("default.nix"),
            "let makesVersion = \"22.09\"; in 1",
        )
        .expect("write");
        let rules = pinned_release(dir.path());
        assert_eq!(rules.release, Release::new(22, 9));
        assert_eq!(rules.untagged, None);
        std::fs::write(dir.path().join("default.nix"), "{ }").expect("write");
        assert_eq!(pinned_release(dir.path()).release, Release::LATEST);
    }

    #[test]
    fn a_checkout_of_a_release_tag_is_that_release() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let git = dir.path().join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).expect("mkdir");
        std::fs::write(dir.path().join("makes.lock.nix"), "{ makesSrc = ./.; }").expect("write");
        // Detached at 22.09's commit.
        std::fs::write(
            git.join("HEAD"),
            "389c77e203d9430a6c5bf7a389ff708798f8a935\n",
        )
        .expect("write");
        let rules = pinned_release(dir.path());
        assert_eq!(rules.release, Release::new(22, 9));
        assert_eq!(rules.untagged, None);
        assert!(
            rules.reason.contains("makes' own repository"),
            "{}",
            rules.reason
        );
        // A branch whose commit is packed; then one that is no release.
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").expect("write");
        std::fs::write(
            git.join("packed-refs"),
            "# pack-refs with: peeled\n9b48d0e155d7fb08fc4e8318380e7a0cf359a202 refs/heads/main\n",
        )
        .expect("write");
        assert_eq!(pinned_release(dir.path()).release, Release::new(24, 2));
        std::fs::write(git.join("refs/heads/main"), "0123\n").expect("write");
        let rules = pinned_release(dir.path());
        assert_eq!(rules.release, Release::LATEST);
        assert!(rules.untagged.is_some());
        // A reference outside refs/ is not followed.
        std::fs::write(git.join("HEAD"), "ref: ../../elsewhere\n").expect("write");
        assert_eq!(head_commit(&git), None);
    }

    #[test]
    fn an_untagged_pin_gets_the_newest_release_that_fits() {
        let untagged = latest("makes.lock.nix pins makes at no release tag".into());
        let until_24_02 = |r: Release| r <= Release::new(24, 2);
        let fitted_rules = fitted(&untagged, until_24_02).expect("24.02 fits");
        assert_eq!(fitted_rules.release, Release::new(24, 2));
        assert!(fitted_rules.reason.contains("the rules of 24.02"));
        // Rules that fit already, a tag, or no release that fits: unchanged.
        assert_eq!(fitted(&untagged, |_| true), None);
        assert_eq!(fitted(&untagged, |_| false), None);
        let tagged = ReleaseRules {
            release: Release::new(24, 12),
            reason: "makes.lock.nix pins the tag 24.12".into(),
            untagged: None,
        };
        assert_eq!(fitted(&tagged, until_24_02), None);
        // After a tag: the first release from there that fits.
        let after_23_04 = ReleaseRules {
            release: Release::new(23, 4),
            reason: String::new(),
            untagged: Some("makes.lock.nix pins makes at commit c, after the tag 23.04".into()),
        };
        let from_23_06 = |r: Release| r >= Release::new(23, 6);
        let fitted_rules = fitted(&after_23_04, from_23_06).expect("23.06 fits");
        assert_eq!(fitted_rules.release, Release::new(23, 6));
    }
}
