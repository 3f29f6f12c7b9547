//! The limits every HTTP transfer is held to (registries, binary caches, `fetchUrl`), from
//! `MAKES_HTTP_TIMEOUT` (seconds per request) and `MAKES_HTTP_MIN_RATE`
//! (`BYTES_PER_SECOND[/WINDOW_SECONDS]`); unset, the client's generous defaults.

use crate::env_vars::{MAKES_HTTP_MIN_RATE, MAKES_HTTP_TIMEOUT};
use makes_registry::TransferLimits;
use std::time::Duration;

/// The limits the environment asks for; a value that is not a number is an error naming
/// the variable.
pub fn transfer_limits() -> Result<TransferLimits, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    parse_limits(
        env(MAKES_HTTP_TIMEOUT).as_deref(),
        env(MAKES_HTTP_MIN_RATE).as_deref(),
    )
}

fn parse_limits(timeout: Option<&str>, min_rate: Option<&str>) -> Result<TransferLimits, String> {
    let mut limits = TransferLimits::default();
    let seconds = |name: &str, text: &str| -> Result<Duration, String> {
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("{name}={text:?}: expected a positive number of seconds"))
    };
    if let Some(t) = timeout {
        limits.request_timeout = seconds(MAKES_HTTP_TIMEOUT, t)?;
    }
    if let Some(r) = min_rate {
        let (rate, window) = r.split_once('/').unwrap_or((r, ""));
        limits.min_bytes_per_second = rate.trim().parse().map_err(|_| {
            format!("{MAKES_HTTP_MIN_RATE}={r:?}: expected BYTES_PER_SECOND[/WINDOW_SECONDS], e.g. 1024/30")
        })?;
        if !window.is_empty() {
            limits.rate_window = seconds(MAKES_HTTP_MIN_RATE, window)?;
        }
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_variables() {
        assert_eq!(parse_limits(None, None), Ok(TransferLimits::default()));
        let l = parse_limits(Some("2.5"), Some("100/4")).unwrap();
        assert_eq!(l.request_timeout, Duration::from_millis(2500));
        assert_eq!(l.min_bytes_per_second, 100);
        assert_eq!(l.rate_window, Duration::from_secs(4));
        let l = parse_limits(None, Some("0")).unwrap();
        assert_eq!(l.min_bytes_per_second, 0);
        assert_eq!(l.rate_window, TransferLimits::default().rate_window);
        assert!(parse_limits(Some("soon"), None)
            .unwrap_err()
            .contains(MAKES_HTTP_TIMEOUT));
        assert!(parse_limits(Some("-1"), None).is_err());
        assert!(parse_limits(None, Some("fast")).is_err());
        assert!(parse_limits(None, Some("10/x")).is_err());
    }
}
