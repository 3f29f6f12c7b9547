//! makes' own pinned nixpkgs, release by release: what `__nixpkgs__` (the set makeScript,
//! makeDerivation and makes' helpers take bash, coreutils, cacert, ... from, and the default
//! `inputs.nixpkgs`) is for a project pinning that release. The data is each release's
//! `src/nix/sources.json` (niv's `nixpkgs` entry: the GitHub archive of `rev`, whose unpacked
//! tree has the NAR hash `sha256`), never the `<nixpkgs>` of `NIX_PATH`.

use makes_spec::Release;

/// The nixpkgs revision a makes release pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinnedNixpkgs {
    pub release: Release,
    pub rev: &'static str,
    /// nix-base32 SHA-256 of the unpacked archive (24.01 writes it `sha256:...`; the prefix
    /// is dropped here so that every entry has one form).
    pub sha256: &'static str,
}

const fn pin(year: u8, month: u8, rev: &'static str, sha256: &'static str) -> PinnedNixpkgs {
    PinnedNixpkgs {
        release: Release::new(year, month),
        rev,
        sha256,
    }
}

const FCBBB: &str = "fcbbb82ffd63a58c1891c1c1d61dab21b542eb30";
const FCBBB_SHA: &str = "0acr7qbvi4ly02ajn3apmndnlb7jg78wmxl2mzqgwz94qssdawql";
const R9222: &str = "9222ae36b208d1c6b55d88e10aa68f969b5b5244";
const R9222_SHA: &str = "0dvl990alr4bb64w9b32dhzacvchpsspj8p3zqcgk7q5akvqh1mw";
const D2FC6: &str = "d2fc6856824cb87742177eefc8dd534bdb6c3439";
const D2FC6_SHA: &str = "18nmpsna8lmqcmag2x0gfncd96rrvxgsgn4r7wyagdjymbhzmx2a";
const C5D81: &str = "c5d810f4c74c824ae0fb788103003c6c9d366a08";
const C5D81_SHA: &str = "1lmizli5hbk7hlvss0ixx4zl5g4s77z493lr2xn37csph5xcl3rb";
const B42E5: &str = "b42e50fe36242b1b205a7d501b7911d698218086";
const B42E5_SHA: &str = "0wkdgbn2pkqx3cgp1zicsq310443yr6kw6xalk228fqbavj481ni";
const R2362: &str = "2362848adf8def2866fabbffc50462e929d7fffb";
const R2362_SHA: &str = "0wjr874z2y3hc69slaa7d9cw7rj47r1vmc1ml7dw512jld23pn3p";
const R5F52: &str = "5f5210aa20e343b7e35f40c033000db0ef80d7b9";
const R5F52_SHA: &str = "0yc83iqbzj1gd651x6p2wx7a76wfpifaq7jxz4srbinaglfwfb07";

/// Every release tag from 21.09 on, in order, with its `src/nix/sources.json` pin.
pub const PINNED_NIXPKGS: &[PinnedNixpkgs] = &[
    pin(21, 9, FCBBB, FCBBB_SHA),
    pin(21, 10, FCBBB, FCBBB_SHA),
    pin(21, 11, FCBBB, FCBBB_SHA),
    pin(21, 12, FCBBB, FCBBB_SHA),
    pin(21, 13, FCBBB, FCBBB_SHA),
    pin(22, 1, FCBBB, FCBBB_SHA),
    pin(22, 2, FCBBB, FCBBB_SHA),
    pin(22, 3, R9222, R9222_SHA),
    pin(22, 4, R9222, R9222_SHA),
    pin(22, 5, D2FC6, D2FC6_SHA),
    pin(22, 6, D2FC6, D2FC6_SHA),
    pin(22, 7, C5D81, C5D81_SHA),
    pin(22, 8, C5D81, C5D81_SHA),
    pin(22, 9, B42E5, B42E5_SHA),
    pin(22, 10, B42E5, B42E5_SHA),
    pin(22, 11, B42E5, B42E5_SHA),
    pin(23, 4, R2362, R2362_SHA),
    pin(23, 6, R2362, R2362_SHA),
    pin(
        23,
        7,
        "4ecab3273592f27479a583fb6d975d4aba3486fe",
        "10wn0l08j9lgqcw8177nh2ljrnxdrpri7bp0g7nvrsn9rkawvlbf",
    ),
    pin(
        24,
        1,
        "42b0713b5f1b719d968cfaa48e2dbf28a44f7094",
        "0mkgapk4mp12vc20d1gwlyxsfj27vh08hfnpzb3x2avzgjyblzv0",
    ),
    pin(24, 2, R5F52, R5F52_SHA),
    pin(24, 9, R5F52, R5F52_SHA),
    pin(24, 12, R5F52, R5F52_SHA),
];

/// The pin of `release`: its own entry, or for a release between tags (or before the first)
/// the nearest tag at or before it (else the first).
pub fn pinned_nixpkgs(release: Release) -> PinnedNixpkgs {
    PINNED_NIXPKGS
        .iter()
        .rev()
        .find(|p| p.release <= release)
        .copied()
        .unwrap_or(PINNED_NIXPKGS[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_release_has_its_own_sources_json_pin() {
        let latest = pinned_nixpkgs(Release::LATEST);
        assert_eq!(latest.rev, R5F52);
        assert_eq!(pinned_nixpkgs(Release::new(22, 9)).rev, B42E5);
        assert_eq!(pinned_nixpkgs(Release::new(22, 12)).rev, B42E5);
        assert_eq!(pinned_nixpkgs(Release::new(21, 1)).rev, FCBBB);
        assert_eq!(
            pinned_nixpkgs(Release::new(24, 1)).sha256,
            "0mkgapk4mp12vc20d1gwlyxsfj27vh08hfnpzb3x2avzgjyblzv0"
        );
        assert!(PINNED_NIXPKGS
            .windows(2)
            .all(|w| w[0].release < w[1].release));
        assert!(PINNED_NIXPKGS
            .iter()
            .all(|p| p.rev.len() == 40 && p.sha256.len() == 52));
    }
}
