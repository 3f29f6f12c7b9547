//! `fromImage` given as a local image archive: an OCI archive (makes' own) or a docker
//! archive (`docker save` format, written here by skopeo).

use crate::common::{have_tool, run, write_project, Sandbox};
use crate::registry::{run_image, BASE};
use std::process::Command;

fn derived(archive: &str) -> String {
    format!(
        r#"{{ makeContainerImage, makeDerivation, ... }}:
{{
  jobs."/derived" = makeContainerImage {{
    name = "derived";
    fromImage = ./{archive};
    layers = [
      (makeDerivation {{
        name = "app";
        builder = ''
          mkdir -p $out/bin
          printf '#!/bin/sh\necho "$FROM_BASE $(cat /etc/from-base)"\n' > $out/bin/app
          chmod +x $out/bin/app
        '';
      }})
    ];
    config.Entrypoint = [ "/bin/app" ];
  }};
}}
"#
    )
}

fn diff_ids(reference: &str) -> Vec<serde_json::Value> {
    let out = run(Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(reference));
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    config["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn oci_and_docker_archives_are_accepted_as_from_image() {
    if !["skopeo", "umoci", "runc"].iter().all(|t| have_tool(t)) {
        return;
    }
    let sandbox = Sandbox::new();
    let base_project = sandbox.dir.path().join("base");
    write_project(&base_project, BASE);
    let base = sandbox.build(&base_project, "/base");
    let base_diff_ids = diff_ids(&format!("oci-archive:{}", base.display()));
    assert!(!base_diff_ids.is_empty());

    for (kind, file) in [("oci", "base-oci.tar"), ("docker", "base-docker.tar")] {
        let project = sandbox.dir.path().join(format!("derived-{kind}"));
        write_project(&project, &derived(file));
        let archive = project.join(file);
        if kind == "oci" {
            std::fs::copy(&base, &archive).expect("copy the archive");
        } else {
            run(Command::new("skopeo")
                .arg("copy")
                .arg(format!("oci-archive:{}", base.display()))
                .arg(format!("docker-archive:{}:base:1", archive.display())));
        }
        let result = sandbox.build(&project, "/derived");
        let ids = diff_ids(&format!("oci-archive:{}", result.display()));
        assert_eq!(
            &ids[..base_diff_ids.len()],
            &base_diff_ids[..],
            "{kind}: the base layers come first"
        );
        let out = run_image(&sandbox, &format!("oci-archive:{}", result.display()), kind);
        assert_eq!(out, "yes base-file\n", "{kind}: base Env and files");
    }
}
