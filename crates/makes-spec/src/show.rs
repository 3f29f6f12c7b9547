//! Specs as the JSON `makes show` prints: keyed by the attribute names users write in
//! makes.nix and dockerTools (`maxLayers`, `fromImage`, `config.Env`), every default filled
//! in, and only the attributes of the chosen mode.

use crate::deploy::DeploySpec;
use crate::deploy_job::DeployJob;
use crate::deploy_manifest::ManifestSpec;
use crate::derivation::DerivationSpec;
use crate::image::{Compressor, Created, ImageSpec};
use crate::pull::PullSpec;
use serde_json::{json, Map, Value};

/// A `makeContainerImage` spec.
pub fn image_spec_json(spec: &ImageSpec) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("makeContainerImage"));
    m.insert("layered".into(), json!(spec.layered));
    m.insert("name".into(), json!(spec.name));
    m.insert("tag".into(), json!(spec.tag));
    m.insert(
        "created".into(),
        json!(match &spec.created {
            Created::At(s) => s.as_str(),
            Created::Now => "now",
        }),
    );
    m.insert("fromImage".into(), json!(spec.from_image));
    // `layers` and, in single-layer mode, `copyToRoot` end up here.
    m.insert("contents".into(), json!(spec.contents));
    m.insert(
        "config".into(),
        Value::Object(
            spec.config
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
    );
    m.insert("architecture".into(), json!(spec.architecture));
    m.insert("extraCommands".into(), json!(spec.extra_commands));
    m.insert("uid".into(), json!(spec.uid));
    m.insert("gid".into(), json!(spec.gid));
    m.insert("uname".into(), json!(spec.uname));
    m.insert("gname".into(), json!(spec.gname));
    m.insert("mtime".into(), json!(spec.mtime));
    m.insert(
        "compressor".into(),
        json!(match spec.compressor {
            Compressor::None => "none",
            Compressor::Gz => "gz",
            Compressor::Zstd => "zstd",
        }),
    );
    m.insert("includeStorePaths".into(), json!(spec.include_store_paths));
    if spec.stream {
        m.insert("stream".into(), json!(true));
    }
    // Shown only when asked for, so that the shape of other images stays as it was.
    if spec.include_nix_db {
        m.insert("includeNixDB".into(), json!(true));
    }
    if spec.keep_contents_dirlinks {
        m.insert("keepContentsDirlinks".into(), json!(true));
    }
    if let Some(pipeline) = &spec.layering_pipeline {
        m.insert("layeringPipeline".into(), pipeline.to_json());
    }
    if spec.layered {
        m.insert("maxLayers".into(), json!(spec.max_layers));
        m.insert("fakeRootCommands".into(), json!(spec.fake_root_commands));
        m.insert("enableFakechroot".into(), json!(spec.enable_fakechroot));
    } else {
        m.insert("runAsRoot".into(), json!(spec.run_as_root));
    }
    Value::Object(m)
}

/// A `makeDerivation` spec.
pub fn derivation_spec_json(spec: &DerivationSpec) -> Value {
    json!({
        "kind": "makeDerivation",
        "name": spec.name,
        "builder": spec.builder,
        "env": spec.env,
        "envFiles": spec.env_files,
        "searchPaths": {
            "bin": spec.search_paths.bin,
            "source": spec.search_paths.source,
            "export": spec.search_paths.export.iter().map(|(n, p, s)| json!([n, p, s])).collect::<Vec<_>>(),
        },
        "sha256": spec.sha256,
        "local": spec.local,
        "inputs": spec.input_paths,
    })
}

/// A `dockerTools.pullImage` spec.
pub fn pull_spec_json(spec: &PullSpec) -> Value {
    json!({
        "kind": "pullImage",
        "imageName": spec.image_name,
        "imageDigest": spec.image_digest,
        "finalImageName": spec.final_image_name,
        "finalImageTag": spec.final_image_tag,
        "os": spec.os,
        "arch": spec.arch,
        "tlsVerify": spec.tls_verify,
    })
}

/// A `deployContainer` spec (credentials are variable names, never values).
pub fn deploy_spec_json(spec: &DeploySpec) -> Value {
    json!({
        "kind": "deployContainer",
        "image": spec.image,
        "src": spec.src,
        "credentials": spec.credential_vars.as_ref().map(|(user, token)| json!({ "user": user, "token": token })),
        "attempts": spec.attempts,
        "setup": spec.setup,
        "sign": spec.sign_with.as_ref().map(|cosign| json!({ "cosign": cosign })),
    })
}

/// A `deployContainerManifest` spec (credentials are variable names, never values).
pub fn manifest_spec_json(spec: &ManifestSpec) -> Value {
    json!({
        "kind": "deployContainerManifest",
        "image": spec.image,
        "tags": spec.tags,
        "manifests": spec.manifests.iter().map(|m| json!({
            "image": m.image,
            "platform": { "architecture": m.architecture, "os": m.os },
        })).collect::<Vec<_>>(),
        "credentials": spec.credential_vars.as_ref().map(|(user, token)| json!({ "user": user, "token": token })),
        "setup": spec.setup,
        "sign": spec.sign_with.as_ref().map(|cosign| json!({ "cosign": cosign })),
    })
}

/// The spec of any deploy job.
pub fn deploy_job_json(job: &DeployJob) -> Value {
    match job {
        DeployJob::Image(spec) => deploy_spec_json(spec),
        DeployJob::Manifest(spec) => manifest_spec_json(spec),
    }
}
