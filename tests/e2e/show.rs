//! `makes show JOB`: the reduced spec as JSON with dockerTools' attribute names and every
//! default, without building.

use crate::common::{fixture, run, write_project, Sandbox};

fn show(sandbox: &Sandbox, project: &std::path::Path, job: &str) -> serde_json::Value {
    let out = run(sandbox
        .makes()
        .arg("--project")
        .arg(project)
        .args(["show", job]));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn show_prints_the_spec_with_defaults_and_builds_nothing() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("p");
    write_project(
        &project,
        r#"{ makeContainerImage, makeDerivation, ... }:
{
  jobs."/empty" = makeContainerImage { };
  jobs."/single" = makeContainerImage { layered = false; runAsRoot = "mkdir /x"; diskSize = 2048; };
  jobs."/drv" = makeDerivation { name = "d"; env.envA = "1"; builder = "touch $out"; };
  deployContainer.app = { credentials = { user = "U"; token = "T"; }; image = "ghcr.io/o/a:1"; src = makeContainerImage { }; };
}
"#,
    );
    let empty = show(&sandbox, &project, "/empty");
    assert_eq!(empty["kind"], "makeContainerImage");
    assert_eq!(empty["name"], "container-image");
    assert_eq!(empty["tag"], "latest");
    assert_eq!(empty["created"], "1970-01-01T00:00:01Z");
    assert_eq!(empty["layered"], true);
    assert_eq!(empty["maxLayers"], 100);
    assert_eq!(empty["contents"], serde_json::json!([]));
    assert_eq!(empty["compressor"], "gz");
    assert_eq!(empty["uname"], "root");
    assert!(
        empty.get("runAsRoot").is_none(),
        "only the attributes of the chosen mode"
    );
    let out_path = empty["outPath"].as_str().expect("outPath").to_owned();

    let single = show(&sandbox, &project, "/single");
    assert_eq!(single["layered"], false);
    assert_eq!(single["runAsRoot"], "mkdir /x");
    assert!(single.get("maxLayers").is_none());

    let drv = show(&sandbox, &project, "/drv");
    assert_eq!(drv["kind"], "makeDerivation");
    assert_eq!(drv["env"]["envA"], "1");

    let deploy = show(&sandbox, &project, "/deployContainer/app");
    assert_eq!(deploy["kind"], "deployContainer");
    assert_eq!(
        deploy["credentials"],
        serde_json::json!({ "user": "U", "token": "T" })
    );
    assert_eq!(deploy["image"], "ghcr.io/o/a:1");

    // Nothing was built.
    let base = std::path::Path::new(&out_path)
        .file_name()
        .expect("name")
        .to_owned();
    assert!(!sandbox.store().join("store").join(base).exists());
}

#[test]
fn show_of_the_seed_like_hello_fixture() {
    let sandbox = Sandbox::new();
    let hello = show(&sandbox, &fixture("hello"), "/hello");
    assert_eq!(hello["name"], "makes-hello");
    assert_eq!(hello["config"]["Env"], serde_json::json!(["PATH=/bin"]));
    assert_eq!(hello["job"], "/hello");
}
