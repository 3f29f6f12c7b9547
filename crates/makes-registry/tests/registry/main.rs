//! Integration tests of the registry client against real `docker-registry` processes on
//! 127.0.0.1 (no mocks): one module per theme (ripgrep's `tests/tests.rs` layout).

mod common;

mod auth_tls;
mod bearer;
mod failures;
mod formats;
mod push_pull;
