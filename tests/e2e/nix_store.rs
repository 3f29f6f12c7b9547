//! A Nix installation's `/nix/store` is read, never written: paths that only Nix has (here
//! added by `nix-store --add` and `nix-instantiate`) are copied into makes' store with the
//! references Nix recorded, checked against Nix's NAR hash, and go into builds and images.

use crate::common::{have_tool, run, write_project, Sandbox};
use std::collections::BTreeSet;
use std::process::Command;

fn nix_store_entries() -> BTreeSet<String> {
    std::fs::read_dir("/nix/store")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn paths_of_the_nix_store_are_read_and_never_written() {
    let is_root = crate::common::running_as_root();
    if !is_root || !have_tool("nix-store") || !have_tool("nix-instantiate") {
        eprintln!("note: skipping: needs Nix and root to add paths to /nix/store");
        return;
    }
    let sandbox = Sandbox::new();
    // Two paths Nix adds itself: a file, and a text that refers to it.
    let file = sandbox.dir.path().join("from-nix.txt");
    std::fs::write(&file, "made by nix\n").expect("file");
    let added = run(Command::new("nix-store").arg("--add").arg(&file));
    let nix_file = String::from_utf8_lossy(&added.stdout).trim().to_owned();
    let expr =
        format!("builtins.toFile \"refers-to-it\" \"see ${{builtins.storePath \"{nix_file}\"}}\"");
    let text =
        run(Command::new("nix-instantiate").args(["--read-write-mode", "--eval", "--expr", &expr]));
    let nix_text = String::from_utf8_lossy(&text.stdout)
        .trim()
        .trim_matches('"')
        .to_owned();
    assert!(nix_text.starts_with("/nix/store/"), "{nix_text}");

    let before = nix_store_entries();
    let project = sandbox.dir.path().join("p");
    write_project(
        &project,
        &format!(
            r#"{{ makeContainerImage, makeDerivation, ... }}:
let text = builtins.storePath "{nix_text}";
in {{
  jobs."/uses" = makeDerivation {{ name = "uses"; builder = "mkdir $out; cat ${{text}} > $out/copied"; }};
  jobs."/image" = makeContainerImage {{ config.Cmd = [ "${{text}}" ]; }};
}}
"#
        ),
    );
    let out = run(sandbox.makes().arg("--project").arg(&project).arg("/uses"));
    let built = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let copied = std::fs::read_to_string(built.join("copied")).expect("copied");
    assert_eq!(copied, format!("see {nix_file}"));

    // Both paths are now in makes' store, under Nix's names, the reference recorded.
    let base = |p: &str| p.trim_start_matches("/nix/store/").to_owned();
    assert!(sandbox
        .store()
        .join("store")
        .join(base(&nix_file))
        .is_file());
    assert!(sandbox
        .store()
        .join("store")
        .join(base(&nix_text))
        .is_file());

    // The image holds the text its config refers to and, through its reference, the file.
    let image = sandbox.build(&project, "/image");
    let listing = run(Command::new("tar").arg("-tf").arg(&image));
    assert!(!listing.stdout.is_empty());
    let check = run(Command::new("sh").arg("-c").arg(format!(
        "mkdir -p {d} && cd {d} && tar -xf {i} && for b in blobs/sha256/*; do tar -tzf \"$b\" 2>/dev/null; done",
        d = sandbox.dir.path().join("unpacked").display(),
        i = image.display()
    )));
    let entries = String::from_utf8_lossy(&check.stdout);
    assert!(
        entries.contains(&base(&nix_text)) && entries.contains(&base(&nix_file)),
        "{entries}"
    );

    assert_eq!(
        nix_store_entries(),
        before,
        "makes wrote nothing into /nix/store"
    );
}
