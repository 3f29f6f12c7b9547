//! Deploy jobs whose image names environment variables (`"org/app:$CI_COMMIT_REF_NAME"`, as
//! real projects write for their CI): accepted at evaluation, shown as written, expanded when
//! the job runs and pushed to the tag they expand to, against a real `docker-registry` on
//! 127.0.0.1; an unset variable or an expansion that is no tag is a clear error naming the
//! variable; a literal invalid tag is still refused at evaluation.

use crate::common::{have_tool, run, write_project, Sandbox};
use crate::registry_harness::{Registry, RegistryConfig};
use std::path::Path;
use std::process::{Command, Output};

fn project(registry: &str, image: &str) -> String {
    format!(
        r#"{{ makeContainerImage, makeDerivation, outputs, ... }}:
{{
  jobs."/app" = makeContainerImage {{
    name = "app";
    layers = [
      (makeDerivation {{
        name = "file";
        builder = "mkdir -p $out/etc; echo deployed > $out/etc/file";
      }})
    ];
  }};
  deployContainer.app = {{
    image = "{registry}/{image}";
    src = outputs."/app";
  }};
}}
"#
    )
}

fn makes(sandbox: &Sandbox, dir: &Path, registry: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = sandbox.makes();
    cmd.env("MAKES_INSECURE_REGISTRIES", registry)
        .env_remove("CI_COMMIT_REF_NAME")
        .env_remove("BUILD_NUMBER");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("--project")
        .arg(dir)
        .arg("/deployContainer/app")
        .output()
        .expect("makes starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_deploy_tag_with_variables_is_expanded_when_the_job_runs() {
    if !["docker-registry", "skopeo"].iter().all(|t| have_tool(t)) {
        return;
    }
    let registry = Registry::start(RegistryConfig::default());
    let host = registry.host();
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("p");
    write_project(
        &dir,
        &project(&host, "app:$CI_COMMIT_REF_NAME-\\${BUILD_NUMBER}"),
    );

    // Shown as written: the variables are the deploy script's, not evaluation's.
    let shown = sandbox
        .makes()
        .arg("--project")
        .arg(&dir)
        .args(["show", "/deployContainer/app"])
        .output()
        .expect("makes starts");
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    assert!(
        text(&shown.stdout).contains("app:$CI_COMMIT_REF_NAME-${BUILD_NUMBER}"),
        "{}",
        text(&shown.stdout)
    );

    // Unset: the job stops before pushing and names the variable.
    let unset = makes(&sandbox, &dir, &host, &[("CI_COMMIT_REF_NAME", "main")]);
    assert!(!unset.status.success());
    let stderr = text(&unset.stderr);
    assert!(
        stderr.contains("BUILD_NUMBER is not set"),
        "names the unset variable: {stderr}"
    );

    // Set to something no tag can hold: refused after expansion, naming the variables.
    let invalid = makes(
        &sandbox,
        &dir,
        &host,
        &[("CI_COMMIT_REF_NAME", "feature/x"), ("BUILD_NUMBER", "7")],
    );
    assert!(!invalid.status.success());
    let stderr = text(&invalid.stderr);
    assert!(
        stderr.contains("not a valid image") && stderr.contains("CI_COMMIT_REF_NAME, BUILD_NUMBER"),
        "{stderr}"
    );

    // Set: pushed to the tag it expands to.
    let deployed = makes(
        &sandbox,
        &dir,
        &host,
        &[("CI_COMMIT_REF_NAME", "main"), ("BUILD_NUMBER", "7")],
    );
    assert!(deployed.status.success(), "{}", text(&deployed.stderr));
    let line = text(&deployed.stdout).trim().to_owned();
    let (reference, digest) = line.split_once('@').expect("REF@DIGEST on stdout");
    assert_eq!(reference, format!("{host}/app:main-7"));
    let inspected = run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{host}/app:main-7")));
    let inspected: serde_json::Value =
        serde_json::from_slice(&inspected.stdout).expect("skopeo prints json");
    assert_eq!(inspected["Digest"].as_str(), Some(digest));
}

#[test]
fn literal_invalid_tags_and_other_shell_expansions_are_refused_at_evaluation() {
    let sandbox = Sandbox::new();
    for (n, (image, expected)) in [
        ("app:-bad", "not a valid image tag"),
        ("app:$(id)", "only $VAR and ${VAR}"),
        ("app:\\${TAG:-x}", "only $VAR and ${VAR}"),
        ("App:$TAG", "whatever its variables hold"),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = sandbox.dir.path().join(format!("p{n}"));
        write_project(&dir, &project("localhost:5000", image));
        let out = sandbox
            .makes()
            .arg("--project")
            .arg(&dir)
            .args(["show", "/deployContainer/app"])
            .output()
            .expect("makes starts");
        assert!(!out.status.success(), "{image} is refused");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{image}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
