//! Mistakes in a makeContainerImage are reported at the attribute, with a non-zero exit and
//! nothing on stdout.

use crate::common::{write_project, Sandbox};

fn build_error(body: &str) -> String {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("p");
    write_project(&project, &format!("{{ makeContainerImage, ... }}:\n{{\n  jobs.\"/img\" = makeContainerImage {{\n{body}\n  }};\n}}\n"));
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/img")
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_attribute_of_the_other_mode_names_the_mode() {
    let stderr = build_error("    runAsRoot = \"mkdir /x\";");
    assert!(
        stderr.contains("'runAsRoot' is only available when layered = false"),
        "{stderr}"
    );
    assert!(stderr.contains("makes.nix:4:"), "{stderr}");
    let stderr = build_error("    layered = false;\n    maxLayers = 3;");
    assert!(
        stderr.contains("'maxLayers' is only available when layered = true"),
        "{stderr}"
    );
}

#[test]
fn layers_and_contents_together_are_an_error() {
    let stderr = build_error("    layers = [ ];\n    contents = [ ];");
    assert!(stderr.contains("give only one of them"), "{stderr}");
}

#[test]
fn max_layers_must_be_greater_than_one() {
    let stderr = build_error("    maxLayers = 1;");
    assert!(stderr.contains("maxLayers"), "{stderr}");
    assert!(stderr.contains("makes.nix:4:"), "{stderr}");
}

#[test]
fn created_must_be_a_date_or_now() {
    let stderr = build_error("    created = \"yesterday\";");
    assert!(stderr.contains("not an ISO-8601 date"), "{stderr}");
}

#[test]
fn env_entries_must_be_name_value() {
    let stderr = build_error("    config.Env = [ \"NOEQUALS\" ];");
    assert!(
        stderr.contains("'NOEQUALS' is not of the form NAME=value"),
        "{stderr}"
    );
}

#[test]
fn make_derivation_env_keys_need_the_env_prefix() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("p");
    write_project(
        &project,
        "{ makeContainerImage, makeDerivation, ... }:\n{\n  jobs.\"/img\" = makeContainerImage {\n    layers = [ (makeDerivation { name = \"x\"; env.FOO = \"1\"; builder = \"touch $out\"; }) ];\n  };\n}\n",
    );
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("/img")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Invalid argument: FOO, must start with: env"),
        "{stderr}"
    );
}

#[test]
fn every_mistake_of_a_spec_is_reported_at_once() {
    let stderr = build_error("    maxLayer = 3;\n    tag = \"a/b\";\n    created = \"yesterday\";\n    config.Env = [ \"NOEQUALS\" ];");
    assert!(
        stderr.contains("makeContainerImage has 4 problems"),
        "{stderr}"
    );
    for (message, line) in [
        ("unknown attribute 'maxLayer'", "makes.nix:4:"),
        ("is not a valid image tag", "makes.nix:5:"),
        ("is not an ISO-8601 date", "makes.nix:6:"),
        ("'NOEQUALS' is not of the form NAME=value", "makes.nix:7:"),
    ] {
        assert!(
            stderr.contains(message) && stderr.contains(line),
            "{message} at {line}: {stderr}"
        );
    }
    assert!(stderr.contains("did you mean 'maxLayers'?"), "{stderr}");
}
