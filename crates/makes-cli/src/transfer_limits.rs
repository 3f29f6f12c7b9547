//! The HTTP options every transfer runs with (registries, binary caches, `fetchUrl`): the
//! limits from `MAKES_HTTP_TIMEOUT` (seconds per request) and `MAKES_HTTP_MIN_RATE`
//! (`BYTES_PER_SECOND[/WINDOW_SECONDS]`); unset, the client's generous defaults.

use crate::env_vars::{MAKES_HTTP_MIN_RATE, MAKES_HTTP_TIMEOUT};
use makes_http::{HttpError, HttpOptions, TransferLimits};

/// The limits the environment asks for; a value that is not a number is an error naming
/// the variable.
pub fn transfer_limits() -> Result<TransferLimits, HttpError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    TransferLimits::from_settings(
        (MAKES_HTTP_TIMEOUT, env(MAKES_HTTP_TIMEOUT).as_deref()),
        (MAKES_HTTP_MIN_RATE, env(MAKES_HTTP_MIN_RATE).as_deref()),
    )
}

/// The default HTTP options with the limits of the environment.
pub fn http_options() -> Result<HttpOptions, HttpError> {
    Ok(HttpOptions {
        limits: transfer_limits()?,
        ..HttpOptions::default()
    })
}
