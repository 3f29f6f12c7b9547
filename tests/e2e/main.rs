//! End-to-end tests: they run the real `makes` binary on fixture projects and check the result
//! with the real tools (skopeo, umoci, runc) and the real Nix evaluator's recorded output.

mod common;

// The registry client's own harness: real docker-registry processes (plain, TLS, htpasswd).
#[path = "../../crates/makes-registry/tests/registry/common.rs"]
#[allow(dead_code)]
mod registry_harness;

// The substituter's harness: a static file server for binary caches on 127.0.0.1.
#[path = "../../crates/makes-substituter/tests/common/mod.rs"]
mod cache_harness;

mod bad_inputs;
mod bytes;
mod cli;
mod corpus;
mod corpus_build;
mod corpus_patterns;
mod corpus_rules;
mod daily_builds;
mod daily_interrupts;
mod daily_outputs;
mod daily_polish;
mod daily_registries;
mod deferred_fetches;
mod deploy_manifest;
mod deploy_tags;
mod derivation_inputs;
mod derivations;
mod docker_tools;
mod docker_tools_attrs;
mod docker_tools_layering;
mod error_text;
mod eval_flags;
mod eval_oracle;
mod eval_store_paths;
mod from_image;
mod hello_image;
mod hostile_bases;
mod hostile_builders;
mod hostile_chown_fallback;
mod hostile_eval;
mod hostile_logs;
mod hostile_misc;
mod http_proxy;
mod image_features;
mod image_layering;
mod lang_suite;
mod language_envs;
mod layer_pipeline;
mod legacy;
mod lib_tests;
mod make_script;
mod makes_arguments;
mod makes_builders;
mod makes_helpers;
mod makes_own_rows;
mod module_jobs;
mod native_packages;
mod nix_fetchers;
mod nix_packages;
mod nix_store;
mod package_calls;
mod project_files;
mod project_path;
mod python_checks;
mod python_env;
mod readme;
mod registry;
mod reproducible;
mod running_jobs;
mod seed_examples;
mod show;
mod source_import;
mod source_listings;
mod spec_errors;
mod store;
mod structured_attrs;
