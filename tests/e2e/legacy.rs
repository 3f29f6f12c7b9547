//! makes' legacy layout: `makes/**/main.nix` jobs beside makes.nix jobs, imports, and jobs
//! that use each other through `outputs`.

use crate::common::{fixture, have_tool, run, Sandbox};
use std::process::Command;

#[test]
fn legacy_main_nix_jobs_are_listed_with_the_others() {
    let sandbox = Sandbox::new();
    let out = run(sandbox
        .makes()
        .arg("--project")
        .arg(fixture("legacy"))
        .arg("--list"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/app\n/busybox\n/greeting\n/tools/greeter\n"
    );
}

#[test]
fn a_legacy_job_builds_from_outputs_of_other_jobs() {
    let sandbox = Sandbox::new();
    let result = sandbox.build(&fixture("legacy"), "/app");
    assert!(
        result.to_string_lossy().ends_with("-legacy-app.tar"),
        "{result:?}"
    );
    assert!(sandbox.cache().join("makes/out-app").exists());
    if !have_tool("skopeo") {
        return;
    }
    let out = run(Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(format!("docker-archive:{}", result.display())));
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["/bin/greet"]));
    // The image holds the closure of /tools/greeter, which includes /greeting through its script.
    let layers = config["rootfs"]["diff_ids"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert!(
        layers >= 4,
        "busybox, greeter, greeting and the customisation layer: {layers}"
    );
}

#[test]
fn a_nested_legacy_job_builds_by_its_path_name() {
    let sandbox = Sandbox::new();
    let out = run(sandbox
        .makes()
        .arg("--project")
        .arg(fixture("legacy"))
        .arg("/tools/greeter"));
    let path = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let script = std::fs::read_to_string(path.join("bin/greet")).expect("the greeter script");
    assert!(script.contains("-greeting/share/greeting"), "{script}");
    assert!(
        sandbox.cache().join("makes/out-tools-greeter").exists(),
        "out-link named as makes names it"
    );
}
